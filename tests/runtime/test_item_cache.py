"""ItemCache read path against a real redis-server and moto DynamoDB."""

from __future__ import annotations

import json

import pytest
import redis
from runtime_helpers import TABLE, delete_product, policy_json, put_product, rendered

from cache_constructs.contract.keys import item_keys
from cache_constructs.product.domain.representation import etag_of, render_product
from cache_constructs.runtime import envelope, telemetry
from cache_constructs.runtime.codec import Rendered


def test_miss_then_l2_hit_then_l1_hit(make_runtime, counting_dynamo, redis_url):
    product = put_product(counting_dynamo, "p1", 1, price=12.5, description="d")
    runtime = make_runtime()

    first = runtime.items.read("p1")
    assert first.x_cache == "MISS"
    assert json.loads(first.body) == product
    assert first.body == render_product(product)
    assert first.etag == etag_of(first.body)
    assert first.version == 1

    # The fill is not tracked by L1's connection, so it waits for the next (tracked) L2 hit.
    second = runtime.items.read("p1")
    assert (second.x_cache, second.body, second.etag, second.version) == (
        "HIT-L2",
        first.body,
        first.etag,
        1,
    )
    third = runtime.items.read("p1")
    assert (third.x_cache, third.body, third.etag) == ("HIT-L1", first.body, first.etag)
    assert len(counting_dynamo.reads) == 1

    raw = redis.Redis.from_url(redis_url).get(item_keys("p1").value)
    stored = envelope.decode(raw)
    assert stored.value == (first.body, first.etag, 1) == first.value


def test_l2_value_is_exact_envelope_with_ttl(make_runtime, counting_dynamo, redis_url, clock):
    put_product(counting_dynamo, "p2", 3)
    runtime = make_runtime()
    body = runtime.items.read("p2").body
    client = redis.Redis.from_url(redis_url)
    raw = client.get("pc:{p:p2}:v")
    fresh_until = int(clock() * 1000) + 3600 * 1000
    assert raw == b"3|%d|%s\n%s" % (fresh_until, etag_of(body).encode(), body)
    # TTL = l2_ttl + swr (no jitter in this policy)
    # A range only a stall of a minute could break (PTTL is never exact after the fact).
    assert 3600 * 1000 < client.pttl("pc:{p:p2}:v") <= 3660 * 1000


def test_not_found_is_negatively_cached_and_cleared_by_invalidation(
    make_runtime, counting_dynamo, redis_url
):
    runtime = make_runtime()
    assert runtime.items.read("ghost").body is None
    runtime.items.l1.clear()
    again = runtime.items.read("ghost")
    assert (again.body, again.x_cache) == (None, "HIT-L2")
    assert len(counting_dynamo.reads) == 1
    client = redis.Redis.from_url(redis_url)
    assert client.get("pc:{p:ghost}:v").startswith(b"-1|")
    assert 0 < client.pttl("pc:{p:ghost}:v") <= 30_000

    # an insert's stream record (S = new version - 1 = 0) clears the negative entry
    put_product(counting_dynamo, "ghost", 1)
    runtime.items.invalidate("ghost", 0)
    found = runtime.items.read("ghost")
    assert found.x_cache == "MISS"
    assert json.loads(found.body)["version"] == 1


def test_write_through_replaces_and_updates(make_runtime, counting_dynamo):
    put_product(counting_dynamo, "p3", 1)
    runtime = make_runtime()
    assert runtime.items.read("p3").version == 1
    new = put_product(counting_dynamo, "p3", 2, name="renamed")
    assert runtime.items.write_through("p3", rendered(new)) is True
    runtime.items.l1.clear()
    read = runtime.items.read("p3")
    assert (read.x_cache, read.version) == ("HIT-L2", 2)
    assert json.loads(read.body)["name"] == "renamed"
    # an older write-through arriving late does not land
    assert runtime.items.write_through("p3", Rendered(b'{"old":true}', '"old"', 1)) is False


def test_deleted_product_reads_not_found_after_invalidation(make_runtime, counting_dynamo):
    put_product(counting_dynamo, "p4", 5)
    runtime = make_runtime()
    assert runtime.items.read("p4").version == 5
    delete_product(counting_dynamo, "p4")
    runtime.items.invalidate("p4", 5)
    assert runtime.items.read("p4").body is None


def test_layers_missing_from_policy_are_skipped(make_runtime, counting_dynamo, redis_url):
    put_product(counting_dynamo, "p5", 1)
    runtime = make_runtime(policy=policy_json(layers=[], negative_ttl_seconds=0))
    assert [runtime.items.read("p5").x_cache for _ in range(3)] == ["MISS"] * 3
    assert len(counting_dynamo.reads) == 3
    assert redis.Redis.from_url(redis_url).get("pc:{p:p5}:v") is None


def test_l2_only_policy_never_uses_l1(make_runtime, counting_dynamo):
    put_product(counting_dynamo, "p6", 1)
    runtime = make_runtime(policy=policy_json(layers=["l2"]))
    assert [runtime.items.read("p6").x_cache for _ in range(2)] == ["MISS", "HIT-L2"]


