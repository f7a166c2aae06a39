"""L1: bounded by entry count and bytes, W-TinyLFU eviction, per-entry TTL."""

from __future__ import annotations

import itertools
import random
from collections import OrderedDict

import pytest
from runtime_helpers import FakeClock

from cache_constructs.runtime.codec import Rendered
from cache_constructs.runtime.l1_cache import ENTRY_OVERHEAD_BYTES, FrequencySketch, L1Cache


def put(cache, key, body=b"x", ttl=10.0):
    return cache.put(key, Rendered(body, '"e"', 1), ttl_seconds=ttl)


def test_hit_returns_body_etag_version():
    cache = L1Cache(max_entries=10, max_bytes=10_000, clock=FakeClock())
    put(cache, "a", b"body")
    entry = cache.get("a")
    assert entry.value == Rendered(b"body", '"e"', 1)


def test_ttl_expiry():
    clock = FakeClock()
    cache = L1Cache(max_entries=10, max_bytes=10_000, clock=clock)
    put(cache, "a", ttl=5)
    clock.advance(4.999)
    assert cache.get("a") is not None
    clock.advance(0.002)
    assert cache.get("a") is None
    assert len(cache) == 0 and cache.size_bytes == 0


def test_entry_bound_evicts_the_less_read_entry():
    cache = L1Cache(max_entries=2, max_bytes=10_000, clock=FakeClock())
    put(cache, "a")
    put(cache, "b")
    cache.get("a")  # a has been read, b never: c's arrival costs b its place
    put(cache, "c")
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert len(cache) == 2


def test_byte_bound():
    size = 1000 + 1 + ENTRY_OVERHEAD_BYTES
    cache = L1Cache(max_entries=100, max_bytes=size * 3, clock=FakeClock())
    for key in "abcd":
        put(cache, key, b"y" * 1000)
    # None was ever read: c, the window's candidate when d arrived, ties with the incumbent a
    # on frequency and a tie keeps the incumbent (plain LRU would have dropped a).
    assert cache.get("c") is None
    assert [k for k in "abd" if cache.get(k)] == ["a", "b", "d"]
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


def test_discard_and_clear_in_every_region():
    cache = L1Cache(max_entries=200, max_bytes=1_000_000, clock=FakeClock())
    for key in range(10):
        put(cache, key)
    cache.get(0)  # 0 left the window for probation; this read promotes it to protected
    # 9 is in the window, 1 in probation, 0 in protected
    for key in (9, 1, 0):
        cache.discard(key)
        assert cache.get(key) is None
    assert len(cache) == 7
    assert cache.size_bytes == 7 * (1 + 1 + ENTRY_OVERHEAD_BYTES)
    cache.clear()
    assert len(cache) == 0 and cache.size_bytes == 0
    assert all(cache.get(key) is None for key in range(10))


def test_ttl_expires_entries_in_every_region():
    clock = FakeClock()
    cache = L1Cache(max_entries=200, max_bytes=1_000_000, clock=clock)
    for key in range(10):
        put(cache, key, ttl=5)
    cache.get(0)  # protected
    clock.advance(4.9)
    assert all(cache.get(key) is not None for key in (0, 1, 9))
    clock.advance(0.2)
    assert [key for key in range(10) if cache.get(key) is not None] == []
    assert len(cache) == 0 and cache.size_bytes == 0


def test_replacing_keeps_one_entry_per_key():
    cache = L1Cache(max_entries=200, max_bytes=1_000_000, clock=FakeClock())
    for key in range(5):
        put(cache, key)
    cache.get(0)
    for key in range(5):
        put(cache, key, b"new")
    assert len(cache) == 5
    assert all(cache.get(key).value.body == b"new" for key in range(5))
    assert cache.size_bytes == 5 * (3 + 1 + ENTRY_OVERHEAD_BYTES)


