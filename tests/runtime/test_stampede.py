"""Stampede protection: 32 concurrent readers of one key cost ONE origin read.

Each reader is its own runtime (its own Lambda environment: own L1, own connections). The
lease winner is held inside its origin read until every other reader has reached the point
the test is about (waiting for the fill, or served the stale value), so the count of origin
reads cannot depend on timing luck.
"""

from __future__ import annotations

import random
import threading
import time

from runtime_helpers import WaitTracker, put_product

READERS = 32


def run_concurrently(runtimes, product_id):
    barrier = threading.Barrier(len(runtimes))
    results = [None] * len(runtimes)

    def read(index):
        barrier.wait()
        results[index] = runtimes[index].items.read(product_id)

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(len(runtimes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    return results


def test_cold_key_one_origin_read(make_runtime, counting_dynamo):
    product = put_product(counting_dynamo, "hot", 1)
    tracker = WaitTracker(READERS - 1)

    def hold_origin(request, response):
        assert tracker.all_waiting.wait(20), f"only {len(tracker.waiting)} readers waited"

    counting_dynamo.on_get_item = hold_origin
    runtimes = [make_runtime(sleep=tracker, lease_wait_max_seconds=20.0) for _ in range(READERS)]
    results = run_concurrently(runtimes, "hot")

    assert len(counting_dynamo.reads) == 1
    assert sorted(r.x_cache for r in results) == ["HIT-L2"] * (READERS - 1) + ["MISS"]
    assert {r.version for r in results} == {1}
    assert len({r.body for r in results}) == 1 and product["name"].encode() in results[0].body


def test_cold_key_one_origin_read_with_default_wait_and_a_slow_origin(
    make_runtime, counting_dynamo
):
    # A cold Lambda's first origin read (new boto3 client, DAX timeout then DynamoDB) can take
    # far longer than a poll interval; the losers must wait for it while the lease lives.
    put_product(counting_dynamo, "cold", 1)
    counting_dynamo.on_get_item = lambda request, response: time.sleep(0.4)  # a slow origin
    runtimes = [make_runtime() for _ in range(8)]  # the runtime's default wait settings
    results = run_concurrently(runtimes, "cold")

    assert len(counting_dynamo.reads) == 1
    assert sorted(r.x_cache for r in results) == ["HIT-L2"] * 7 + ["MISS"]


def test_lease_expiring_without_a_fill_is_taken_over_by_one_waiter(
    make_runtime, counting_dynamo, redis_url
):
    import redis

    put_product(counting_dynamo, "crashed", 1)
    # the lease of a filler that died mid-read: it expires, nobody fills
    redis.Redis.from_url(redis_url).set("pc:{p:crashed}:l", "dead", px=300)
    runtimes = [make_runtime() for _ in range(8)]
    results = run_concurrently(runtimes, "crashed")

    assert len(counting_dynamo.reads) == 1
    assert sorted(r.x_cache for r in results) == ["HIT-L2"] * 7 + ["MISS"]


def test_expired_hot_key_one_origin_read_others_served_stale(make_runtime, counting_dynamo, clock):
    put_product(counting_dynamo, "hot2", 1)
    make_runtime().items.read("hot2")
    assert len(counting_dynamo.reads) == 1
    put_product(counting_dynamo, "hot2", 2)  # an out-of-band change; no invalidation
    clock.advance(3600 + 10)  # past freshness, inside the 60 s stale-while-revalidate window

    stale_served = threading.Semaphore(0)
    others_done = threading.Event()

    def hold_origin(request, response):
        for _ in range(READERS - 1):
            assert stale_served.acquire(timeout=20)
        others_done.set()

    counting_dynamo.on_get_item = hold_origin
    runtimes = [make_runtime() for _ in range(READERS)]
    barrier = threading.Barrier(READERS)
    results = []
    lock = threading.Lock()

    def read(runtime):
        barrier.wait()
        result = runtime.items.read("hot2")
        with lock:
            results.append(result)
        if result.x_cache == "STALE":
            stale_served.release()

    threads = [threading.Thread(target=read, args=(r,), daemon=True) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()

    assert others_done.is_set()
    assert len(counting_dynamo.reads) == 2  # the original fill + ONE refresh
    stale = [r for r in results if r.x_cache == "STALE"]
    refreshed = [r for r in results if r.x_cache == "MISS"]
    assert len(stale) == READERS - 1 and {r.version for r in stale} == {1}
    assert len(refreshed) == 1 and refreshed[0].version == 2
    counting_dynamo.on_get_item = None
    after = make_runtime().items.read("hot2")
    assert (after.x_cache, after.version) == ("HIT-L2", 2)


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_xfetch_refreshes_a_hot_key_early_when_the_draw_says_so(
    make_runtime, counting_dynamo, clock
):
    put_product(counting_dynamo, "xf", 1)
    make_runtime().items.read("xf")
    put_product(counting_dynamo, "xf", 2)
    clock.advance(3600 - 1)  # one second of freshness left

    unlucky = make_runtime(rng=FixedRandom(0.9))
    unlucky.origin.latency_ewma_ms = 100.0  # -100 ms * ln(0.9) = 10 ms early: not yet
    assert unlucky.items.read("xf").x_cache == "HIT-L2"

    lucky = make_runtime(rng=FixedRandom(1e-9))
    lucky.origin.latency_ewma_ms = 100.0  # -100 ms * ln(1e-9) = 2.07 s early: refresh now
    early = lucky.items.read("xf")
    assert (early.x_cache, early.version) == ("MISS", 2)
    assert len(counting_dynamo.reads) == 2


def test_waiter_reads_origin_itself_when_the_lease_holder_never_fills(
    make_runtime, counting_dynamo, redis_url
):
    import redis

    put_product(counting_dynamo, "orphan", 1)
    # a lease left by a crashed filler
    redis.Redis.from_url(redis_url).set("pc:{p:orphan}:l", "dead", px=60_000)
    slept = []
    runtime = make_runtime(sleep=slept.append, lease_wait_max_seconds=0.25)
    result = runtime.items.read("orphan")
    assert (result.x_cache, result.version) == ("MISS", 1)
    assert 0.249 <= sum(slept) <= 0.251  # the wait is bounded
    # its compare-and-set fill still landed
    assert make_runtime().items.read("orphan").x_cache == "HIT-L2"


def saw_then_waits(runtime, seen: threading.Event, go: threading.Event) -> None:
    """Make `runtime`'s next L2 GET return what it read, then hold the caller (after the GET,
    before it asks for the lease) until `go`: "saw the entry before someone else refreshed
    it, asked for the lease after"."""
    l2 = runtime.items.l2
    real_get = l2.get

    def get_then_wait(key):
        raw = real_get(key)
        seen.set()
        assert go.wait(20)
        return raw

    l2.get = get_then_wait


def test_a_caller_that_saw_the_stale_entry_before_the_refresh_serves_the_refreshed_one(
    make_runtime, counting_dynamo, clock
):
    """Defect 5, first half. On b139d26 `_refresh` ignored the value lease.lua returned: B saw
    the stale entry, A refreshed it and let the lease go, then B won the lease and read the
    origin again (2 refreshes for one expiry; the bench's "processes stampede: 2"). Now B
    sees the value changed since its GET and serves it."""
    put_product(counting_dynamo, "swr", 1)
    make_runtime().items.read("swr")
    put_product(counting_dynamo, "swr", 2)  # an out-of-band change; no invalidation
    clock.advance(3600 + 10)  # past freshness, inside the 60 s stale-while-revalidate window
    reads_before = len(counting_dynamo.reads)

    a, b = make_runtime(), make_runtime()
    seen, go = threading.Event(), threading.Event()
    saw_then_waits(b, seen, go)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("b", b.items.read("swr")))
    thread.start()
    assert seen.wait(10)
    refreshed = a.items.read("swr")
    assert (refreshed.x_cache, refreshed.version) == ("MISS", 2)
    go.set()
    thread.join(20)
    assert (result["b"].x_cache, result["b"].version) == ("HIT-L2", 2)
    assert len(counting_dynamo.reads) - reads_before == 1  # one refresh for this expiry


def test_xfetch_early_refresh_happens_once_per_expiry(make_runtime, counting_dynamo, clock):
    """Defect 5, the XFetch half: two callers both draw an early refresh of a hot key; on
    b139d26 the second, asking for the lease after the first had refreshed, refreshed again."""
    put_product(counting_dynamo, "xf2", 1)
    make_runtime().items.read("xf2")
    put_product(counting_dynamo, "xf2", 2)
    clock.advance(3600 - 1)  # one second of freshness left
    reads_before = len(counting_dynamo.reads)

    a, b = make_runtime(rng=FixedRandom(1e-9)), make_runtime(rng=FixedRandom(1e-9))
    for runtime in (a, b):
        runtime.origin.latency_ewma_ms = 100.0  # -100 ms * ln(1e-9) = 2.07 s early: refresh
    seen, go = threading.Event(), threading.Event()
    saw_then_waits(b, seen, go)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("b", b.items.read("xf2")))
    thread.start()
    assert seen.wait(10)
    assert a.items.read("xf2").x_cache == "MISS"
    go.set()
    thread.join(20)
    assert (result["b"].x_cache, result["b"].version) == ("HIT-L2", 2)
    assert len(counting_dynamo.reads) - reads_before == 1


def test_an_origin_slower_than_the_lease_is_read_once(make_runtime, counting_dynamo):
    """Defect 5, second half. On b139d26 the 2 s lease expired while the holder's origin read
    still ran, a waiter took it over and read the origin too (and so on: 8 callers, up to 8
    reads). Now the holder renews its lease every lease_ms / 3 while it reads, and the
    waiters wait on the renewed lease (up to 5 s). The origin is held until the lease has
    been renewed 4 times (longer than the 2 s lease: it would have expired) or until a second
    origin read arrives (the failure), whichever comes first."""
    put_product(counting_dynamo, "slow", 1)
    runtimes = [make_runtime() for _ in range(8)]
    renewed = threading.Semaphore(0)
    second_read = threading.Event()
    for runtime in runtimes:
        real_renew = getattr(runtime.l2, "renew_lease", None)
        if real_renew is not None:

            def renew(*args, real_renew=real_renew):
                ok = real_renew(*args)
                if ok:
                    renewed.release()
                return ok

            runtime.l2.renew_lease = renew
    arrivals = []

    def hold_origin(request, response):
        arrivals.append(request)
        if len(arrivals) > 1:
            second_read.set()
            return
        for _ in range(4):  # 4 renewals = 4 x 667 ms > the 2 s lease
            while not renewed.acquire(timeout=0.05):
                if second_read.is_set():
                    return

    counting_dynamo.on_get_item = hold_origin
    results = run_concurrently(runtimes, "slow")
    assert len(counting_dynamo.reads) == 1
    assert sorted(r.x_cache for r in results) == ["HIT-L2"] * 7 + ["MISS"]
