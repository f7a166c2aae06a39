"""Category lists: the GSI page, cursors, L1/L2 caching under the generation counter."""

from __future__ import annotations

import base64
import json
import threading

import pytest
import redis
from runtime_helpers import WaitTracker, policy_json, put_product

from cache_constructs.product.domain.representation import etag_of
from cache_constructs.runtime import envelope, telemetry
from cache_constructs.runtime.errors import InvalidCursor


def page(result):
    return json.loads(result.body)


def test_pages_follow_the_cursor(make_runtime, counting_dynamo):
    for i in range(5):
        put_product(counting_dynamo, f"b{i}", 1, category="books")
    put_product(counting_dynamo, "k1", 1, category="kitchen")
    lists = make_runtime().lists
    first = lists.read("books", 2, None)
    assert first.x_cache == "MISS" and first.etag == etag_of(first.body)
    body = page(first)
    assert [p["productId"] for p in body["items"]] == ["b0", "b1"]
    second = page(lists.read("books", 2, body["nextCursor"]))
    assert [p["productId"] for p in second["items"]] == ["b2", "b3"]
    third = page(lists.read("books", 2, second["nextCursor"]))
    assert [p["productId"] for p in third["items"]] == ["b4"]
    assert third["nextCursor"] is None or page(lists.read("books", 2, third["nextCursor"])) == {
        "items": [],
        "nextCursor": None,
    }


def test_cached_in_l1_and_l2_then_invalidated_by_one_bump(make_runtime, counting_dynamo, redis_url):
    put_product(counting_dynamo, "c1", 1, category="garden")
    lists = make_runtime().lists
    assert lists.read("garden", 20, None).x_cache == "MISS"
    assert lists.read("garden", 20, None).x_cache == "HIT-L2"  # a tracked read: enters L1
    assert lists.read("garden", 20, None).x_cache == "HIT-L1"
    other = make_runtime().lists  # another environment: L2
    assert other.read("garden", 20, None).x_cache == "HIT-L2"
    assert counting_dynamo.queries == 1

    client = redis.Redis.from_url(redis_url)
    generation = int(client.get("pc:{c:garden}:g"))
    assert client.exists(f"pc:{{c:garden}}:L:{generation}:20:")

    put_product(counting_dynamo, "c2", 1, category="garden")
    telemetry.metrics.clear_metrics()
    assert other.bump(["garden", "garden"]) is True
    assert int(client.get("pc:{c:garden}:g")) > generation
    assert sum(telemetry.metric_values("Invalidations")) == 1  # one bump per category
    fresh = make_runtime().lists.read("garden", 20, None)
    assert fresh.x_cache == "MISS"
    assert [p["productId"] for p in page(fresh)["items"]] == ["c1", "c2"]


def test_generation_lost_to_eviction_restarts_past_every_earlier_one(
    make_runtime, counting_dynamo, redis_url, clock
):
    client = redis.Redis.from_url(redis_url)
    lists = make_runtime().lists
    lists.read("tools", 20, None)
    first = int(client.get("pc:{c:tools}:g"))
    client.delete("pc:{c:tools}:g")  # evicted
    clock.advance(0.001)
    lists.bump(["tools"])
    # It restarts at the current time (x 1024 + random bits): past every generation before.
    assert int(client.get("pc:{c:tools}:g")) > first + 1


def test_bad_cursor_raises_invalid_cursor_naming_cursor(make_runtime):
    lists = make_runtime().lists
    for bad in ("%%%", "bm90IGpzb24", base64.urlsafe_b64encode(b'{"p":"../x"}').decode(), "e30"):
        with pytest.raises(InvalidCursor, match="cursor"):
            lists.read("books", 20, bad)
    assert issubclass(InvalidCursor, ValueError)


# --- leases, SWR and the generation (defects 6 and 10) -------------------------------------


