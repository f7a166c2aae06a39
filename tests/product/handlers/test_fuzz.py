"""Hypothesis: whatever a client sends, the API answers < 500, and a 4xx writes nothing."""

from __future__ import annotations

import json
from typing import Any

import hypothesis
from handler_env import all_items
from handler_events import api_event
from handler_http import call
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_constructs.product.handlers import list_handler, read_handler, write_handler

FIELDS = ["productId", "name", "category", "price", "description", "featured", "version"]
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
valid_ish = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=5),
        "category": st.sampled_from(["home", "home", "a b", ""]),
        "price": st.integers(0, 100)
        | st.floats(min_value=0, max_value=1e6)
        | st.floats(min_value=0, max_value=1e20),
    },
    optional={
        "productId": st.sampled_from(["p1", "p2"]) | json_values,
        "description": st.text(max_size=20) | json_values,
        "featured": st.booleans() | json_values,
        "version": st.integers(0, 3) | json_values,
    },
)
bodies = (
    valid_ish.map(json.dumps)
    | valid_ish.map(json.dumps)
    | valid_ish.map(json.dumps)
    | st.dictionaries(st.sampled_from([*FIELDS, "extra"]), json_values).map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=60)
    | st.sampled_from(["", "{", "[]", '{"price": NaN}', "\ud800", '{"name": "\\ud800"}'])
)
ids = (
    st.sampled_from(["p1", "p2"])
    | st.text(max_size=70)
    | st.sampled_from(["p-2", "a" * 64, "a" * 65, "é", "a/b"])
)
header_values = st.text(max_size=40) | st.sampled_from(
    [
        "*",
        '"abc"',
        'W/"abc"',
        '"a", "b"',
        "application/json",
        "text/plain",
        "application/json; charset=latin-1",
    ]
)
header_lines = header_values | st.lists(header_values, min_size=1, max_size=3)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.just("application/json") | header_lines,
        "If-Match": header_lines,
        "If-None-Match": header_lines,
        "content-type": header_lines,
        "X-Other": header_lines,
    },
)
json_headers = st.fixed_dictionaries({"Content-Type": st.just("application/json")}) | headers
queries = st.dictionaries(
    st.sampled_from(["category", "limit", "cursor", "other"]),
    st.text(max_size=30)
    | st.lists(st.text(max_size=20), min_size=1, max_size=3)
    | st.sampled_from(["home", "20", "0", "101", "-1", "eyJwIjoiYSJ9"]),
    max_size=4,
)


def _path(product_id: str) -> str:
    return f"/products/{product_id}"


@SETTINGS
@given(
    route=st.sampled_from([("POST", True), ("PUT", False), ("PUT", False), ("DELETE", False)])
    | st.tuples(st.sampled_from(["POST", "PUT", "DELETE", "PATCH", "GET"]), st.booleans()),
    product_id=ids,
    body=bodies,
    base64_body=st.booleans(),
    request_headers=json_headers,
    query=queries,
)
def test_write_handler_never_fails_and_4xx_writes_nothing(
    runtime: Any,
    aws: Any,
    context: Any,
    route: tuple[str, bool],
    product_id: str,
    body: str,
    base64_body: bool,
    request_headers: dict[str, Any],
    query: dict[str, Any],
) -> None:
    method, collection = route
    before = all_items(aws)
    request = api_event(
        method,
        "/products" if collection else _path(product_id),
        body=body,
        headers=request_headers,
        query=query,
        base64_body=base64_body,
    )
    result = call(write_handler.handler, request, context)
    hypothesis.event(f"{method} -> {result.status}")
    assert result.status < 500, result.body
    if result.status >= 400:
        assert all_items(aws) == before
        assert set(result.json()) == {"error", "message"}


@SETTINGS
@given(product_id=ids, request_headers=headers, query=queries)
def test_read_handler_never_fails(
    runtime: Any,
    context: Any,
    product_id: str,
    request_headers: dict[str, Any],
    query: dict[str, Any],
) -> None:
    event = api_event("GET", _path(product_id), headers=request_headers, query=query)
    result = call(read_handler.handler, event, context)
    assert result.status < 500, result.body


@SETTINGS
@given(request_headers=headers, query=queries)
def test_list_handler_never_fails(
    runtime: Any, context: Any, request_headers: dict[str, Any], query: dict[str, Any]
) -> None:
    event = api_event("GET", "/products", headers=request_headers, query=query)
    result = call(list_handler.handler, event, context)
    assert result.status < 500, result.body


well_formed_bodies = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=10),
        "category": st.sampled_from(["home", "garden"]),
        "price": st.integers(0, 10**6) | st.floats(min_value=0, max_value=1e6),
    },
    optional={
        "productId": st.sampled_from(["p1", "p2"]),
        "description": st.text(max_size=20),
        "featured": st.booleans(),
        "version": st.integers(0, 3),
    },
)


@settings(SETTINGS, max_examples=60)
@given(
    method=st.sampled_from(["POST", "PUT", "PUT", "DELETE"]),
    product_id=st.sampled_from(["p1", "p2"]),
    body=well_formed_bodies,
    condition=st.fixed_dictionaries(
        {}, optional={"If-Match": st.sampled_from(["*", '"0"']), "If-None-Match": st.just("*")}
    ),
)
def test_well_formed_writes_race_each_other_without_5xx(
    runtime: Any,
    aws: Any,
    context: Any,
    method: str,
    product_id: str,
    body: dict[str, Any],
    condition: dict[str, str],
) -> None:
    """Mostly valid writes on two ids: creates, replaces, deletes, conflicts, preconditions."""
    before = all_items(aws)
    path = "/products" if method == "POST" else _path(product_id)
    if method == "PUT":
        body = {key: value for key, value in body.items() if key != "productId"}
    request = api_event(
        method,
        path,
        body=None if method == "DELETE" else json.dumps(body),
        headers={"Content-Type": "application/json", **condition},
    )
    result = call(write_handler.handler, request, context)
    hypothesis.event(f"{method} -> {result.status}")
    assert result.status in {200, 201, 204, 400, 404, 409, 412}, result.body
    if result.status >= 400:
        assert all_items(aws) == before
    else:
        assert all_items(aws) != before