def test_bounds_hold_at_every_step_of_a_mixed_workload():
    rng = random.Random(11)
    cache = L1Cache(max_entries=50, max_bytes=20_000, clock=FakeClock())
    for _ in range(5_000):
        key = int(rng.paretovariate(1.0)) % 300
        action = rng.random()
        if action < 0.6:
            if cache.get(key) is None:
                put(cache, key, b"b" * rng.randrange(0, 2_000))
        elif action < 0.95:
            put(cache, key, b"b" * rng.randrange(0, 2_000))
        else:
            cache.discard(key)
        assert len(cache) <= cache.max_entries
        assert cache.size_bytes <= cache.max_bytes
    # The byte count is exactly the sum of what is cached (TTLs are far off: get finds all).
    live = [entry for entry in map(cache.get, range(300)) if entry is not None]
    assert len(live) == len(cache)
    assert sum(entry.size for entry in live) == cache.size_bytes


def test_frequent_key_survives_a_scan_of_one_hit_wonders():
    capacity = 100
    cache = L1Cache(max_entries=capacity, max_bytes=1_000_000, clock=FakeClock())
    lru: OrderedDict[str, None] = OrderedDict()
    for _ in range(5):  # "hot" is read five times (the first a miss that fills it)
        if cache.get("hot") is None:
            put(cache, "hot")
    lru["hot"] = None
    for n in range(10 * capacity):  # then a scan: every key read once, miss then fill
        key = f"scan-{n}"
        assert cache.get(key) is None
        put(cache, key)
        lru[key] = None
        if len(lru) > capacity:
            lru.popitem(last=False)
    assert "hot" not in lru  # a plain LRU of the same size lost it
    assert cache.get("hot") is not None
    assert len(cache) == capacity


def test_a_frequent_newcomer_displaces_a_cold_incumbent():
    cache = L1Cache(max_entries=10, max_bytes=1_000_000, clock=FakeClock())
    for key in range(10):
        put(cache, key)  # full of entries never read
    for _ in range(3):
        cache.get("wanted")  # misses, but they count
    put(cache, "wanted")
    put(cache, "next")  # pushes "wanted" out of the window: it wins the duel against 0
    assert cache.get("wanted") is not None
    assert cache.get(0) is None
    assert len(cache) == 10


def _zipf_trace(keys: int, requests: int, alpha: float, seed: int) -> list[int]:
    rng = random.Random(seed)
    weights = [1.0 / rank**alpha for rank in range(1, keys + 1)]
    key_of_rank = list(range(keys))
    rng.shuffle(key_of_rank)  # hot keys are not the low ids
    cumulative = list(itertools.accumulate(weights))
    return [key_of_rank[r] for r in rng.choices(range(keys), cum_weights=cumulative, k=requests)]


def _exact_lru_hit_ratio(trace: list[int], capacity: int) -> float:
    cache: OrderedDict[int, None] = OrderedDict()
    hits = 0
    for key in trace:
        if key in cache:
            hits += 1
            cache.move_to_end(key)
        else:
            cache[key] = None
            if len(cache) > capacity:
                cache.popitem(last=False)
    return hits / len(trace)


def test_zipf_hit_ratio_beats_an_exact_lru():
    trace = _zipf_trace(keys=10_000, requests=50_000, alpha=0.99, seed=7)
    capacity = 1_000
    cache = L1Cache(max_entries=capacity, max_bytes=100_000_000, clock=FakeClock())
    hits = 0
    for key in trace:
        if cache.get(key) is not None:
            hits += 1
        else:
            put(cache, key)
    lru = _exact_lru_hit_ratio(trace, capacity)
    assert hits / len(trace) > lru, (hits / len(trace), lru)


def test_sketch_counts_saturate_and_aging_halves_them():
    sketch = FrequencySketch(capacity=64, period=1_000_000)
    for _ in range(10):
        sketch.record("a")
    sketch.record("b")
    assert (sketch.frequency("a"), sketch.frequency("b"), sketch.frequency("c")) == (10, 1, 0)
    sketch.age()
    assert (sketch.frequency("a"), sketch.frequency("b")) == (5, 0)
    for _ in range(40):
        sketch.record("a")
    assert sketch.frequency("a") == 15  # 4-bit counters saturate


