"""The origin: DynamoDB reads (moto), DAX in front with fallback and consistent re-reads.

No DAX emulator exists, so DAX is a fake object with the botocore client surface
(get_item/put_item/delete_item) whose answers the test controls: stale items, connection
errors, service errors. Everything behind it is moto DynamoDB.
"""

from __future__ import annotations

import sys

import pytest
from botocore.exceptions import ClientError
from runtime_helpers import TABLE, FakeDax, put_product

from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.product.domain.representation import item_from_product, product_key
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.breaker import OPEN
from cache_constructs.runtime.origin import Fence, Origin


def conditional_failure():
    return ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}}, "PutItem"
    )


@pytest.fixture
def dax(counting_dynamo):
    return FakeDax(backing=counting_dynamo)


@pytest.fixture
def origin(counting_dynamo, dax, clock):
    from cache_constructs.runtime.breaker import CircuitBreaker

    return Origin(
        table_name=TABLE,
        codec=PRODUCT_CODEC,
        region="eu-west-1",
        dynamodb_client=counting_dynamo,
        dax_client=dax,
        dax_breaker=CircuitBreaker("dax", failure_threshold=2, cooldown_seconds=10, clock=clock),
    )


def cache_in_dax(dax, product):
    dax.items["PRODUCT#" + product["productId"]] = item_from_product(product)


ANCHORED = Fence(stale_through=-1, committed=0)
"""A fence that knows nothing stale yet (anchored by an earlier consistent read)."""


def test_dax_answer_used_when_the_fence_vouches_for_it(origin, dax, counting_dynamo):
    cache_in_dax(dax, {"productId": "d1", "name": "n", "version": 3})
    answer = origin.get_item("d1", fence=Fence(stale_through=2, committed=3))
    assert answer.item["version"] == {"N": "3"} and answer.consistent is False
    assert counting_dynamo.reads == []


def test_dax_version_at_or_below_stale_through_is_reread_consistently(origin, dax, counting_dynamo):
    put_product(counting_dynamo, "d2", 5)  # an out-of-band write DAX never saw
    cache_in_dax(dax, {"productId": "d2", "name": "old", "version": 4})
    answer = origin.get_item("d2", fence=Fence(stale_through=4, committed=0))
    assert answer.item["version"] == {"N": "5"} and answer.consistent is True
    assert counting_dynamo.reads == [
        {"TableName": TABLE, "Key": product_key("d2"), "ConsistentRead": True}
    ]


def test_dax_version_below_the_committed_one_is_reread_consistently(origin, dax, counting_dynamo):
    put_product(counting_dynamo, "d6", 5)
    cache_in_dax(dax, {"productId": "d6", "name": "old", "version": 4})
    answer = origin.get_item("d6", fence=Fence(stale_through=-1, committed=5))
    assert answer.item["version"] == {"N": "5"} and answer.consistent is True


def test_dax_not_found_is_never_trusted(origin, dax, counting_dynamo):
    put_product(counting_dynamo, "d3", 2)  # recreated; DAX still remembers "absent"
    answer = origin.get_item("d3", fence=ANCHORED)
    assert answer.item["version"] == {"N": "2"} and answer.consistent is True
    assert counting_dynamo.reads[-1]["ConsistentRead"] is True


def test_without_a_fence_the_read_is_consistent_and_skips_dax(origin, dax, counting_dynamo):
    """A cold, expired or evicted fence, or L2 bypassed: nothing can vouch for DAX."""
    cache_in_dax(dax, {"productId": "d4", "name": "deleted long ago", "version": 3})
    answer = origin.get_item("d4")
    assert (answer.item, answer.consistent) == (None, True)
    assert dax.calls == []
    assert counting_dynamo.reads == [
        {"TableName": TABLE, "Key": product_key("d4"), "ConsistentRead": True}
    ]


