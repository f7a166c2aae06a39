"""HTTP request -> API Gateway REST proxy event, proxy result -> HTTP response, routing."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from cache_constructs.product.routes import PRODUCT_ROUTES
from local_stack.apigw_events import (
    HttpRequest,
    MalformedProxyResponse,
    build_proxy_event,
    proxy_response,
)
from local_stack.http_front import ApiFront, match_route


def _request(**overrides: Any) -> HttpRequest:
    fields: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/products/abc%2D1",
        "query": "category=toys&tag=a&tag=b&empty=",
        "headers": [("Accept", "application/json"), ("X-Multi", "1"), ("X-Multi", "2")],
        "body": b"",
        "source_ip": "127.0.0.9",
        "host": "localhost",
        "port": 8080,
    }
    fields.update(overrides)
    return HttpRequest(**fields)


def test_event_has_the_rest_proxy_shape() -> None:
    event = build_proxy_event(
        _request(),
        resource="/products/{id}",
        path_parameters={"id": "abc-1"},
        stage="local",
        request_id="rid-1",
    )

    assert event["resource"] == "/products/{id}"
    assert event["path"] == "/products/abc-1"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "abc-1"}
    assert event["queryStringParameters"] == {"category": "toys", "tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.9"
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == "rid-1"
    assert context["stage"] == "local"
    assert context["resourcePath"] == "/products/{id}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/products/abc-1"
    assert context["identity"]["sourceIp"] == "127.0.0.9"
    assert isinstance(context["requestTimeEpoch"], int)


def test_no_query_string_means_null_maps() -> None:
    event = build_proxy_event(
        _request(query=""), resource="/products", path_parameters={}, stage="local"
    )
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None


def test_json_body_is_text_and_binary_body_is_base64() -> None:
    text = build_proxy_event(
        _request(
            method="POST", headers=[("Content-Type", "application/json")], body=b'{"a": "\xc3\xa9"}'
        ),
        resource="/products",
        path_parameters={},
        stage="local",
    )
    assert text["body"] == '{"a": "é"}' and text["isBase64Encoded"] is False

    payload = bytes(range(256))
    binary = build_proxy_event(
        _request(method="POST", headers=[("Content-Type", "image/png")], body=payload),
        resource="/products",
        path_parameters={},
        stage="local",
    )
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == payload


def test_proxy_response_merges_headers_and_decodes_base64() -> None:
    response = proxy_response(
        {
            "statusCode": 200,
            "headers": {"ETag": '"abc"'},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 200
    assert response.body == b"\x00\x01"
    assert response.header("etag") == '"abc"'
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]


def test_304_has_no_body() -> None:
    assert proxy_response({"statusCode": 304, "body": "ignored"}).body == b""


@pytest.mark.parametrize(
    "result",
    [None, "text", {"body": "x"}, {"statusCode": "200"}, {"statusCode": 200, "body": 5}],
)
def test_malformed_results_are_refused(result: Any) -> None:
    with pytest.raises(MalformedProxyResponse):
        proxy_response(result)


def test_routes_match_the_route_table() -> None:
    found = match_route(PRODUCT_ROUTES, "GET", "/products/p%201")
    assert not isinstance(found, list) and found is not None
    assert found.route.function == "read" and found.path_parameters == {"id": "p 1"}
    assert match_route(PRODUCT_ROUTES, "PATCH", "/products/x") == ["DELETE", "GET", "PUT"]
    assert match_route(PRODUCT_ROUTES, "GET", "/nope") is None


def test_front_answers_gateway_errors_without_invoking() -> None:
    calls: list[str] = []
    front = ApiFront(lambda function, event, request_id: calls.append(function))

    assert front.handle(_request(raw_path="/nope")).status == 404
    not_allowed = front.handle(_request(method="PATCH"))
    assert not_allowed.status == 405 and not_allowed.header("Allow") == "DELETE, GET, PUT"
    missing = front.handle(_request(raw_path="/products", query="limit=5"))
    assert missing.status == 400 and b"category" in missing.body
    assert calls == []


def test_function_failure_is_a_502() -> None:
    from local_stack.lambda_worker import InvocationError

    def failing(function: str, event: dict[str, Any], request_id: str) -> Any:
        raise InvocationError("ValueError", "boom")

    response = ApiFront(failing).handle(_request())
    assert response.status == 502
    assert response.body == b'{"message": "Internal server error"}'