def test_sketch_ages_itself_after_its_period():
    sketch = FrequencySketch(capacity=64, period=20)
    for _ in range(12):
        sketch.record(1)
    for key in range(100, 107):
        sketch.record(key)
    assert sketch.frequency(1) == 12  # 19 records: not yet
    sketch.record(200)  # the 20th: every counter halves
    assert sketch.frequency(1) == 6
    assert sketch.frequency(200) == 0


def test_cache_sketch_period_is_ten_times_capacity():
    cache = L1Cache(max_entries=1_000, max_bytes=1_000_000)
    assert cache.sketch.period == 10_000
    assert cache.sketch.width >= 4_000


# --- coherence: tickets, dependents, skipping ------------------------------------------------


def test_hits_of_resident_keys_count_for_admission_and_stay_counted_after_they_leave():
    cache = L1Cache(max_entries=10, max_bytes=10_000, clock=FakeClock())
    put(cache, "a")
    for _ in range(5):
        assert cache.get("a") is not None
    assert cache.sketch.frequency("a") == 5  # held beside the table while resident
    cache.discard("a")
    assert cache.sketch.frequency("a") == 5  # folded into the table when it left
    cache.sketch.age()
    assert cache.sketch.frequency("a") == 2


def test_skipping_l1_misses_inside_the_block_only():
    import threading

    from cache_constructs.runtime.l1_cache import skipping_l1

    cache = L1Cache(max_entries=10, max_bytes=10_000, clock=FakeClock())
    put(cache, "a")
    seen_elsewhere = []
    with skipping_l1():
        assert cache.get("a") is None
        other = threading.Thread(target=lambda: seen_elsewhere.append(cache.get("a")))
        other.start()
        other.join()
    assert seen_elsewhere[0] is not None  # another request (thread) is not affected
    assert cache.get("a") is not None


@pytest.fixture
def tracked_cache(redis_url):
    import redis

    from cache_constructs.runtime.tracking import L1Tracker

    client = redis.Redis.from_url(redis_url)
    tracker = L1Tracker(lambda: client)
    cache = L1Cache(max_entries=4, max_bytes=100_000, clock=FakeClock(), tracker=tracker)
    yield cache, client
    tracker.close()


def tracked_put(cache, key, l2_key, value=b"x"):
    for _ in range(2):
        cache.get(key)  # a key is read through tracking from its second lookup on
    reading = cache.read_through(key, l2_key, lambda k: value)
    return cache.put(key, Rendered(value, '"e"', 1), ttl_seconds=60, ticket=reading.ticket)


def test_with_a_tracker_only_a_tracked_read_may_enter(tracked_cache):
    cache, client = tracked_cache
    client.set("pc:k1", b"v")
    assert put(cache, "k1") is False  # no ticket
    assert tracked_put(cache, "k1", "pc:k1") is True
    assert cache.get("k1") is not None


def test_an_invalidation_discards_every_entry_that_depends_on_its_key(tracked_cache):
    cache, client = tracked_cache
    client.set("pc:{c:a}:g", 1)
    client.set("pc:{c:b}:g", 1)
    assert tracked_put(cache, ("list", "a", 1), "pc:{c:a}:g")
    assert tracked_put(cache, ("list", "a", 2), "pc:{c:a}:g")
    assert tracked_put(cache, ("list", "b", 1), "pc:{c:b}:g")
    cache.discard_tracked("pc:{c:a}:g")
    assert cache.get(("list", "a", 1)) is None and cache.get(("list", "a", 2)) is None
    assert cache.get(("list", "b", 1)) is not None


def test_the_dependents_index_never_outgrows_the_cache(tracked_cache):
    cache, client = tracked_cache
    for i in range(20):
        client.set(f"pc:k{i}", b"v")
        tracked_put(cache, f"k{i}", f"pc:k{i}")
    assert len(cache) <= cache.max_entries
    indexed = {key for keys in cache._by_tracked.values() for key in keys}
    resident = set(cache._window) | set(cache._probation) | set(cache._protected)
    assert indexed == resident
