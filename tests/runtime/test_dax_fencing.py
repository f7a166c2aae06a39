"""DAX answers are served only when an item's fence vouches for them (DAX is a fake with the
botocore surface that holds whatever old copy the test gives it; DynamoDB is moto)."""

from __future__ import annotations

import pytest
import redis
from runtime_helpers import FakeDax, base_env, delete_product, put_product

from cache_constructs.contract.keys import item_keys
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import build_runtime

STATIC = CachePolicy.STATIC.without_layers("api").with_changes(jitter=0.0).to_runtime_json()


@pytest.fixture
def dax(counting_dynamo):
    return FakeDax(backing=counting_dynamo)


def test_a_deleted_item_does_not_come_back_from_dax_after_its_fence_expired(
    make_runtime, counting_dynamo, dax, redis_url
):
    """Defect 3. On b139d26, with the STATIC policy and DAX, the tombstone (300 s) died long
    before DAX's record TTL (3,600 s): the next miss took DAX's copy of the deleted item as
    current (no tombstone = nothing to compare with) and filled L2 with it for 48 h (MISS,
    then HIT-L2 of the deleted item). Now a missing fence means a strongly consistent read."""
    product = put_product(counting_dynamo, "gone", 5)
    dax.remember(product)  # DAX read it once; its record TTL is an hour
    runtime = make_runtime(policy=STATIC, dax_client=dax)
    assert runtime.items.read("gone").version == 5
    delete_product(counting_dynamo, "gone")  # straight to DynamoDB (DAX blipped): DAX keeps v5
    runtime.items.invalidate("gone", 5)  # the delete path's invalidation

    # Time passes: the negative entry and the fence expire (that is what expiry leaves).
    client = redis.Redis.from_url(redis_url)
    client.delete(*item_keys("gone")[:2])
    fresh = make_runtime(policy=STATIC, dax_client=dax)
    first = fresh.items.read("gone")
    assert (first.body, first.x_cache) == (None, "MISS")
    assert counting_dynamo.reads[-1].get("ConsistentRead") is True
    fresh.items.l1.clear()
    assert make_runtime(policy=STATIC, dax_client=dax).items.read("gone").body is None


def test_an_anchored_fence_lets_dax_answer_and_refuses_its_old_copy(
    make_runtime, counting_dynamo, dax, redis_url
):
    put_product(counting_dynamo, "d1", 1)
    runtime = make_runtime(policy=STATIC, dax_client=dax)
    assert runtime.items.read("d1").x_cache == "MISS"  # a consistent read anchors the fence
    assert counting_dynamo.reads[-1]["ConsistentRead"] is True
    client = redis.Redis.from_url(redis_url)
    client.delete(item_keys("d1").value)  # the value expired; the fence outlives it

    dax.remember({"productId": "d1", "name": "from DAX", "category": "books", "version": 1})
    reads = len(counting_dynamo.reads)
    got = make_runtime(policy=STATIC, dax_client=dax).items.read("d1")
    assert (got.version, got.x_cache) == (1, "MISS")
    assert len(counting_dynamo.reads) == reads  # DAX answered, vouched for by the fence

    put_product(counting_dynamo, "d1", 2)  # an out-of-band write DAX never saw
    runtime.items.invalidate("d1", 1)  # its stream record
    newer = make_runtime(policy=STATIC, dax_client=dax).items.read("d1")
    assert newer.version == 2
    assert counting_dynamo.reads[-1]["ConsistentRead"] is True


@pytest.mark.parametrize("reads_while_down", [1, 6])
def test_a_bypassed_read_never_serves_dax_older_than_an_acknowledged_write(
    counting_dynamo, dax, clock, reads_while_down
):
    """Defect 9. On b139d26 the bypass path (Redis down, or its breaker open) passed
    stale_through=-1, so after a write that went straight to DynamoDB (DAX blipped) the read
    served DAX's old item (BYPASS, version 1) for up to DAX's record TTL. Now a bypassed read
    is strongly consistent (DAX would only pass it through)."""
    put_product(counting_dynamo, "b1", 1)
    dax.remember({"productId": "b1", "name": "old", "category": "books", "version": 1})
    put_product(counting_dynamo, "b1", 2)  # the acknowledged write; DAX missed it
    config = load_config(base_env(REDIS_URL="redis://127.0.0.1:1/0", ITEM_CACHE_POLICY=STATIC))
    runtime = build_runtime(
        config, codec=PRODUCT_CODEC, dynamodb_client=counting_dynamo, dax_client=dax, clock=clock
    )
    for _ in range(reads_while_down):  # the 4th and later ones meet an open breaker
        runtime.items.l1.clear()
        result = runtime.items.read("b1")
        assert (result.version, result.x_cache) == (2, "BYPASS")
    assert counting_dynamo.reads[-1]["ConsistentRead"] is True