def read_concurrently(runtimes, category, limit=20):
    barrier = threading.Barrier(len(runtimes))
    results = [None] * len(runtimes)

    def read(index):
        barrier.wait()
        results[index] = runtimes[index].lists.read(category, limit, None)

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(len(runtimes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    return results


def test_one_query_per_page_per_generation_under_a_stampede(make_runtime, counting_dynamo, clock):
    """Defect 6. On b139d26 list pages had no lease: after a bump, 8 environments reading one
    page made 8 GSI queries. The first query is held until the 7 others wait for its fill
    (or until a second query arrives: the failure)."""
    put_product(counting_dynamo, "s1", 1, category="stampede")
    writer = make_runtime()
    writer.lists.bump(["stampede"])
    clock.advance(5)  # past the settle window of the bump: the page may live its full TTL
    for generation in range(2):
        tracker = WaitTracker(7)
        second_query = threading.Event()
        queries_before = counting_dynamo.queries

        def hold(
            request, response, tracker=tracker, second_query=second_query, base=queries_before
        ):
            if counting_dynamo.queries - base > 1:
                second_query.set()
                return
            while not tracker.all_waiting.wait(0.05):
                assert not second_query.is_set(), "a second query ran"

        counting_dynamo.on_query = hold
        runtimes = [make_runtime(sleep=tracker) for _ in range(8)]
        results = read_concurrently(runtimes, "stampede")
        assert counting_dynamo.queries - queries_before == 1, f"generation {generation}"
        assert sorted(r.x_cache for r in results) == ["HIT-L2"] * 7 + ["MISS"]
        counting_dynamo.on_query = None
        put_product(counting_dynamo, f"s{generation + 2}", 1, category="stampede")
        writer.lists.bump(["stampede"])  # the next generation
        clock.advance(5)


def test_a_page_queried_across_a_bump_stays_out_of_l1_and_l2(make_runtime, counting_dynamo, clock):
    """Defect 10. On b139d26 a list fill put its page into L1 even when the generation moved
    during the query: the old list was then served HIT-L1 for the L1 TTL after the write
    was acknowledged (seen: 6.5 s under a 5 s L1 TTL + 1 s lag). Now the fill re-reads the
    generation atomically and a refused page enters neither cache. (With client tracking a
    fill never enters L1, only a tracked hit does; this is the L1 of an environment whose
    server refuses tracking, where fills do.)"""
    put_product(counting_dynamo, "a1", 1, category="across")
    reader, writer = make_runtime(l1_tracking=False), make_runtime()
    writer.lists.bump(["across"])
    clock.advance(5)

    def write_during_the_query(request, response):
        counting_dynamo.on_query = None
        put_product(counting_dynamo, "a2", 1, category="across")
        writer.lists.bump(["across"])  # acknowledged while the query's answer is in flight

    counting_dynamo.on_query = write_during_the_query
    first = reader.lists.read("across", 20, None)
    assert (first.x_cache, [p["productId"] for p in page(first)["items"]]) == ("MISS", ["a1"])
    again = reader.lists.read("across", 20, None)
    assert again.x_cache == "MISS"  # not HIT-L1 of the page computed before the bump
    assert [p["productId"] for p in page(again)["items"]] == ["a1", "a2"]


def test_the_l1_ttl_of_a_page_counts_from_the_query_start(make_runtime, counting_dynamo, clock):
    """Defect 10, the TTL half: on b139d26 a page's L1 TTL counted from the put, so a query
    that took 3 s kept its page in L1 for 5 s after it returned (8 s after it began). (L1
    without client tracking, where the TTL is the bound: see the test above.)"""
    put_product(counting_dynamo, "t1", 1, category="ttl")
    runtime = make_runtime(policy=policy_json(l1_ttl_seconds=5), l1_tracking=False)
    runtime.lists.bump(["ttl"])
    clock.advance(5)

    def slow_query(request, response):
        clock.advance(3)  # the query takes 3 s

    counting_dynamo.on_query = slow_query
    assert runtime.lists.read("ttl", 20, None).x_cache == "MISS"
    counting_dynamo.on_query = None
    clock.advance(1.5)  # 4.5 s after the query began
    assert runtime.lists.read("ttl", 20, None).x_cache == "HIT-L1"
    clock.advance(1)  # 5.5 s after it began
    assert runtime.lists.read("ttl", 20, None).x_cache == "HIT-L2"


def test_a_stale_page_is_served_while_one_caller_refreshes_it(make_runtime, counting_dynamo, clock):
    put_product(counting_dynamo, "w1", 1, category="swr")
    make_runtime().lists.bump(["swr"])
    clock.advance(5)
    assert make_runtime().lists.read("swr", 20, None).x_cache == "MISS"
    clock.advance(3600 + 5)  # past freshness, inside the 60 s SWR window
    refresher = make_runtime()
    lease_key = None

    def other_reader_meanwhile(request, response):
        nonlocal lease_key
        counting_dynamo.on_query = None
        stale = make_runtime().lists.read("swr", 20, None)
        lease_key = stale.x_cache

    counting_dynamo.on_query = other_reader_meanwhile
    assert refresher.lists.read("swr", 20, None).x_cache == "MISS"
    assert lease_key == "STALE"
    assert make_runtime().lists.read("swr", 20, None).x_cache == "HIT-L2"


def test_a_bump_makes_the_stale_page_unreachable(make_runtime, counting_dynamo, clock):
    """SWR only within a generation: serving the old generation's page after a bump would
    break read-your-writes."""
    put_product(counting_dynamo, "u1", 1, category="unreach")
    make_runtime().lists.bump(["unreach"])
    clock.advance(5)
    make_runtime().lists.read("unreach", 20, None)
    clock.advance(3600 + 5)  # the page is stale, inside SWR
    put_product(counting_dynamo, "u2", 1, category="unreach")
    make_runtime().lists.bump(["unreach"])
    fresh = make_runtime().lists.read("unreach", 20, None)
    assert fresh.x_cache == "MISS"
    assert [p["productId"] for p in page(fresh)["items"]] == ["u1", "u2"]


def test_a_page_queried_just_after_its_bump_lives_no_longer_than_the_settle_window(
    make_runtime, counting_dynamo, clock, redis_url
):
    """The GSI is eventually consistent: a query right after a bump may miss its write, so
    such a page is kept for at most the settle window (1 s), and the next query sees it."""
    put_product(counting_dynamo, "g1", 1, category="settle")
    runtime = make_runtime()
    runtime.lists.bump(["settle"])
    assert runtime.lists.read("settle", 20, None).x_cache == "MISS"  # 0 s after the bump
    client = redis.Redis.from_url(redis_url)
    generation = int(client.get("pc:{c:settle}:g"))
    key = f"pc:{{c:settle}}:L:{generation}:20:"
    raw = client.get(key)  # None only if a real second passed: gone within the window too
    assert raw is None or envelope.decode(raw).fresh_until_ms <= int(clock() * 1000) + 1000
    assert client.pttl(key) <= 1000
    clock.advance(1.1)
    runtime.lists.l1.clear()
    assert runtime.lists.read("settle", 20, None).x_cache == "MISS"  # settled: full TTL now
    assert client.pttl(key) > 1000


def test_waiters_query_the_index_themselves_after_the_bound(
    make_runtime, counting_dynamo, clock, redis_url
):
    put_product(counting_dynamo, "o1", 1, category="orphan")
    runtime_a = make_runtime()
    runtime_a.lists.bump(["orphan"])
    clock.advance(5)
    client = redis.Redis.from_url(redis_url)
    generation = int(client.get("pc:{c:orphan}:g"))
    client.set(f"pc:{{c:orphan}}:l:{generation}:20:", "crashed", px=60_000)  # a dead holder
    slept = []
    result = make_runtime(sleep=slept.append, lease_wait_max_seconds=0.25).lists.read(
        "orphan", 20, None
    )
    assert result.x_cache == "MISS"
    assert 0.249 <= sum(slept) <= 0.251  # the wait is bounded
    assert make_runtime().lists.read("orphan", 20, None).x_cache == "HIT-L2"  # its fill landed
