"""L1: a per-process LRU of ready-to-send responses, bounded by entry count and bytes.

An entry holds the response body bytes, ETag and version, so a hit is a dict lookup and an
expiry check. Nothing outside this process can reach L1, so its TTL is short and it is the
bound on staleness that the consistency promise states.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import NamedTuple

ENTRY_OVERHEAD_BYTES = 200
"""Rough per-entry bookkeeping cost counted against the byte budget (key, tuple, dict slot)."""


class L1Entry(NamedTuple):
    """A cached response: `body` None means not found."""

    body: bytes | None
    etag: str | None
    version: int | None
    expires_at: float
    size: int


class L1Cache:
    """Thread-safe LRU with a TTL per entry; `clock` (seconds) is injectable."""

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
        self._entries: OrderedDict[Hashable, L1Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Bytes currently counted against `max_bytes`."""
        return self._bytes

    def get(self, key: Hashable) -> L1Entry | None:
        """The live entry for `key`, or None (an expired entry is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            self.discard(key)
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
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
        """Store a response for `ttl_seconds`; False if it cannot fit or the TTL is not > 0."""
        size = len(body or b"") + len(str(key)) + ENTRY_OVERHEAD_BYTES
        if ttl_seconds <= 0 or size > self.max_bytes:
            return False
        entry = L1Entry(body, etag, version, self._clock() + ttl_seconds, size)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = entry
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
        return True

    def discard(self, key: Hashable) -> None:
        """Forget `key` if present."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
