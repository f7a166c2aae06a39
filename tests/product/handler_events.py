"""Realistic Lambda events: API Gateway REST proxy events and DynamoDB Stream records."""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Mapping
from typing import Any

_sequence = itertools.count(100_000_000_000_000_000_000)

STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/products/stream/2026-11-24T00:00:00.000"


def api_event(
    method: str,
    path: str,
    *,
    body: str | bytes | None = None,
    headers: Mapping[str, str | list[str]] | None = None,
    query: Mapping[str, str | list[str]] | None = None,
    base64_body: bool = False,
    stage: str = "prod",
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event as the `prod` stage sends it to Lambda."""
    multi_headers: dict[str, list[str]] = {"Host": ["api.example.com"], "Accept": ["*/*"]}
    for name, value in (headers or {}).items():
        multi_headers[name] = list(value) if isinstance(value, list) else [value]
    multi_query = {
        name: list(value) if isinstance(value, list) else [value]
        for name, value in (query or {}).items()
    }
    parts = path.strip("/").split("/")
    resource = "/products/{id}" if len(parts) == 2 and parts[0] == "products" else path
    path_parameters = {"id": parts[1]} if resource == "/products/{id}" else None
    if isinstance(body, bytes) or (body is not None and base64_body):
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        body = base64.b64encode(raw).decode()
        base64_body = True
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        # API Gateway keeps the last value in the single-value maps.
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "x-" + request_id[:8],
            "requestTime": "24/Nov/2026:02:10:00 +0000",
            "path": f"/{stage}{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "api",
            "requestTimeEpoch": 1795486200000,
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "domainName": "api.example.com",
            "apiId": "a1b2c3d4e5",
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }


def json_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", **extra}


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": value}


def image(product_id: str, version: int, category: str = "home", **extra: Any) -> dict[str, Any]:
    """A product item in DynamoDB JSON, as the stream carries it."""
    item = {
        "PK": f"PRODUCT#{product_id}",
        "SK": "METADATA",
        "productId": product_id,
        "name": "Lamp",
        "category": category,
        "price": 12.5,
        "version": version,
        "updatedAt": "2026-11-24T02:10:00Z",
        **extra,
    }
    return {name: _attribute(value) for name, value in item.items()}


def stream_record(
    event_name: str,
    *,
    keys: dict[str, Any],
    new: dict[str, Any] | None = None,
    old: dict[str, Any] | None = None,
    ttl: bool = False,
) -> dict[str, Any]:
    """One DynamoDB Streams record (NEW_AND_OLD_IMAGES) with a fresh sequence number."""
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795486200,
        "Keys": keys,
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 256,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        stream["NewImage"] = new
    if old is not None:
        stream["OldImage"] = old
    record: dict[str, Any] = {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": stream,
        "eventSourceARN": STREAM_ARN,
    }
    if ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def product_keys(product_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"PRODUCT#{product_id}"}, "SK": {"S": "METADATA"}}


def insert(product_id: str, version: int = 1, category: str = "home") -> dict[str, Any]:
    return stream_record(
        "INSERT", keys=product_keys(product_id), new=image(product_id, version, category)
    )


def modify(
    product_id: str, version: int, old_category: str = "home", new_category: str = "home"
) -> dict[str, Any]:
    return stream_record(
        "MODIFY",
        keys=product_keys(product_id),
        old=image(product_id, version - 1, old_category),
        new=image(product_id, version, new_category),
    )


def remove(
    product_id: str, version: int, category: str = "home", ttl: bool = False
) -> dict[str, Any]:
    return stream_record(
        "REMOVE", keys=product_keys(product_id), old=image(product_id, version, category), ttl=ttl
    )


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}
