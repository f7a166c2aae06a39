"""GET /products?category=&limit=&cursor=: pages, cursors, X-Cache, 304 and bad queries."""

from __future__ import annotations

from typing import Any

import pytest
from handler_events import api_event
from handler_http import HttpResult, call
from test_read_handler import environment, seed, ttl_only_runtime  # noqa: F401

from cache_constructs.product.handlers import list_handler, write_handler


def list_page(context: Any, **query: str | list[str]) -> HttpResult:
    return call(list_handler.handler, api_event("GET", "/products", query=query), context)


def test_pages_follow_the_cursor(runtime: Any, aws: Any, context: Any) -> None:
    for product_id in ("a", "b", "c"):
        seed(aws, product_id, category="home")
    seed(aws, "z", category="garden")
    first = list_page(context, category="home", limit="2")
    assert first.status == 200
    assert first.header("X-Cache") == "MISS"
    page = first.json()
    assert [item["productId"] for item in page["items"]] == ["a", "b"]
    assert isinstance(page["nextCursor"], str)
    second = list_page(context, category="home", limit="2", cursor=page["nextCursor"])
    assert [item["productId"] for item in second.json()["items"]] == ["c"]
    assert second.json()["nextCursor"] is None
    again = list_page(context, category="home", limit="2")
    assert (again.header("X-Cache"), again.body) == ("HIT-L2", first.body)  # tracked: kept
    once_more = list_page(context, category="home", limit="2")
    assert (once_more.header("X-Cache"), once_more.body) == ("HIT-L1", first.body)


def test_another_environment_hits_l2(install_runtime: Any, aws: Any, context: Any) -> None:
    install_runtime()
    seed(aws, "a")
    first = list_page(context, category="home")
    install_runtime()  # a new Lambda environment: empty L1, same Valkey
    second = list_page(context, category="home")
    assert (second.header("X-Cache"), second.body) == ("HIT-L2", first.body)
    assert second.header("ETag") == first.header("ETag")


def test_default_limit_and_304(runtime: Any, aws: Any, context: Any) -> None:
    seed(aws, "a")
    first = list_page(context, category="home")
    assert len(first.json()["items"]) == 1
    result = call(
        list_handler.handler,
        api_event(
            "GET",
            "/products",
            query={"category": "home"},
            headers={"If-None-Match": first.header("ETag")},
        ),
        context,
    )
    assert result.status == 304 and result.body == ""


def test_a_write_invalidates_the_category_pages(runtime: Any, aws: Any, context: Any) -> None:
    seed(aws, "a")
    assert len(list_page(context, category="home").json()["items"]) == 1
    event = api_event(
        "PUT",
        "/products/b",
        body='{"name": "B", "category": "home", "price": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert call(write_handler.handler, event, context).status == 201
    after = list_page(context, category="home")
    assert [item["productId"] for item in after.json()["items"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "category"),
        ({"category": "a/b"}, "category"),
        ({"category": ["home", "garden"]}, "category"),
        ({"category": "home", "limit": "0"}, "limit"),
        ({"category": "home", "limit": "101"}, "limit"),
        ({"category": "home", "limit": "abc"}, "limit"),
        ({"category": "home", "cursor": "!!"}, "cursor"),
        ({"category": "home", "cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"category": "home", "cursor": "eyJ4IjogMX0"}, "cursor"),
    ],
)
def test_bad_queries_are_400_naming_the_parameter(
    runtime: Any, context: Any, query: dict[str, Any], field: str
) -> None:
    result = list_page(context, **query)
    assert result.status == 400
    assert result.json()["error"] == "bad_request"
    assert field in result.json()["message"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(runtime: Any, context: Any, method: str) -> None:
    result = call(list_handler.handler, api_event(method, "/products"), context)
    assert result.status == 405
    assert result.header("Allow") == "GET"


@pytest.mark.parametrize("cache_control", ["no-cache", "max-age=0"])
def test_cache_control_no_cache_or_max_age_0_skips_l1(
    runtime: Any, aws: Any, context: Any, cache_control: str
) -> None:
    seed(aws, "a")
    first = list_page(context, category="home")
    assert [list_page(context, category="home").header("X-Cache") for _ in range(2)] == [
        "HIT-L2",
        "HIT-L1",
    ]
    fresh = call(
        list_handler.handler,
        api_event(
            "GET", "/products", query={"category": "home"}, headers={"Cache-Control": cache_control}
        ),
        context,
    )
    assert (fresh.status, fresh.header("X-Cache"), fresh.body) == (200, "HIT-L2", first.body)


@pytest.mark.usefixtures("ttl_only_runtime")
def test_no_cache_returns_a_page_that_this_l1_does_not_know_yet(
    aws: Any, redis_url: str, context: Any
) -> None:
    seed(aws, "a")
    for _ in range(3):
        list_page(context, category="home")
    seed(aws, "b")
    writer = environment(aws, redis_url)  # the write function bumps the category in L2
    assert writer.lists.bump(["home"]) is True
    stale = list_page(context, category="home")
    assert stale.header("X-Cache") == "HIT-L1"  # bounded by the L1 TTL only
    assert [item["productId"] for item in stale.json()["items"]] == ["a"]
    fresh = call(
        list_handler.handler,
        api_event(
            "GET", "/products", query={"category": "home"}, headers={"Cache-Control": "no-cache"}
        ),
        context,
    )
    assert fresh.header("X-Cache") == "MISS"
    assert [item["productId"] for item in fresh.json()["items"]] == ["a", "b"]
