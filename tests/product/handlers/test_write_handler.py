"""POST/PUT/DELETE: conditional writes, versions, preconditions, write-through, bad input."""

from __future__ import annotations

import json
import re
from typing import Any

from handler_env import all_items, item_of
from handler_events import api_event, json_headers
from handler_http import call

from cache_constructs.product.domain.representation import etag_of
from cache_constructs.product.handlers import read_handler, write_handler

LAMP = {"name": "Lamp", "category": "home", "price": 12.5}


def post(context: Any, body: Any, **headers: str):  # type: ignore[no-untyped-def]
    event = api_event("POST", "/products", body=json.dumps(body), headers=json_headers(**headers))
    return call(write_handler.handler, event, context)


def put(context: Any, product_id: str, body: Any, **headers: str):  # type: ignore[no-untyped-def]
    event = api_event(
        "PUT", f"/products/{product_id}", body=json.dumps(body), headers=json_headers(**headers)
    )
    return call(write_handler.handler, event, context)


def delete(context: Any, product_id: str, **headers: str):  # type: ignore[no-untyped-def]
    event = api_event("DELETE", f"/products/{product_id}", headers=headers)
    return call(write_handler.handler, event, context)


def get(context: Any, product_id: str, **headers: str):  # type: ignore[no-untyped-def]
    event = api_event("GET", f"/products/{product_id}", headers=headers)
    return call(read_handler.handler, event, context)


