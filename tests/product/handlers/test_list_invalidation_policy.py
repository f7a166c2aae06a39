"""Each cache's invalidation follows its own policy: an item policy without `l2` (CRITICAL)
must not switch list invalidation off (defect 2).

Each function runs in its own Lambda environment (its own runtime, as separate functions
have); a list read in a fresh environment meets L2 only (another environment's L1 is not in
the way), so what it answers is what the write and stream functions left in L2.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from handler_env import TABLE, runtime_env
from handler_events import api_event, image, json_headers, modify, stream_event
from handler_http import HttpResult, call

from cache_constructs.contract.policy import CachePolicy
from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.product.handlers import list_handler, stream_handler, write_handler
from cache_constructs.product.handlers.service_runtime import set_runtime
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import CacheRuntime, build_runtime

CRITICAL = CachePolicy.CRITICAL.to_runtime_json()


class Clock:
    """Epoch seconds that move when told to: a list page read right after a bump lives only
    the GSI settle window (1 s), so each step lets the settle window pass explicitly."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def settle(self) -> None:
        self.now += 2


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def environment(aws: Any, redis_url: str, clock: Clock) -> Iterator[Callable[[], CacheRuntime]]:
    """A new Lambda environment of the product service whose item policy is CRITICAL."""

    def new() -> CacheRuntime:
        config = load_config(runtime_env(redis_url, ITEM_CACHE_POLICY=CRITICAL))
        assert not config.item_policy.uses("l2") and config.list_policy.uses("l2")
        return build_runtime(config, codec=PRODUCT_CODEC, dynamodb_client=aws, clock=clock)

    yield new
    set_runtime(None)


def run_in(runtime: CacheRuntime, handler: Any, event: dict[str, Any], context: Any) -> Any:
    set_runtime(runtime)
    return handler(event, context)


def listed(environment: Callable[[], CacheRuntime], category: str, context: Any) -> HttpResult:
    set_runtime(environment())
    return call(
        list_handler.handler, api_event("GET", "/products", query={"category": category}), context
    )


def ids(result: HttpResult) -> list[str]:
    return [item["productId"] for item in result.json()["items"]]


def put(context: Any, runtime: CacheRuntime, category: str) -> None:
    body = json.dumps({"name": "Lamp", "category": category, "price": 12.5})
    event = api_event("PUT", "/products/p1", body=body, headers=json_headers())
    assert run_in(runtime, write_handler.handler, event, context)["statusCode"] in (200, 201)


def test_a_product_moved_through_the_api_leaves_its_old_categorys_list(
    environment: Callable[[], CacheRuntime], clock: Clock, context: Any
) -> None:
    """Defect 2 through the write function. Before the layout restructure (17bc2d4) the write
    and stream functions built ListCache from the item policy's layers, so with CRITICAL as
    the item policy every bump was a no-op: after the move, the old category's cached list
    (HIT-L2) still held the product until its TTL. b139d26 gave every function both
    policies; this keeps it so."""
    writer = environment()
    put(context, writer, "home")
    clock.settle()
    assert ids(listed(environment, "home", context)) == ["p1"]
    assert listed(environment, "home", context).header("X-Cache") == "HIT-L2"  # cached in L2

    put(context, writer, "garden")  # the move, acknowledged
    clock.settle()
    home = listed(environment, "home", context)
    assert (ids(home), home.header("X-Cache")) == ([], "MISS")
    assert ids(listed(environment, "garden", context)) == ["p1"]


def test_a_product_moved_out_of_band_leaves_its_old_categorys_list(
    environment: Callable[[], CacheRuntime], aws: Any, clock: Clock, context: Any
) -> None:
    """Defect 2 through the stream function: a write straight into the table, then its MODIFY
    record (home -> garden) delivered to the invalidation function."""
    aws.put_item(TableName=TABLE, Item=image("p2", 1, "home"))
    listed(environment, "home", context)  # creates the category's generation (a bump)
    clock.settle()
    assert ids(listed(environment, "home", context)) == ["p2"]
    assert listed(environment, "home", context).header("X-Cache") == "HIT-L2"

    aws.put_item(TableName=TABLE, Item=image("p2", 2, "garden"))
    record = stream_event(modify("p2", 2, old_category="home", new_category="garden"))
    response = run_in(environment(), stream_handler.handler, record, context)
    assert response == {"batchItemFailures": []}
    clock.settle()
    home = listed(environment, "home", context)
    assert (ids(home), home.header("X-Cache")) == ([], "MISS")
    assert ids(listed(environment, "garden", context)) == ["p2"]