def test_dax_unreachable_falls_back_and_breaker_stops_trying(origin, dax, counting_dynamo, clock):
    telemetry.metrics.clear_metrics()
    put_product(counting_dynamo, "d5", 1)
    dax.fail_with = ConnectionError("DAX endpoint unreachable")
    for _ in range(4):
        assert origin.get_item("d5", fence=ANCHORED).item["version"] == {"N": "1"}
    assert len(dax.calls) == 2  # breaker threshold 2: later calls skip DAX at once
    assert origin.dax_breaker.state == OPEN
    assert sum(telemetry.metric_values("DaxFallback")) == 4
    assert len(counting_dynamo.reads) == 4
    dax.fail_with = None
    clock.advance(10)
    cache_in_dax(dax, {"productId": "d5", "name": "n", "version": 1})
    origin.get_item("d5", fence=ANCHORED)  # half-open probe succeeds
    assert origin.dax_breaker.state == "closed"
    assert len(counting_dynamo.reads) == 4


def test_write_client_goes_through_dax_with_fallback(origin, dax, counting_dynamo):
    client = origin.write_client()
    item = item_from_product({"productId": "w1", "name": "n", "version": 1})
    client.put_item(TableName=TABLE, Item=item)
    assert dax.calls[-1][0] == "put_item"
    dax.fail_with = TimeoutError("DAX timed out")
    client.put_item(TableName=TABLE, Item={**item, "version": {"N": "2"}})
    stored = counting_dynamo.get_item(TableName=TABLE, Key=product_key("w1"))["Item"]
    assert stored["version"] == {"N": "2"}


def test_write_client_is_not_mistaken_for_other_protocols(origin):
    client = origin.write_client()
    assert not hasattr(client, "__deepcopy__")
    assert callable(client.put_item)


def test_dax_client_errors_that_are_not_answers_fall_back(origin, dax, counting_dynamo):
    """amazondax reports transport failures as ClientErrors (e.g. NoRouteException)."""
    from amazondax.DaxError import DaxClientError, DaxErrorCode

    put_product(counting_dynamo, "nr", 1)
    dax.fail_with = DaxClientError("Failed to configure cluster endpoints", DaxErrorCode.NoRoute)
    assert origin.get_item("nr", fence=ANCHORED).item["version"] == {"N": "1"}
    dax.fail_with = DaxClientError("connection reset", DaxErrorCode.ConnectionException)
    item = item_from_product({"productId": "nr", "version": 2})
    origin.write_client().put_item(TableName=TABLE, Item=item)
    assert counting_dynamo.get_item(TableName=TABLE, Key=product_key("nr"))["Item"]["version"] == {
        "N": "2"
    }


def test_dax_conditional_failure_is_raised_not_retried(origin, dax, counting_dynamo):
    from amazondax.DaxError import DaxClientError, DaxErrorCode

    dax.fail_with = DaxClientError("condition", DaxErrorCode.ConditionalCheckFailed)
    with pytest.raises(ClientError) as raised:
        origin.write_client().put_item(TableName=TABLE, Item=item_from_product({"productId": "c"}))
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert counting_dynamo.get_item(TableName=TABLE, Key=product_key("c")).get("Item") is None


def test_write_client_passes_service_answers_through(origin, dax):
    dax.fail_with = conditional_failure()
    with pytest.raises(ClientError) as raised:
        origin.write_client().put_item(TableName=TABLE, Item={})
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert origin.dax_breaker.state == "closed"


def test_without_dax_everything_is_dynamodb(counting_dynamo):
    origin = Origin(
        table_name=TABLE, region="eu-west-1", codec=PRODUCT_CODEC, dynamodb_client=counting_dynamo
    )
    assert origin.write_client() is counting_dynamo
    put_product(counting_dynamo, "n1", 1)
    assert origin.get_item("n1", fence=ANCHORED).item["version"] == {"N": "1"}
    assert counting_dynamo.reads[-1].get("ConsistentRead") is None  # eventually consistent


