"""GET /products/{id}: X-Cache per layer, validators, 304s, 404s and bad ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from handler_env import POLICY, TABLE
from handler_events import api_event
from handler_http import HttpResult, call

from cache_constructs.product.domain.representation import etag_of
from cache_constructs.product.handlers import read_handler
from cache_constructs.runtime import telemetry


def seed(client: Any, product_id: str, version: int = 1, category: str = "home") -> None:
    """An item written straight to the table (as another writer would)."""
    client.put_item(
        TableName=TABLE,
        Item={
            "PK": {"S": f"PRODUCT#{product_id}"},
            "SK": {"S": "METADATA"},
            "productId": {"S": product_id},
            "name": {"S": "Lamp"},
            "category": {"S": category},
            "price": {"N": "12.5"},
            "version": {"N": str(version)},
            "updatedAt": {"S": "2026-11-24T02:10:00.000Z"},
        },
    )


def get(context: Any, path: str, **headers: str | list[str]) -> HttpResult:
    return call(read_handler.handler, api_event("GET", path, headers=headers), context)


def test_miss_then_l2_then_l1(install_runtime: Any, aws: Any, context: Any) -> None:
    install_runtime()
    seed(aws, "p1")
    first = get(context, "/products/p1")
    assert first.status == 200
    assert first.header("X-Cache") == "MISS"
    assert first.json() == {
        "productId": "p1",
        "name": "Lamp",
        "category": "home",
        "price": 12.5,
        "version": 1,
        "updatedAt": "2026-11-24T02:10:00.000Z",
    }
    assert first.header("ETag") == etag_of(first.body.encode())
    assert first.header("Cache-Control") == POLICY.cache_control
    assert "stale-while-revalidate" in first.header("Cache-Control")
    assert first.header("Content-Type") == "application/json"
    # The fill is not tracked by L1's connection: the next read (an L2 hit, tracked) is what
    # L1 keeps, and the one after is served from process memory.
    second = get(context, "/products/p1")
    assert (second.header("X-Cache"), second.body) == ("HIT-L2", first.body)
    third = get(context, "/products/p1")
    assert (third.header("X-Cache"), third.body) == ("HIT-L1", first.body)
    # A new Lambda environment: empty L1, same Valkey.
    install_runtime()
    fourth = get(context, "/products/p1")
    assert (fourth.header("X-Cache"), fourth.body) == ("HIT-L2", first.body)
    assert fourth.header("ETag") == first.header("ETag")


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"aaaa", {etag}', "*", ['"aaaa"', "{etag}"]],
)
def test_if_none_match_gives_304_without_body(
    runtime: Any, aws: Any, context: Any, if_none_match: str | list[str]
) -> None:
    seed(aws, "p1")
    etag = get(context, "/products/p1").header("ETag")
    assert get(context, "/products/p1").header("X-Cache") == "HIT-L2"  # now in L1 too
    value: str | list[str] = (
        [v.format(etag=etag) for v in if_none_match]
        if isinstance(if_none_match, list)
        else if_none_match.format(etag=etag)
    )
    result = get(context, "/products/p1", **{"If-None-Match": value})
    assert result.status == 304
    assert result.body == ""
    assert result.header("ETag") == etag
    assert result.header("Cache-Control") == POLICY.cache_control
    assert result.header("X-Cache") == "HIT-L1"


def test_if_none_match_of_another_version_gives_200(runtime: Any, aws: Any, context: Any) -> None:
    seed(aws, "p1")
    result = get(context, "/products/p1", **{"If-None-Match": '"0123"'})
    assert result.status == 200 and result.json()["productId"] == "p1"


def test_malformed_if_none_match_is_400_naming_it(runtime: Any, aws: Any, context: Any) -> None:
    seed(aws, "p1")
    result = get(context, "/products/p1", **{"If-None-Match": "not-quoted"})
    assert result.status == 400
    assert "If-None-Match" in result.json()["message"]


def test_missing_product_is_a_json_404(runtime: Any, context: Any) -> None:
    result = get(context, "/products/nope")
    assert result.status == 404
    assert result.json() == {"error": "not_found", "message": "product nope does not exist"}
    assert result.header("X-Cache") == "MISS"
    assert result.header("Cache-Control") == "no-store"


@pytest.mark.parametrize("product_id", ["a" * 65, "bad.id", "a%20b", "x:y", "%C3%A9"])
def test_invalid_ids_are_400_naming_product_id(runtime: Any, context: Any, product_id: str) -> None:
    result = get(context, f"/products/{product_id}")
    assert result.status == 400
    body = result.json()
    assert body["error"] == "bad_request"
    assert "productId" in body["message"]


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"])
def test_other_methods_are_405(runtime: Any, context: Any, method: str) -> None:
    result = call(read_handler.handler, api_event(method, "/products/p1"), context)
    assert result.status == 405
    assert result.json()["error"] == "method_not_allowed"
    assert result.header("Allow") == "GET"


@pytest.mark.parametrize("path", ["/", "/product/p1", "/products/p1/reviews", "/products/"])
def test_unknown_routes_are_404(runtime: Any, context: Any, path: str) -> None:
    result = call(read_handler.handler, api_event("GET", path), context)
    assert result.status == 404
    assert result.json()["error"] == "not_found"


def test_emf_output_names_the_cache_metrics(
    runtime: Any, aws: Any, context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(aws, "p1")
    for _ in range(3):  # MISS, HIT-L2, HIT-L1
        get(context, "/products/p1")
    telemetry.publish_now()  # the read function publishes once a second; the test now
    emitted = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    names = {
        metric["Name"]
        for blob in emitted
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert {"L1Miss", "L2Miss", "OriginRead", "OriginLatency", "L1Hit"} <= names
    assert all(
        blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CachedProductService"
        for blob in emitted
    )
    assert all(blob["service"] == "product-service" for blob in emitted)


def test_an_event_without_headers_or_query_maps(runtime: Any, aws: Any, context: Any) -> None:
    seed(aws, "p1")
    event = {
        **api_event("GET", "/products/p1"),
        "headers": None,
        "multiValueHeaders": None,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
    }
    assert call(read_handler.handler, event, context).status == 200


def environment(aws: Any, redis_url: str, *, l1_tracking: bool = True) -> Any:
    """Another Lambda environment's runtime on the same table and Valkey (not installed)."""
    from handler_env import runtime_env

    from cache_constructs.product.domain.codec import PRODUCT_CODEC
    from cache_constructs.runtime.config import load_config
    from cache_constructs.runtime.runtime import build_runtime

    config = load_config(runtime_env(redis_url))
    return build_runtime(config, codec=PRODUCT_CODEC, dynamodb_client=aws, l1_tracking=l1_tracking)


