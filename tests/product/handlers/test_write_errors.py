"""Write handler: every bad input is a 4xx naming the field with nothing written; lost races
are 409/412; a cache outage never fails a committed write."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from handler_env import TABLE, all_items, item_of
from handler_events import api_event, json_headers
from handler_http import HttpResult, call

from cache_constructs.product.handlers import write_handler
from cache_constructs.product.handlers.service_runtime import set_runtime

LAMP = {"name": "Lamp", "category": "home", "price": 12.5}


def send(context: Any, method: str, path: str, **kwargs: Any) -> HttpResult:
    return call(write_handler.handler, api_event(method, path, **kwargs), context)


def put_json(context: Any, product_id: str, body: Any, **headers: str) -> HttpResult:
    return send(
        context,
        "PUT",
        f"/products/{product_id}",
        body=json.dumps(body),
        headers=json_headers(**headers),
    )


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("bool price", {**LAMP, "price": True}, "price"),
    ("string price", {**LAMP, "price": "12"}, "price"),
    ("negative price", {**LAMP, "price": -0.01}, "price"),
    ("huge price", {**LAMP, "price": 1e300}, "price"),
    ("unknown field", {**LAMP, "colour": "red"}, "colour"),
    ("server field", {**LAMP, "updatedAt": "2026-01-01T00:00:00Z"}, "updatedAt"),
    ("missing name", {"category": "home", "price": 1}, "name"),
    ("missing price", {"name": "x", "category": "home"}, "price"),
    ("empty name", {**LAMP, "name": ""}, "name"),
    ("long name", {**LAMP, "name": "n" * 201}, "name"),
    ("bad category", {**LAMP, "category": "home/garden"}, "category"),
    ("long description", {**LAMP, "description": "d" * 2001}, "description"),
    ("featured not bool", {**LAMP, "featured": "yes"}, "featured"),
    ("version bool", {**LAMP, "version": True}, "version"),
    ("version float", {**LAMP, "version": 1.5}, "version"),
    ("id mismatch", {**LAMP, "productId": "other"}, "productId"),
    ("array body", [LAMP], "JSON object"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_put_bodies_name_the_field(
    runtime: Any, aws: Any, context: Any, case: str, body: Any, field: str
) -> None:
    result = put_json(context, "p1", body)
    assert result.status == 400, case
    assert result.json()["error"] == "bad_request"
    assert field in result.json()["message"]
    assert all_items(aws) == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        ('{"name": "x",', json_headers(), 400, "JSON"),
        ('{"price": NaN, "name": "x", "category": "c"}', json_headers(), 400, "NaN"),
        ('{"price": 1, "price": 2}', json_headers(), 400, "price"),
        ("", json_headers(), 400, "body"),
        (json.dumps(LAMP), {"Content-Type": "text/plain"}, 415, "Content-Type"),
        (json.dumps(LAMP), {}, 415, "Content-Type"),
        (json.dumps({**LAMP, "description": "d" * 17000}), json_headers(), 413, "body"),
    ],
)
def test_malformed_and_oversized_bodies(
    runtime: Any,
    aws: Any,
    context: Any,
    body: str,
    headers: dict[str, str],
    status: int,
    field: str,
) -> None:
    for method, path in (("POST", "/products"), ("PUT", "/products/p1")):
        result = send(context, method, path, body=body, headers=headers)
        assert result.status == status, (method, body[:40])
        assert field in result.json()["message"]
        assert result.json()["error"] in (
            "bad_request",
            "payload_too_large",
            "unsupported_media_type",
        )
    assert all_items(aws) == []


def test_base64_bodies_are_decoded(runtime: Any, aws: Any, context: Any) -> None:
    encoded = send(
        context, "PUT", "/products/p1", body=json.dumps(LAMP).encode(), headers=json_headers()
    )
    assert encoded.status == 201
    assert item_of(aws, "p1") is not None
    bad = (
        send(context, "PUT", "/products/p2", body="@@not-base64@@", headers=json_headers())
        if False
        else call(
            write_handler.handler,
            {
                **api_event("PUT", "/products/p2", body="x", headers=json_headers()),
                "body": "@@not-base64@@",
                "isBase64Encoded": True,
            },
            context,
        )
    )
    assert bad.status == 400 and "base64" in bad.json()["message"]
    big = base64.b64encode(json.dumps({**LAMP, "description": "d" * 17000}).encode()).decode()
    too_big = call(
        write_handler.handler,
        {
            **api_event("PUT", "/products/p3", headers=json_headers()),
            "body": big,
            "isBase64Encoded": True,
        },
        context,
    )
    assert too_big.status == 413
    assert item_of(aws, "p2") is None and item_of(aws, "p3") is None


@pytest.mark.parametrize("product_id", ["a" * 65, "bad.id", "a%2Fb"])
def test_invalid_path_ids(runtime: Any, aws: Any, context: Any, product_id: str) -> None:
    assert put_json(context, product_id, LAMP).json()["message"].startswith("productId")
    assert send(context, "DELETE", f"/products/{product_id}").status == 400
    assert all_items(aws) == []


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/products", "POST"),
        ("PATCH", "/products", "POST"),
        ("GET", "/products/p1", "PUT, DELETE"),
        ("POST", "/products/p1", "PUT, DELETE"),
        ("PATCH", "/products/p1", "PUT, DELETE"),
    ],
)
def test_unsupported_methods_are_405(
    runtime: Any, context: Any, method: str, path: str, allow: str
) -> None:
    result = send(context, method, path)
    assert result.status == 405
    assert result.header("Allow") == allow
    assert method in result.json()["message"]


def test_unknown_route_is_404(runtime: Any, context: Any) -> None:
    result = send(context, "POST", "/orders", body="{}", headers=json_headers())
    assert result.status == 404 and result.json()["error"] == "not_found"


def test_malformed_if_match_is_400(runtime: Any, aws: Any, context: Any) -> None:
    result = put_json(context, "p1", LAMP, **{"If-Match": "abc"})
    assert result.status == 400 and "If-Match" in result.json()["message"]
    assert all_items(aws) == []


class RacingReader:
    """A DynamoDB client whose consistent read is followed by another writer's commit,
    exactly between this request's read and its conditional write."""

    def __init__(self, client: Any, race: Any) -> None:
        self._client = client
        self._race = race

    def get_item(self, **kwargs: Any) -> Any:
        response = self._client.get_item(**kwargs)
        race, self._race = self._race, None
        if race is not None:
            race()
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def bump_out_of_band(client: Any, product_id: str) -> Any:
    def race() -> None:
        client.update_item(
            TableName=TABLE,
            Key={"PK": {"S": f"PRODUCT#{product_id}"}, "SK": {"S": "METADATA"}},
            UpdateExpression="SET #v = #v + :one",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    return race


def racing(runtime: Any, race: Any) -> None:
    reader = RacingReader(runtime.dynamodb(), race)
    runtime.dynamodb = lambda: reader


def test_a_put_that_loses_the_race_is_412(runtime: Any, aws: Any, context: Any) -> None:
    assert put_json(context, "p1", LAMP).status == 201
    racing(runtime, bump_out_of_band(aws, "p1"))
    result = put_json(context, "p1", {**LAMP, "price": 1})
    assert result.status == 412
    stored = item_of(aws, "p1")
    assert stored["version"] == {"N": "2"} and stored["price"] == {"N": "12.5"}


def test_a_create_that_loses_the_race_is_412_and_keeps_the_winner(
    runtime: Any, aws: Any, context: Any
) -> None:
    def create_first() -> None:
        aws.put_item(
            TableName=TABLE,
            Item={
                "PK": {"S": "PRODUCT#p1"},
                "SK": {"S": "METADATA"},
                "productId": {"S": "p1"},
                "name": {"S": "Winner"},
                "category": {"S": "home"},
                "price": {"N": "1"},
                "version": {"N": "1"},
                "updatedAt": {"S": "2026-11-24T00:00:00.000Z"},
            },
        )

    racing(runtime, create_first)
    result = put_json(context, "p1", LAMP)
    assert result.status == 412
    assert item_of(aws, "p1")["name"] == {"S": "Winner"}


def test_a_delete_that_loses_the_race_is_412(runtime: Any, aws: Any, context: Any) -> None:
    put_json(context, "p1", LAMP)
    racing(runtime, bump_out_of_band(aws, "p1"))
    assert send(context, "DELETE", "/products/p1").status == 412
    assert item_of(aws, "p1") is not None


def test_cache_outage_during_writes_commits_and_counts(
    install_runtime: Any,
    own_redis: Any,
    aws: Any,
    context: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_runtime(REDIS_URL=own_redis.url)
    own_redis.stop()
    created = put_json(context, "p1", LAMP)
    assert created.status == 201
    assert item_of(aws, "p1")["version"] == {"N": "1"}
    updated = put_json(context, "p1", {**LAMP, "price": 2})
    assert updated.status == 200
    deleted = send(context, "DELETE", "/products/p1")
    assert deleted.status == 204
    assert item_of(aws, "p1") is None
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert sum(sum(blob.get("CacheWriteFailure", [])) for blob in blobs) >= 3
    own_redis.start()


def test_unexpected_errors_are_a_json_500_without_a_stack_trace(
    runtime: Any, aws: Any, context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Any:
        raise RuntimeError("secret internals")

    runtime.write_client = broken
    result = put_json(context, "p1", LAMP)
    assert result.status == 500
    assert result.json() == {"error": "internal_error", "message": "internal error"}
    assert "secret" not in result.body and "Traceback" not in result.body
    assert "secret internals" in caplog.text and "Traceback" in caplog.text


def test_a_broken_event_is_a_json_500(runtime: Any, context: Any) -> None:
    response = write_handler.handler({"not": "an api event"}, context)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"] == "internal_error"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TABLE_NAME": None}, "TABLE_NAME"),
        ({"LIST_CACHE_POLICY": '{"name": 1}'}, "LIST_CACHE_POLICY"),
    ],
)
@pytest.mark.parametrize("path", ["/products/p1", "/nowhere"])
def test_bad_configuration_is_a_500_naming_the_variable_on_any_route(
    runtime: Any,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    env: dict[str, str | None],
    variable: str,
    path: str,
) -> None:
    set_runtime(None)
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    result = send(context, "PUT", path, body=json.dumps(LAMP), headers=json_headers())
    assert result.status == 500
    assert result.json() == {"error": "internal_error", "message": "internal error"}
    assert variable in caplog.text
    set_runtime(None)
