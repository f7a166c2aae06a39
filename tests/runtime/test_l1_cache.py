"""L1: bounded by entry count and bytes, LRU, per-entry TTL."""

from __future__ import annotations

import pytest
from product_cache.l1_cache import ENTRY_OVERHEAD_BYTES, L1Cache
from runtime_helpers import FakeClock


def put(cache, key, body=b"x", ttl=10.0):
    return cache.put(key, body=body, etag='"e"', version=1, ttl_seconds=ttl)


def test_hit_returns_body_etag_version():
    cache = L1Cache(max_entries=10, max_bytes=10_000, clock=FakeClock())
    put(cache, "a", b"body")
    entry = cache.get("a")
    assert (entry.body, entry.etag, entry.version) == (b"body", '"e"', 1)


def test_ttl_expiry():
    clock = FakeClock()
    cache = L1Cache(max_entries=10, max_bytes=10_000, clock=clock)
    put(cache, "a", ttl=5)
    clock.advance(4.999)
    assert cache.get("a") is not None
    clock.advance(0.002)
    assert cache.get("a") is None
    assert len(cache) == 0 and cache.size_bytes == 0


def test_entry_bound_evicts_least_recently_used():
    cache = L1Cache(max_entries=2, max_bytes=10_000, clock=FakeClock())
    put(cache, "a")
    put(cache, "b")
    cache.get("a")  # a is now more recent than b
    put(cache, "c")
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert len(cache) == 2


def test_byte_bound():
    size = 1000 + 1 + ENTRY_OVERHEAD_BYTES
    cache = L1Cache(max_entries=100, max_bytes=size * 3, clock=FakeClock())
    for key in "abcd":
        put(cache, key, b"y" * 1000)
    assert cache.get("a") is None
    assert [k for k in "bcd" if cache.get(k)] == ["b", "c", "d"]
    assert cache.size_bytes == size * 3
    assert put(cache, "huge", b"z" * (size * 3)) is False  # never fits: not stored
    assert cache.size_bytes <= cache.max_bytes


def test_replace_and_discard_keep_byte_count():
    cache = L1Cache(max_entries=10, max_bytes=100_000, clock=FakeClock())
    put(cache, "a", b"1" * 100)
    put(cache, "a", b"2" * 10)
    assert cache.size_bytes == 10 + 1 + ENTRY_OVERHEAD_BYTES
    cache.discard("a")
    assert cache.size_bytes == 0


def test_non_positive_ttl_is_not_stored():
    cache = L1Cache(max_entries=10, max_bytes=10_000, clock=FakeClock())
    assert put(cache, "a", ttl=0) is False
    assert cache.get("a") is None


@pytest.mark.parametrize(("entries", "size"), [(0, 10), (10, 0)])
def test_bounds_validated(entries, size):
    with pytest.raises(ValueError):
        L1Cache(max_entries=entries, max_bytes=size)
