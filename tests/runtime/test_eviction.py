"""Real eviction: a redis-server with a small `maxmemory` under `volatile-lru` (ElastiCache's
default) and `allkeys-lru`, filled until Redis itself evicts an item's value and fence.

A slow reader is held inside its origin read (threading.Event) while the item is written
through, its stream record applied, and memory pressure evicts everything of the item; then
the reader's fill arrives. The test asserts on what Redis evicted (EXISTS, INFO
evicted_keys), not on timing.
"""

from __future__ import annotations

import threading

import pytest
import redis
import redis_servers
from runtime_helpers import base_env, put_product, rendered

from cache_constructs.contract.keys import item_keys
from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime import envelope
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import build_runtime

SLOW = "slow-reader"


def runtime_on(url, counting_dynamo, clock):
    return build_runtime(
        load_config(base_env(REDIS_URL=url)),
        codec=PRODUCT_CODEC,
        redis_client=redis.Redis.from_url(url),
        dynamodb_client=counting_dynamo,
        clock=clock,
    )


@pytest.mark.parametrize("policy", redis_servers.EVICTION_POLICIES)
def test_a_slow_readers_fill_never_lands_after_its_fence_was_evicted(
    policy, counting_dynamo, clock
):
    """Defect 1. On b139d26 the reader's lease read epoch 0 from the absent tombstone; the
    write-through and the stream record moved it to 2; eviction took tombstone and value;
    the fill then read the absent tombstone as epoch 0 again and landed v1, served as HIT-L2
    for the rest of its L2 TTL (about an hour) after v2 was acknowledged. Now every new fence
    gets a random epoch and a fill needs the fence it leased under: v2 is read."""
    with redis_servers.evicting(policy, maxmemory="4mb") as server:
        client = redis.Redis.from_url(server.url)
        reader = runtime_on(server.url, counting_dynamo, clock)
        writer = runtime_on(server.url, counting_dynamo, clock)
        value_key, fence_key, _ = item_keys("evicted")
        put_product(counting_dynamo, "evicted", 1)
        assert reader.items.read("evicted").version == 1
        reader.items.l1.clear()
        client.delete(value_key)  # the value expired; its fence (if any) stays

        answered, release = threading.Event(), threading.Event()

        def hold(request, response):
            if threading.current_thread().name == SLOW:
                answered.set()
                assert release.wait(30)

        counting_dynamo.on_get_item = hold
        result = {}
        slow = threading.Thread(
            target=lambda: result.setdefault("read", reader.items.read("evicted")),
            name=SLOW,
            daemon=True,
        )
        slow.start()
        assert answered.wait(10), "the reader never reached the origin"

        v2 = put_product(counting_dynamo, "evicted", 2, name="new")
        assert writer.items.write_through("evicted", rendered(v2)) is True  # acknowledged
        writer.items.invalidate("evicted", 1)  # v2's MODIFY stream record

        before = redis_servers.evicted_keys(client)
        redis_servers.fill_until_evicted(client, [value_key, fence_key])
        assert redis_servers.evicted_keys(client) > before
        assert client.exists(value_key, fence_key) == 0

        release.set()
        slow.join(30)
        assert not slow.is_alive()
        assert result["read"].version == 1  # it started before the write: allowed to see v1
        raw = client.get(value_key)
        assert raw is None or envelope.decode(raw).version == 2  # v1 was not cached
        counting_dynamo.on_get_item = None
        later = runtime_on(server.url, counting_dynamo, clock).items.read("evicted")
        assert later.version == 2