def test_metrics_per_layer_are_recorded(make_runtime, counting_dynamo):
    telemetry.metrics.clear_metrics()
    put_product(counting_dynamo, "p7", 1)
    runtime = make_runtime()
    runtime.items.read("p7")  # L1 miss, L2 miss, origin
    runtime.items.read("p7")  # L1 miss, L2 hit (tracked: now in L1)
    runtime.items.read("p7")  # L1 hit
    assert sum(telemetry.metric_values("L1Miss")) == 2
    assert sum(telemetry.metric_values("L1Hit")) == 1
    assert sum(telemetry.metric_values("L2Miss")) == 1
    assert sum(telemetry.metric_values("L2Hit")) == 1
    assert sum(telemetry.metric_values("OriginRead")) == 1
    assert len(telemetry.metric_values("OriginLatency")) == 1
    assert len(telemetry.metric_values("L2Latency")) == 2
    assert len(telemetry.metric_values("L1Latency")) == 1


def test_table_name_from_config_is_used(make_runtime, counting_dynamo):
    runtime = make_runtime()
    runtime.items.read("p8")
    assert counting_dynamo.reads[0]["TableName"] == TABLE


def test_unreadable_l2_value_is_a_miss_and_gets_replaced(make_runtime, counting_dynamo, redis_url):
    put_product(counting_dynamo, "p9", 2)
    client = redis.Redis.from_url(redis_url)
    client.set("pc:{p:p9}:v", b"garbage without a header")
    runtime = make_runtime()
    result = runtime.items.read("p9")
    assert (result.x_cache, result.version) == ("MISS", 2)
    assert envelope.decode(client.get("pc:{p:p9}:v")).version == 2


def test_waiter_serves_stale_when_a_refresh_is_under_way(make_runtime, counting_dynamo, clock):
    put_product(counting_dynamo, "p10", 1)
    make_runtime().items.read("p10")
    clock.advance(3600 + 5)  # stale, inside SWR
    other = make_runtime()
    assert other.l2.client.set(item_keys("p10").lease, "someone-else", px=5000)
    result = other.items.read("p10")
    assert (result.x_cache, result.version) == ("STALE", 1)
    assert len(counting_dynamo.reads) == 1


def test_origin_failure_during_refresh_serves_the_stale_value(make_runtime, counting_dynamo, clock):
    put_product(counting_dynamo, "p11", 1)
    make_runtime().items.read("p11")
    clock.advance(3600 + 5)

    def origin_down(request, response):
        raise ConnectionError("DynamoDB unreachable")

    counting_dynamo.on_get_item = origin_down
    result = make_runtime().items.read("p11")
    assert (result.x_cache, result.version) == ("STALE", 1)


def test_value_filled_between_get_and_lease_releases_the_lease(
    make_runtime, counting_dynamo, redis_url, clock, monkeypatch
):
    runtime = make_runtime()
    l2 = runtime.items.l2
    keys = item_keys("raced")
    client = redis.Redis.from_url(redis_url)
    fresh_until = int(clock() * 1000) + 60_000
    real_get = l2.get

    def get_then_another_caller_fills(key):
        seen = real_get(key)
        client.set(keys.value, envelope.encode(Rendered(b"{}", '"e"', 4), fresh_until), px=60_000)
        return seen

    monkeypatch.setattr(l2, "get", get_then_another_caller_fills)
    read = runtime.items.read("raced")
    assert (read.x_cache, read.version) == ("HIT-L2", 4)
    assert counting_dynamo.reads == []
    assert client.exists(keys.lease) == 0


def test_uncached_not_found_releases_the_lease(make_runtime, counting_dynamo, redis_url):
    runtime = make_runtime(policy=policy_json(negative_ttl_seconds=0))
    assert runtime.items.read("ghost").body is None
    client = redis.Redis.from_url(redis_url)
    assert client.exists(item_keys("ghost").value) == 0
    assert client.exists(item_keys("ghost").lease) == 0


def test_origin_failure_during_refresh_releases_the_lease(
    make_runtime, counting_dynamo, redis_url, clock, monkeypatch
):
    put_product(counting_dynamo, "p9", 1)
    runtime = make_runtime()
    assert runtime.items.read("p9").x_cache == "MISS"
    runtime.items.l1.clear()
    clock.advance(3600 + 1)  # past freshness, inside the swr window

    def fail(*_args, **_kwargs):
        raise RuntimeError("origin down")

    monkeypatch.setattr(runtime.items.origin, "get_item", fail)
    assert runtime.items.read("p9").x_cache == "STALE"
    assert redis.Redis.from_url(redis_url).exists(item_keys("p9").lease) == 0


def test_origin_failure_on_a_miss_releases_the_lease(
    make_runtime, counting_dynamo, redis_url, monkeypatch
):
    runtime = make_runtime()

    def fail(*_args, **_kwargs):
        raise RuntimeError("origin down")

    monkeypatch.setattr(runtime.items.origin, "get_item", fail)
    with pytest.raises(RuntimeError):
        runtime.items.read("p10")
    assert redis.Redis.from_url(redis_url).exists(item_keys("p10").lease) == 0