@pytest.fixture
def ttl_only_runtime(aws: Any, redis_url: str) -> Iterator[Any]:
    """The read functions' runtime with an L1 bounded by its TTL alone (as where the server
    refuses tracking), installed for the handlers."""
    from cache_constructs.product.handlers.service_runtime import set_runtime

    runtime = environment(aws, redis_url, l1_tracking=False)
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


SKIPS_L1 = [
    "no-cache",
    "max-age=0",
    "NO-CACHE",
    'max-age="0"',
    "private, max-age=0",
    ["a=1", "no-cache"],
]
KEEPS_L1 = ["max-age=60", "no-store", "max-stale=30", "x-no-cache"]


@pytest.mark.parametrize("cache_control", SKIPS_L1)
def test_cache_control_no_cache_or_max_age_0_skips_l1(
    runtime: Any, aws: Any, context: Any, cache_control: str | list[str]
) -> None:
    seed(aws, "p1")
    first = get(context, "/products/p1")
    assert [get(context, "/products/p1").header("X-Cache") for _ in range(2)] == [
        "HIT-L2",
        "HIT-L1",
    ]
    fresh = get(context, "/products/p1", **{"Cache-Control": cache_control})
    assert (fresh.status, fresh.header("X-Cache"), fresh.body) == (200, "HIT-L2", first.body)
    assert get(context, "/products/p1").header("X-Cache") == "HIT-L1"  # L1 still serves others


@pytest.mark.parametrize("cache_control", KEEPS_L1)
def test_other_request_cache_control_keeps_l1(
    runtime: Any, aws: Any, context: Any, cache_control: str
) -> None:
    seed(aws, "p1")
    for _ in range(2):
        get(context, "/products/p1")
    result = get(context, "/products/p1", **{"Cache-Control": cache_control})
    assert result.header("X-Cache") == "HIT-L1"


def test_no_cache_returns_a_write_that_this_l1_does_not_know_yet(
    ttl_only_runtime: Any, aws: Any, redis_url: str, context: Any
) -> None:
    from cache_constructs.product.domain.representation import render_product
    from cache_constructs.runtime.codec import Rendered

    seed(aws, "p1", version=1)
    for _ in range(3):
        get(context, "/products/p1")
    product = {
        "productId": "p1",
        "name": "Lamp",
        "category": "home",
        "price": 12.5,
        "version": 2,
        "updatedAt": "2026-11-24T02:10:00.000Z",
    }
    seed(aws, "p1", version=2)
    body = render_product(product)
    writer = environment(aws, redis_url)  # the write function writes v2 through to L2
    assert writer.items.write_through("p1", Rendered(body, etag_of(body), 2))
    stale = get(context, "/products/p1")
    assert (stale.header("X-Cache"), stale.json()["version"]) == ("HIT-L1", 1)  # TTL bound
    fresh = get(context, "/products/p1", **{"Cache-Control": "no-cache"})
    assert (fresh.header("X-Cache"), fresh.json()["version"]) == ("HIT-L2", 2)
