"""Versions and ETags never repeat for an id, across deletes and re-creates, and every
precondition holds at the conditional write itself (issue 8, defect 8).

The races are forced with a reader hook: `RacingReader` runs another client's writes right
after this request's strongly consistent read of a given key, before its conditional write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from handler_env import TABLE, item_of
from handler_events import api_event, json_headers
from handler_http import HttpResult, call

from cache_constructs.product.domain.representation import marker_key
from cache_constructs.product.domain.validation import validate_product_body
from cache_constructs.product.domain.writes import ProductWrites
from cache_constructs.product.handlers import list_handler, read_handler, write_handler

LAMP = {"name": "Lamp", "category": "home", "price": 12.5}


def send(context: Any, method: str, path: str, body: Any = None, **headers: str) -> HttpResult:
    event = api_event(
        method,
        path,
        body=None if body is None else json.dumps(body),
        headers=json_headers(**headers) if body is not None else headers,
    )
    handler = read_handler.handler if method == "GET" else write_handler.handler
    return call(handler, event, context)


class RacingReader:
    """A DynamoDB client that runs `race` once, right after the first read of `sort_key`."""

    def __init__(self, client: Any, sort_key: str, race: Callable[[], None]) -> None:
        self._client = client
        self._sort_key = sort_key
        self._race: Callable[[], None] | None = race
        self.raced = False

    def get_item(self, **request: Any) -> Any:
        response = self._client.get_item(**request)
        if self._race is not None and request["Key"]["SK"]["S"] == self._sort_key:
            race, self._race = self._race, None
            race()
            self.raced = True
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def racing(runtime: Any, sort_key: str, race: Callable[[], None]) -> RacingReader:
    reader = RacingReader(runtime.dynamodb(), sort_key, race)
    runtime.dynamodb = lambda: reader
    return reader


def another_client(runtime: Any) -> ProductWrites:
    """Another request's writes (the domain directly: the handler is busy with ours)."""
    return ProductWrites(runtime)


def test_a_client_holding_a_version_of_a_deleted_product_cannot_overwrite_the_new_one(
    runtime: Any, aws: Any, context: Any
) -> None:
    """On b139d26 the re-create restarted at version 1 and the stale PUT (body version 1)
    answered 200, overwriting the new product."""
    held = send(context, "PUT", "/products/p1", LAMP).json()  # a client keeps version 1
    assert send(context, "DELETE", "/products/p1").status == 204
    recreated = send(context, "POST", "/products", {**LAMP, "productId": "p1", "price": 20})
    assert recreated.status == 201
    assert recreated.json()["version"] == held["version"] + 1
    stale = send(context, "PUT", "/products/p1", {**LAMP, "price": 1, "version": held["version"]})
    assert stale.status == 412, stale.body
    assert "version" in stale.json()["message"]
    assert item_of(aws, "p1")["price"] == {"N": "20"}


def test_if_match_with_the_old_etag_fails_when_delete_and_recreate_land_between_read_and_put(
    runtime: Any, aws: Any, context: Any
) -> None:
    """On b139d26 the PUT checked If-Match against v1, the product was deleted and re-created
    at v1 in between, and the PUT conditioned on "version 1" overwrote the new product."""
    old = send(context, "PUT", "/products/p1", LAMP)

    def delete_and_recreate() -> None:
        others = another_client(runtime)
        others.delete("p1", if_match=None)
        others.create(validate_product_body({**LAMP, "productId": "p1", "price": 30}, path_id=None))

    reader = racing(runtime, "METADATA", delete_and_recreate)
    result = send(
        context, "PUT", "/products/p1", {**LAMP, "price": 2}, **{"If-Match": old.header("ETag")}
    )
    assert result.status == 412, result.body
    assert reader.raced
    stored = item_of(aws, "p1")
    assert stored["price"] == {"N": "30"} and stored["version"] == {"N": "2"}


def test_a_create_that_read_the_marker_before_a_concurrent_delete_starts_above_it(
    runtime: Any, aws: Any, context: Any
) -> None:
    """The create read the marker at 1; another client then created version 2 and deleted it.
    Conditioned on the marker it read, the create fails and retries at 3. On b139d26 no
    marker was read at all and the PUT created version 1 again."""
    send(context, "PUT", "/products/p1", LAMP)
    send(context, "DELETE", "/products/p1")  # the marker holds 1

    def create_and_delete() -> None:
        others = another_client(runtime)
        others.create(validate_product_body({**LAMP, "productId": "p1"}, path_id=None))
        others.delete("p1", if_match=None)  # the marker holds 2

    reader = racing(runtime, "DELETED", create_and_delete)
    result = send(context, "PUT", "/products/p1", {**LAMP, "price": 3})
    assert result.status == 201, result.body
    assert result.json()["version"] == 3
    assert reader.raced
    assert item_of(aws, "p1")["version"] == {"N": "3"}


def test_versions_and_etags_never_repeat_across_deletes_and_recreates(runtime: Any) -> None:
    """Same content, same clock: on b139d26 every re-create was version 1 with the same ETag."""
    writes = ProductWrites(runtime, clock=lambda: "2026-12-01T00:00:00.000Z")
    body = validate_product_body({**LAMP, "productId": "p1"}, path_id=None)
    seen: list[tuple[int, str]] = []
    for _ in range(3):
        created = writes.create(body)
        replaced = writes.replace("p1", body, if_match=None, if_none_match=None)
        seen += [(created.version, created.etag), (replaced.version, replaced.etag)]
        writes.delete("p1", if_match=None)
    versions = [version for version, _ in seen]
    assert versions == sorted(set(versions)) == list(range(1, 7))
    assert len({etag for _, etag in seen}) == len(seen)


def test_the_deletion_marker_is_never_listed_or_served(
    runtime: Any, aws: Any, context: Any
) -> None:
    send(context, "PUT", "/products/p1", LAMP)
    send(context, "PUT", "/products/p2", LAMP)
    assert send(context, "DELETE", "/products/p1").status == 204
    marker = aws.get_item(TableName=TABLE, Key=marker_key("p1"), ConsistentRead=True)["Item"]
    assert marker["version"] == {"N": "1"} and "category" not in marker
    listed = call(
        list_handler.handler, api_event("GET", "/products", query={"category": "home"}), context
    )
    assert [item["productId"] for item in listed.json()["items"]] == ["p2"]
    assert send(context, "GET", "/products/p1").status == 404
    assert send(context, "DELETE", "/products/p1").status == 404


def test_if_none_match_star_on_a_deleted_product_creates_above_its_last_version(
    runtime: Any, aws: Any, context: Any
) -> None:
    send(context, "PUT", "/products/p1", LAMP)
    send(context, "PUT", "/products/p1", LAMP)
    send(context, "DELETE", "/products/p1")
    created = send(context, "PUT", "/products/p1", LAMP, **{"If-None-Match": "*"})
    assert created.status == 201 and created.json()["version"] == 3
    assert send(context, "PUT", "/products/p1", LAMP, **{"If-None-Match": "*"}).status == 412
