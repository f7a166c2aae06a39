"""Hypothesis: whatever a client sends, the API answers < 500, and a 4xx writes nothing."""

from __future__ import annotations

import json
from typing import Any

from handler_env import all_items
from handler_events import api_event
from handler_http import call
from handlers import list_handler, read_handler, write_handler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIELDS = ["productId", "name", "category", "price", "description", "featured", "version"]
SETTINGS = settings(
    max_examples=120,
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
        "category": st.sampled_from(["home", "a b", ""]),
        "price": st.integers(0, 100) | st.floats(min_value=0, max_value=1e20),
    },
    optional={field: json_values for field in FIELDS if field not in ("name", "category", "price")},
)
bodies = (
    valid_ish.map(json.dumps)
    | st.dictionaries(st.sampled_from([*FIELDS, "extra"]), json_values).map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=60)
    | st.sampled_from(["", "{", "[]", '{"price": NaN}', "\ud800", '{"name": "\\ud800"}'])
)
ids = st.text(max_size=70) | st.sampled_from(["p1", "p-2", "a" * 64, "a" * 65, "é", "a/b"])
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
headers = st.dictionaries(
    st.sampled_from(["Content-Type", "If-Match", "If-None-Match", "content-type", "X-Other"]),
    header_values | st.lists(header_values, min_size=1, max_size=3),
    max_size=4,
)
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
    method=st.sampled_from(["POST", "PUT", "DELETE", "PATCH", "GET"]),
    product_id=ids,
    body=bodies,
    base64_body=st.booleans(),
    request_headers=headers,
    query=queries,
    collection=st.booleans(),
)
def test_write_handler_never_fails_and_4xx_writes_nothing(
    runtime: Any,
    aws: Any,
    context: Any,
    method: str,
    product_id: str,
    body: str,
    base64_body: bool,
    request_headers: dict[str, Any],
    query: dict[str, Any],
    collection: bool,
) -> None:
    before = all_items(aws)
    event = api_event(
        method,
        "/products" if collection else _path(product_id),
        body=body,
        headers=request_headers,
        query=query,
        base64_body=base64_body,
    )
    result = call(write_handler.handler, event, context)
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