def test_post_creates_version_1_with_a_server_assigned_id(
    runtime: Any, aws: Any, context: Any
) -> None:
    result = post(context, LAMP)
    assert result.status == 201
    product = result.json()
    assert re.fullmatch(r"[0-9a-f]{32}", product["productId"])
    assert product["version"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", product["updatedAt"])
    assert {k: product[k] for k in LAMP} == LAMP
    assert result.header("ETag") == etag_of(result.body.encode())
    assert result.header("X-Cache") == "BYPASS"
    assert result.header("Cache-Control") == "no-store"
    assert result.header("Location") == f"/prod/products/{product['productId']}"
    stored = item_of(aws, product["productId"])
    assert stored is not None and stored["version"] == {"N": "1"}


def test_post_of_an_existing_id_is_409_and_changes_nothing(
    runtime: Any, aws: Any, context: Any
) -> None:
    assert post(context, {**LAMP, "productId": "p1"}).status == 201
    before = item_of(aws, "p1")
    result = post(context, {**LAMP, "productId": "p1", "name": "Other"})
    assert result.status == 409
    assert result.json()["error"] == "conflict"
    assert item_of(aws, "p1") == before


def test_read_your_writes_through_write_through(runtime: Any, context: Any) -> None:
    created = put(context, "p1", LAMP)
    assert created.status == 201
    read = get(context, "p1")
    assert read.status == 200
    assert read.body == created.body
    assert read.header("ETag") == created.header("ETag")
    # A new item's fence is not anchored yet: the first read is a strongly consistent one.
    assert read.header("X-Cache") == "MISS"

    replaced = put(context, "p1", {**LAMP, "price": 15})
    assert replaced.status == 200
    assert replaced.json()["version"] == 2
    again = get(context, "p1")
    assert again.json()["version"] == 2
    assert again.json()["price"] == 15
    assert again.header("ETag") == replaced.header("ETag")
    # Served by the cache the write filled, not by DynamoDB.
    assert again.header("X-Cache") in ("HIT-L1", "HIT-L2")


def test_put_versions_and_timestamps(runtime: Any, aws: Any, context: Any) -> None:
    first = put(context, "p1", LAMP).json()
    second = put(context, "p1", {**LAMP, "description": "warm light", "featured": True}).json()
    assert (first["version"], second["version"]) == (1, 2)
    assert second["description"] == "warm light" and second["featured"] is True
    assert second["updatedAt"] >= first["updatedAt"]
    assert item_of(aws, "p1")["version"] == {"N": "2"}


def test_put_if_match(runtime: Any, aws: Any, context: Any) -> None:
    v1 = put(context, "p1", LAMP)
    v2 = put(context, "p1", {**LAMP, "price": 13}, **{"If-Match": v1.header("ETag")})
    assert v2.status == 200
    stale = put(context, "p1", {**LAMP, "price": 14}, **{"If-Match": v1.header("ETag")})
    assert stale.status == 412
    assert stale.json()["error"] == "precondition_failed"
    assert "If-Match" in stale.json()["message"]
    assert item_of(aws, "p1")["price"] == {"N": "13"}
    listed = put(context, "p1", {**LAMP, "price": 15}, **{"If-Match": f'"x", {v2.header("ETag")}'})
    assert listed.status == 200


def test_put_if_match_on_a_missing_product_is_412(runtime: Any, aws: Any, context: Any) -> None:
    assert put(context, "p1", LAMP, **{"If-Match": "*"}).status == 412
    assert all_items(aws) == []


def test_put_if_none_match_star_creates_only(runtime: Any, aws: Any, context: Any) -> None:
    assert put(context, "p1", LAMP, **{"If-None-Match": "*"}).status == 201
    assert put(context, "p1", {**LAMP, "price": 1}, **{"If-None-Match": "*"}).status == 412
    assert item_of(aws, "p1")["version"] == {"N": "1"}


def test_stale_body_version_is_412_and_nothing_written(
    runtime: Any, aws: Any, context: Any
) -> None:
    put(context, "p1", LAMP)
    put(context, "p1", LAMP)
    before = item_of(aws, "p1")
    stale = put(context, "p1", {**LAMP, "price": 99, "version": 1})
    assert stale.status == 412
    assert "version" in stale.json()["message"]
    assert item_of(aws, "p1") == before
    current = put(context, "p1", {**LAMP, "price": 99, "version": 2})
    assert current.status == 200 and current.json()["version"] == 3


def test_delete(runtime: Any, aws: Any, context: Any) -> None:
    created = put(context, "p1", LAMP)
    assert get(context, "p1").status == 200
    stale = delete(context, "p1", **{"If-Match": '"00000000000000000000000000000000"'})
    assert stale.status == 412
    result = delete(context, "p1", **{"If-Match": created.header("ETag")})
    assert result.status == 204
    assert result.body == ""
    assert item_of(aws, "p1") is None
    assert get(context, "p1").status == 404
    missing = delete(context, "p1")
    assert missing.status == 404
    assert missing.json()["error"] == "not_found"


def test_read_your_writes_after_delete_and_recreate(runtime: Any, context: Any) -> None:
    # The re-create continues above the deleted version (6 after 5), so its write-through
    # lands above the delete's tombstone and the cached 404 goes at once.
    put(context, "p1", LAMP)
    for price in (13, 14, 15, 16):
        put(context, "p1", {**LAMP, "price": price})
    assert get(context, "p1").json()["version"] == 5
    assert delete(context, "p1").status == 204
    assert get(context, "p1").status == 404
    assert get(context, "p1").status == 404  # served from the cached negative entry
    recreated = post(context, {**LAMP, "productId": "p1", "price": 20})
    assert recreated.status == 201 and recreated.json()["version"] == 6
    read = get(context, "p1")
    assert read.status == 200
    assert read.json()["price"] == 20
    assert read.header("X-Cache") in ("HIT-L1", "HIT-L2")  # the write-through landed


def test_post_with_version_0_creates_and_other_versions_are_412(
    runtime: Any, aws: Any, context: Any
) -> None:
    assert post(context, {**LAMP, "productId": "p0", "version": 0}).status == 201
    stale = post(context, {**LAMP, "productId": "p1", "version": 3})
    assert stale.status == 412 and "version" in stale.json()["message"]
    assert item_of(aws, "p1") is None


def test_put_with_version_0_creates_only(runtime: Any, aws: Any, context: Any) -> None:
    assert put(context, "p1", {**LAMP, "version": 0}).status == 201
    assert put(context, "p1", {**LAMP, "version": 0, "price": 1}).status == 412
    assert item_of(aws, "p1")["price"] == {"N": "12.5"}


def test_category_change_refreshes_both_lists(runtime: Any, context: Any) -> None:
    from handler_http import call as invoke

    from cache_constructs.product.handlers import list_handler

    def names(category: str) -> list[str]:
        event = api_event("GET", "/products", query={"category": category})
        return [
            item["productId"]
            for item in invoke(list_handler.handler, event, context).json()["items"]
        ]

    put(context, "p1", LAMP)
    assert (names("home"), names("garden")) == (["p1"], [])
    put(context, "p1", {**LAMP, "category": "garden"})
    assert (names("home"), names("garden")) == ([], ["p1"])


def test_list_bumps_follow_the_list_policy_even_when_items_are_not_cached(
    install_runtime: Any, context: Any
) -> None:
    """An item policy without L2 (critical) must not switch the list cache's invalidation off:
    the write path bumps lists through the list cache, built from LIST_CACHE_POLICY."""
    from cache_constructs.contract.policy import CachePolicy
    from cache_constructs.product.handlers import list_handler

    install_runtime(ITEM_CACHE_POLICY=CachePolicy.CRITICAL.to_runtime_json())

    def names(category: str) -> list[str]:
        event = api_event("GET", "/products", query={"category": category})
        page = call(list_handler.handler, event, context).json()
        return [item["productId"] for item in page["items"]]

    put(context, "p1", LAMP)
    assert (names("home"), names("garden")) == (["p1"], [])  # both pages now cached in L2
    put(context, "p1", {**LAMP, "category": "garden"})
    install_runtime(ITEM_CACHE_POLICY=CachePolicy.CRITICAL.to_runtime_json())  # empty L1
    assert (names("home"), names("garden")) == ([], ["p1"])
