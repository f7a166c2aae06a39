"""L1: a per-process cache of ready-to-send responses, bounded by entry count and bytes.

An entry holds the response body bytes, ETag and version, so a hit is a dict lookup and an
expiry check. With a `tracker` (runtime/tracking.py: Redis client tracking) L1 is coherent
with L2: pending invalidations are applied before every lookup, and a value enters only
with the ticket of the tracked read that fetched it (`read_through`, then `put(ticket=)`).
Without one, or where the server refuses tracking, the entry's short TTL is the bound on
staleness that the consistency promise states.

A request may skip L1 (`Cache-Control: no-cache`): inside `skipping_l1()` every lookup
misses; what such a request reads from L2 may still enter L1.

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

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import NamedTuple

from .codec import Rendered
from .tracking import L1Tracker, Ticket, TrackedRead

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

TRACK_AFTER_READS = 2
"""A key is read through the tracking connection (and may enter L1) from its second recent
lookup on: one-off reads, which W-TinyLFU would not keep anyway, add nothing to the server's
tracking table (docs/decision_log.md, "L1 coherence")."""

_skip_l1: ContextVar[bool] = ContextVar("skip_l1", default=False)


@contextlib.contextmanager
def skipping_l1() -> Iterator[None]:
    """Every L1 lookup inside the block misses (a request with `Cache-Control: no-cache`)."""
    token = _skip_l1.set(True)
    try:
        yield
    finally:
        _skip_l1.reset(token)


class L1Entry(NamedTuple):
    """A cached read: the `Rendered` response every layer shares (None: not found)."""

    value: Rendered | None
    expires_at: float
    size: int
    tracked_key: str | None = None
    """The L2 key whose invalidation discards this entry (None: untracked, TTL only)."""


class FrequencySketch:
    """Count-min sketch of recent read frequency: 4 rows of 4-bit counters in one bytearray.

    A key's estimate is the smallest of its 4 counters (collisions only ever add). After
    `period` recorded reads every counter is halved, so the sketch follows a workload whose
    popular keys change. Not thread-safe: L1Cache calls it under its lock.

    Reads of a key the cache holds (hits) are counted beside the table, in a dict, and
    folded into its 4 counters when the key leaves the cache (`settle`): a hit then costs one
    dict update instead of four scattered counter updates, which after the tracking poll's
    system call (it flushes the TLB) cost more than the rest of an L1 hit. The estimate adds
    the pending hits, so admission decisions see the same numbers.
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
        self._resident: dict[Hashable, int] = {}

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

    def record_resident(self, key: Hashable) -> None:
        """Count one read of `key` while the cache holds it (see the class docstring)."""
        resident = self._resident
        resident[key] = resident.get(key, 0) + 1
        self._recorded += 1
        if self._recorded >= self.period:
            self.age()

    def settle(self, key: Hashable) -> None:
        """`key` left the cache: fold its pending hits into its counters."""
        pending = self._resident.pop(key, 0)
        if pending:
            table = self._table
            for i in self._indexes(key):
                table[i] = min(table[i] + pending, _COUNTER_MAX)

    def frequency(self, key: Hashable) -> int:
        """Estimated reads of `key` in the recent past (0 to 15)."""
        table = self._table
        a, b, c, d = self._indexes(key)
        estimate = min(table[a], table[b], table[c], table[d]) + self._resident.get(key, 0)
        return min(estimate, _COUNTER_MAX)

    def age(self) -> None:
        """Halve every counter (and the period count), forgetting old popularity gradually."""
        self._table = self._table.translate(_HALVE)
        self._recorded //= 2
        self._resident = {key: n // 2 for key, n in self._resident.items() if n > 1}


class L1Cache:
    """Thread-safe W-TinyLFU cache with a TTL per entry; `clock` (seconds) is injectable.

    `tracker` keeps it coherent with L2 (None: the TTL alone bounds staleness).
    """

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
        tracker: L1Tracker | None = None,
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
        # L2 key -> the entries it invalidates (an item: one; a category's generation: its pages)
        self._by_tracked: dict[str, set[Hashable]] = {}
        self.tracker = tracker
        if tracker is not None:
            tracker.attach(self)

    def __len__(self) -> int:
        return len(self._window) + len(self._probation) + len(self._protected)

    @property
    def size_bytes(self) -> int:
        """Bytes currently counted against `max_bytes`."""
        return self._bytes

    def get(self, key: Hashable) -> L1Entry | None:
        """The live entry for `key`, or None (an expired entry is dropped).

        Every call, hit or miss, counts as a read of `key` for the admission policy. The
        tracker's pending invalidations are applied first; inside `skipping_l1()` it misses.
        """
        if self.tracker is not None:
            self.tracker.drain()
        with self._lock:
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
                        self.sketch.record(key)
                        return None
                    region = self._probation
            if entry.expires_at <= self._clock():
                del region[key]
                self._forget(key, entry)
                self.sketch.record(key)
                return None
            self.sketch.record_resident(key)
            if _skip_l1.get():
                return None
            if region is self._probation:
                self._promote(key, entry)
            else:
                region.move_to_end(key)
        if entry.tracked_key is not None and self.tracker is not None:
            self.tracker.touched(entry.tracked_key)  # keeps the key warm in L2's LRU
        return entry

    def read_through(
        self, key: Hashable, l2_key: str, read: Callable[[str], bytes | None]
    ) -> TrackedRead:
        """Read `l2_key` from L2 so that its value may enter L1 under `key`.

        With a tracker and from the key's second recent lookup on, the GET goes through the
        tracking connection and the result carries the ticket `put` needs; otherwise it is
        `read(l2_key)` with no ticket (such a value enters only where tracking is refused).
        """
        tracker = self.tracker
        if tracker is None or tracker.admits_untracked:
            return TrackedRead(read(l2_key), None)
        with self._lock:
            frequent = self.sketch.frequency(key) >= TRACK_AFTER_READS
        if not frequent:
            return TrackedRead(read(l2_key), None)
        return tracker.read(l2_key, read)

    def put(
        self,
        key: Hashable,
        value: Rendered | None,
        *,
        ttl_seconds: float,
        ticket: Ticket | None = None,
    ) -> bool:
        """Store a response for `ttl_seconds`; False if it cannot fit, the TTL is not > 0, or
        (with a tracker) the value has no valid `ticket` from `read_through`.

        A new key enters the window; a key already cached is replaced where it is. Either may
        evict other entries (or, after losing on frequency, a window entry) to stay in bounds.
        """
        size = len(value.body if value else b"") + len(str(key)) + ENTRY_OVERHEAD_BYTES
        if ttl_seconds <= 0 or size > self.max_bytes:
            return False
        if self.tracker is None:
            return self._store(key, L1Entry(value, self._clock() + ttl_seconds, size))

        def store(tracked_key: str | None) -> bool:
            expires_at = self._clock() + ttl_seconds
            return self._store(key, L1Entry(value, expires_at, size, tracked_key))

        return self.tracker.admit(ticket, store)

    def _store(self, key: Hashable, entry: L1Entry) -> bool:
        with self._lock:
            for region in (self._window, self._probation, self._protected):
                old = region.get(key)
                if old is not None:
                    region[key] = entry
                    region.move_to_end(key)
                    self._bytes += entry.size - old.size
                    self._unindex(key, old)
                    break
            else:
                self._window[key] = entry
                self._bytes += entry.size
            if entry.tracked_key is not None:
                self._by_tracked.setdefault(entry.tracked_key, set()).add(key)
            self._evict()
        return True

    def discard(self, key: Hashable) -> None:
        """Forget `key` if present."""
        with self._lock:
            self._discard(key)

    def discard_tracked(self, l2_key: str) -> None:
        """Forget every entry that depends on `l2_key` (an invalidation from the server)."""
        with self._lock:
            for key in self._by_tracked.pop(l2_key, ()):
                self._discard(key)

    def clear(self) -> None:
        """Forget every entry (the frequency sketch keeps its history)."""
        with self._lock:
            for region in (self._window, self._probation, self._protected):
                for key in region:
                    self.sketch.settle(key)
            self._window.clear()
            self._probation.clear()
            self._protected.clear()
            self._by_tracked.clear()
            self._bytes = 0

    # --- policy (called with the lock held) --------------------------------------------------

    def _discard(self, key: Hashable) -> None:
        for region in (self._window, self._probation, self._protected):
            old = region.pop(key, None)
            if old is not None:
                self._forget(key, old)
                return

    def _forget(self, key: Hashable, entry: L1Entry) -> None:
        """Account for an entry that just left its region."""
        self._bytes -= entry.size
        self._unindex(key, entry)
        self.sketch.settle(key)

    def _unindex(self, key: Hashable, entry: L1Entry) -> None:
        if entry.tracked_key is None:
            return
        keys = self._by_tracked.get(entry.tracked_key)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_tracked[entry.tracked_key]

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
            self._forget(victim, region.pop(victim))