def test_policy_without_dax_layer_reads_dynamodb(counting_dynamo, dax):
    origin = Origin(
        table_name=TABLE,
        codec=PRODUCT_CODEC,
        region="eu-west-1",
        dynamodb_client=counting_dynamo,
        dax_client=dax,
        use_dax_for_reads=False,
    )
    put_product(counting_dynamo, "n2", 1)
    assert origin.get_item("n2", fence=ANCHORED).item["version"] == {"N": "1"}
    assert dax.calls == []
    origin.write_client().put_item(
        TableName=TABLE, Item=item_from_product({"productId": "n2", "version": 2})
    )
    assert dax.calls[-1][0] == "put_item"  # writes still keep DAX's item cache current


def test_gsi_query_never_uses_dax(origin, dax, counting_dynamo):
    for i in range(3):
        put_product(counting_dynamo, f"g{i}", 1, category="garden")
    put_product(counting_dynamo, "other", 1, category="kitchen")
    items, last = origin.query_collection("garden", 2, None)
    assert [i["productId"]["S"] for i in items] == ["g0", "g1"]
    assert last is not None
    items, last = origin.query_collection("garden", 2, last)
    assert [i["productId"]["S"] for i in items] == ["g2"]
    assert dax.calls == []
    assert counting_dynamo.queries == 2


def test_dax_client_built_lazily_with_region(monkeypatch, counting_dynamo):
    made = {}

    class FakeAmazonDaxClient:
        def __init__(self, **kwargs):
            made.update(kwargs)

        def get_item(self, **kwargs):
            return {}

    fake_module = type(sys)("amazondax")
    fake_module.AmazonDaxClient = FakeAmazonDaxClient
    monkeypatch.setitem(sys.modules, "amazondax", fake_module)
    origin = Origin(
        table_name=TABLE,
        codec=PRODUCT_CODEC,
        region="eu-west-1",
        dynamodb_client=counting_dynamo,
        dax_endpoint="daxs://cluster.abc.dax-clusters.eu-west-1.amazonaws.com",
    )
    assert made == {}
    origin.get_item("lazy", fence=ANCHORED)
    assert made["endpoints"] == ["daxs://cluster.abc.dax-clusters.eu-west-1.amazonaws.com"]
    assert made["region_name"] == "eu-west-1"
    config = made["config"]
    assert (config.connect_timeout, config.read_timeout) == (1, 1)
    assert config.retries == {"max_attempts": 1}


def test_read_path_with_stale_dax_after_out_of_band_write(
    make_runtime, counting_dynamo, dax, redis_url
):
    """End to end: the stream tells the cache v2 exists; DAX still holds v1."""
    put_product(counting_dynamo, "e1", 1)
    runtime = make_runtime(dax_client=dax)
    cache_in_dax(dax, {"productId": "e1", "name": "old", "category": "books", "version": 1})
    assert runtime.items.read("e1").version == 1  # cold fence: a consistent read anchors it
    put_product(counting_dynamo, "e1", 2)  # out-of-band: DAX keeps v1
    runtime.items.invalidate("e1", 1)  # the stream record for v2
    fresh = make_runtime(dax_client=dax).items.read("e1")
    assert fresh.version == 2
    assert counting_dynamo.reads[-1]["ConsistentRead"] is True


def test_real_dax_client_with_unreachable_cluster_falls_back(counting_dynamo, monkeypatch):
    """The real amazondax client against a closed local port: DynamoDB answers instead."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    put_product(counting_dynamo, "real-dax", 1)
    origin = Origin(
        table_name=TABLE,
        codec=PRODUCT_CODEC,
        region="eu-west-1",
        dynamodb_client=counting_dynamo,
        dax_endpoint="dax://127.0.0.1:1",
    )
    assert origin.get_item("real-dax", fence=ANCHORED).item["version"] == {"N": "1"}
    assert len(counting_dynamo.reads) == 1
