"""GET /products/{id}: X-Cache per layer, validators, 304s, 404s and bad ids."""

from __future__ import annotations

import json
from typing import Any

import pytest
from handler_env import POLICY, TABLE
from handler_events import api_event
from handler_http import HttpResult, call

from cache_constructs.product.domain.representation import etag_of
from cache_constructs.product.handlers import read_handler


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


def test_miss_then_l1_then_l2(install_runtime: Any, aws: Any, context: Any) -> None:
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
    second = get(context, "/products/p1")
    assert (second.header("X-Cache"), second.body) == ("HIT-L1", first.body)
    # A new Lambda environment: empty L1, same Valkey.
    install_runtime()
    third = get(context, "/products/p1")
    assert (third.header("X-Cache"), third.body) == ("HIT-L2", first.body)
    assert third.header("ETag") == first.header("ETag")


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"aaaa", {etag}', "*", ['"aaaa"', "{etag}"]],
)
def test_if_none_match_gives_304_without_body(
    runtime: Any, aws: Any, context: Any, if_none_match: str | list[str]
) -> None:
    seed(aws, "p1")
    etag = get(context, "/products/p1").header("ETag")
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
    get(context, "/products/p1")
    get(context, "/products/p1")
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
