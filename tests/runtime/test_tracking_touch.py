"""L1 hits keep their keys warm in L2: the next tracked GET carries a TOUCH for each key L1
served since, in the same round trip (L2's LRU/LFU never sees the reads L1 answers, and an
eviction would drop the key from L1 too, through its invalidation).

Counted on real servers: under allkeys-lfu with `lfu-log-factor 0` and `lfu-decay-time 0`
every access adds exactly one to a key's `OBJECT FREQ` (which itself does not count).
"""

from __future__ import annotations

from typing import Any

import redis
from runtime_helpers import put_product
from test_tracking import cluster_runtime, commands, one_product_per_primary, runtime_on, warm

from cache_constructs.contract.keys import item_keys
from cache_constructs.runtime.tracking import TOUCH_BATCH


def exact_access_counts(url: str) -> None:
    with redis.Redis.from_url(url) as client:
        client.config_set("maxmemory-policy", "allkeys-lfu")
        client.config_set("lfu-log-factor", 0)
        client.config_set("lfu-decay-time", 0)


def accesses(url: str, key: str) -> int:
    with redis.Redis.from_url(url) as client:
        return int(client.object("freq", key))


def test_l1_hits_touch_their_key_with_the_next_tracked_get_not_before(
    own_redis: Any, counting_dynamo: Any, clock: Any
) -> None:
    exact_access_counts(own_redis.url)
    reader = runtime_on(own_redis.url, counting_dynamo, clock)
    for product_id in ("hot", "next"):
        put_product(counting_dynamo, product_id, 1)
    warm(reader, "hot", 1)
    hot = item_keys("hot").value
    before = accesses(own_redis.url, hot)

    for _ in range(20):
        assert reader.items.read("hot").x_cache == "HIT-L1"
    # the hit path made no round trip: nothing touched yet
    assert (accesses(own_redis.url, hot), commands(own_redis.url, "touch")) == (before, 0)

    assert reader.items.read("next").x_cache == "MISS"  # a first read: an untracked GET
    assert commands(own_redis.url, "touch") == 0
    assert reader.items.read("next").x_cache == "HIT-L2"  # tracked: the TOUCH rides along
    # twenty hits, one TOUCH: a key is remembered once per tracked GET
    assert (accesses(own_redis.url, hot), commands(own_redis.url, "touch")) == (before + 1, 1)
    assert reader.items.read("hot").x_cache == "HIT-L1"  # the touch invalidated nothing


def test_touches_are_bounded_between_two_tracked_gets(
    own_redis: Any, counting_dynamo: Any, clock: Any
) -> None:
    reader = runtime_on(own_redis.url, counting_dynamo, clock)
    held = [f"b{i}" for i in range(TOUCH_BATCH + 6)]
    put_product(counting_dynamo, "next", 1)
    for product_id in held:
        put_product(counting_dynamo, product_id, 1)
        warm(reader, product_id, 1)
    touched_while_warming = commands(own_redis.url, "touch")
    for product_id in held:
        assert reader.items.read(product_id).x_cache == "HIT-L1"
    reader.items.read("next")
    reader.items.read("next")  # the tracked GET
    assert commands(own_redis.url, "touch") - touched_while_warming == TOUCH_BATCH


def test_cluster_a_touch_goes_to_the_primary_that_owns_the_key(
    redis_cluster: Any, counting_dynamo: Any, clock: Any
) -> None:
    reader = cluster_runtime(redis_cluster, counting_dynamo, clock)
    owners = one_product_per_primary(reader, 2)
    (first, first_id), (second, second_id) = sorted(owners.items())
    for product_id in (first_id, second_id):
        put_product(counting_dynamo, product_id, 1)
        warm(reader, product_id, 1)
    # opening `second`'s tracking connection flushed L1: read `first` back in
    assert [reader.items.read(first_id).x_cache for _ in range(2)] == ["HIT-L2", "HIT-L1"]
    url = {name: f"redis://{name}/0" for name in owners}
    touches = {name: commands(url[name], "touch") for name in owners}

    assert reader.items.read(first_id).x_cache == "HIT-L1"
    assert reader.items.read(second_id).x_cache == "HIT-L1"
    reader.items.l1.discard(first_id)  # the next read of it is a tracked GET on `first`
    assert reader.items.read(first_id).x_cache == "HIT-L2"
    # `first` got its own key's TOUCH; `second`'s key waits for a GET on `second`
    assert commands(url[first], "touch") - touches[first] == 1
    assert commands(url[second], "touch") == touches[second]

    reader.items.l1.discard(second_id)
    assert reader.items.read(second_id).x_cache == "HIT-L2"
    assert commands(url[second], "touch") - touches[second] == 1
