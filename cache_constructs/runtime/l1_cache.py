"""L1: a per-process cache of ready-to-send responses, bounded by entry count and bytes.

An entry holds the response body bytes, ETag and version, so a hit is a dict lookup and an
expiry check. Nothing outside this process can reach L1, so its TTL is short and it is the
bound on staleness that the consistency promise states.

Eviction is W-TinyLFU (the policy of Caffeine): a new entry lands in a small LRU window
(~1% of the entries); when the window overflows, its least recent entry becomes a
candidate for the main region, a segmented LRU (probation, then protected for entries read
again). A candidate only displaces the main region's victim (the least recent probation
entry) if a frequency sketch says it was requested more often; otherwise the candidate is
dropped. On a skewed (Zipf) workload this keeps the popular keys that a burst of one-off
reads would push out of a plain LRU. (Caffeine also admits a rare random candidate against
hash flooding; Python randomises str hashes per process, so crafted collisions are not a
concern here and admission stays deterministic.)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import NamedTuple

ENTRY_OVERHEAD_BYTES = 200
"""Rough per-entry bookkeeping cost counted against the byte budget (key, tuple, dict slot)."""

WINDOW_PERCENT = 1
"""Share of `max_entries` given to the admission window (at least one entry)."""

PROTECTED_PERCENT = 80
"""Share of the main region kept for entries read again since they were admitted."""

AGING_PERIOD_FACTOR = 10
"""The sketch halves every counter after this many times `max_entries` recorded reads."""

_COUNTER_MAX = 15  # 4-bit counters, as in Caffeine: enough to rank, quick to age.
_ROWS = 4
_MAX_ROW_BITS = 16  # each row index is a 16-bit slice of one 64-bit mixed hash
_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing: spreads small or sequential hash() values
_HALVE = bytes(value >> 1 for value in range(256))


class L1Entry(NamedTuple):
    """A cached response: `body` None means not found."""

    body: bytes | None
    etag: str | None
    version: int | None
    expires_at: float
    size: int


class FrequencySketch:
    """Count-min sketch of recent read frequency: 4 rows of 4-bit counters in one bytearray.

    A key's estimate is the smallest of its 4 counters (collisions only ever add). After
    `period` recorded reads every counter is halved, so the sketch follows a workload whose
    popular keys change. Not thread-safe: L1Cache calls it under its lock.
    """

    def __init__(self, capacity: int, period: int) -> None:
        if capacity < 1 or period < 1:
            raise ValueError("capacity and period must be >= 1")
        # ~4 counters per cached entry and row, as in Caffeine; a power of two for masking.
        bits = min(max((capacity * 4 - 1).bit_length(), 4), _MAX_ROW_BITS)
        self.width = 1 << bits
        self.period = period
        self._mask = self.width - 1
        self._table = bytearray(self.width * _ROWS)
        self._recorded = 0

    def _indexes(self, key: Hashable) -> tuple[int, int, int, int]:
        h = (hash(key) * _GOLDEN) & _MASK64
        h ^= h >> 32
        mask, width = self._mask, self.width
        return (
            h & mask,
            width + ((h >> 16) & mask),
            2 * width + ((h >> 32) & mask),
            3 * width + ((h >> 48) & mask),
        )

    def record(self, key: Hashable) -> None:
        """Count one read of `key`; age the sketch when a period is complete."""
        # The indexes of _indexes(), inlined (no call, no tuple, no loop): this runs on every
        # L1 read, hit or miss.
        h = (hash(key) * _GOLDEN) & _MASK64
        h ^= h >> 32
        mask, width, table = self._mask, self.width, self._table
        i = h & mask
        if table[i] < _COUNTER_MAX:
            table[i] += 1
        i = width + ((h >> 16) & mask)
        if table[i] < _COUNTER_MAX:
            table[i] += 1
        i = 2 * width + ((h >> 32) & mask)
        if table[i] < _COUNTER_MAX:
            table[i] += 1
        i = 3 * width + ((h >> 48) & mask)
        if table[i] < _COUNTER_MAX:
            table[i] += 1
        self._recorded += 1
        if self._recorded >= self.period:
            self.age()

    def frequency(self, key: Hashable) -> int:
        """Estimated reads of `key` in the recent past (0 to 15)."""
        table = self._table
        a, b, c, d = self._indexes(key)
        return min(table[a], table[b], table[c], table[d])

    def age(self) -> None:
        """Halve every counter (and the period count), forgetting old popularity gradually."""
        self._table = self._table.translate(_HALVE)
        self._recorded //= 2


class L1Cache:
    """Thread-safe W-TinyLFU cache with a TTL per entry; `clock` (seconds) is injectable."""

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        if max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._window_max = max(1, max_entries * WINDOW_PERCENT // 100)
        self._protected_max = (max_entries - self._window_max) * PROTECTED_PERCENT // 100
        # Each region is an LRU, least recent first; a key is in exactly one of them.
        self._window: OrderedDict[Hashable, L1Entry] = OrderedDict()
        self._probation: OrderedDict[Hashable, L1Entry] = OrderedDict()
        self._protected: OrderedDict[Hashable, L1Entry] = OrderedDict()
        self.sketch = FrequencySketch(max_entries, max_entries * AGING_PERIOD_FACTOR)
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._window) + len(self._probation) + len(self._protected)

    @property
    def size_bytes(self) -> int:
        """Bytes currently counted against `max_bytes`."""
        return self._bytes

    def get(self, key: Hashable) -> L1Entry | None:
        """The live entry for `key`, or None (an expired entry is dropped).

        Every call, hit or miss, counts as a read of `key` for the admission policy.
        """
        with self._lock:
            self.sketch.record(key)
            entry = self._window.get(key)
            if entry is not None:
                region = self._window
            else:
                entry = self._protected.get(key)
                if entry is not None:
                    region = self._protected
                else:
                    entry = self._probation.get(key)
                    if entry is None:
                        return None
                    region = self._probation
            if entry.expires_at <= self._clock():
                del region[key]
                self._bytes -= entry.size
                return None
            if region is self._probation:
                self._promote(key, entry)
            else:
                region.move_to_end(key)
        return entry

    def put(
        self,
        key: Hashable,
        *,
        body: bytes | None,
        etag: str | None,
        version: int | None,
        ttl_seconds: float,
    ) -> bool:
        """Store a response for `ttl_seconds`; False if it cannot fit or the TTL is not > 0.

        A new key enters the window; a key already cached is replaced where it is. Either may
        evict other entries (or, after losing on frequency, a window entry) to stay in bounds.
        """
        size = len(body or b"") + len(str(key)) + ENTRY_OVERHEAD_BYTES
        if ttl_seconds <= 0 or size > self.max_bytes:
            return False
        entry = L1Entry(body, etag, version, self._clock() + ttl_seconds, size)
        with self._lock:
            for region in (self._window, self._probation, self._protected):
                old = region.get(key)
                if old is not None:
                    region[key] = entry
                    region.move_to_end(key)
                    self._bytes += size - old.size
                    break
            else:
                self._window[key] = entry
                self._bytes += size
            self._evict()
        return True

    def discard(self, key: Hashable) -> None:
        """Forget `key` if present."""
        with self._lock:
            for region in (self._window, self._probation, self._protected):
                old = region.pop(key, None)
                if old is not None:
                    self._bytes -= old.size
                    return

    def clear(self) -> None:
        """Forget every entry (the frequency sketch keeps its history)."""
        with self._lock:
            self._window.clear()
            self._probation.clear()
            self._protected.clear()
            self._bytes = 0

    # --- policy (called with the lock held) --------------------------------------------------

    def _promote(self, key: Hashable, entry: L1Entry) -> None:
        """A probation entry read again moves to protected, whose overflow goes back."""
        del self._probation[key]
        if self._protected_max == 0:
            self._probation[key] = entry
            return
        self._protected[key] = entry
        if len(self._protected) > self._protected_max:
            demoted, demoted_entry = self._protected.popitem(last=False)
            self._probation[demoted] = demoted_entry

    def _evict(self) -> None:
        """Bring the cache back within both bounds, running the TinyLFU admission duel."""
        candidate: Hashable | None = None
        has_candidate = False
        while len(self._window) > self._window_max:
            candidate, entry = self._window.popitem(last=False)
            self._probation[candidate] = entry
            has_candidate = True
        while len(self) > self.max_entries or self._bytes > self.max_bytes:
            region = self._probation or self._protected or self._window
            victim = next(iter(region))
            if has_candidate and region is self._probation and candidate != victim:
                # The duel: whichever of the two was read less often recently leaves.
                # A tie keeps the incumbent, which is what makes one-off reads harmless.
                has_candidate = False
                if self.sketch.frequency(candidate) <= self.sketch.frequency(victim):
                    victim = candidate
            self._bytes -= region.pop(victim).size
