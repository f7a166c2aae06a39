"""Ours: the cache runtime of cache_constructs, driven through its Lambda handlers.

The handlers read their configuration from the environment once, at import (cold start), as
they do on Lambda: this peer sets TABLE_NAME, both cache policies, REDIS_URL, L1_MAX_ENTRIES and
the endpoint of the bench origin, then imports them. One OursPeer per process, therefore.
Reads and writes are API Gateway REST proxy events; invalidation is a DynamoDB stream record
delivered to the stream handler, as the event source mapping would deliver it.
"""

from __future__ import annotations

import importlib
import json
import os
import uuid
from types import SimpleNamespace
from typing import Any

from bench.items import product_pk, to_item
from bench.origin_client import FAKE_CREDENTIALS
from bench.peers.base import PeerSettings, ReadResult
from cache_constructs.contract import environment as names
from cache_constructs.contract.metrics import SERVICE_NAME
from cache_constructs.product import handlers
from cache_constructs.product.table_schema import ITEM_SK


def handler_environment(settings: PeerSettings) -> dict[str, str]:
    """The environment the constructs would give the functions, pointed at the bench."""
    policy = json.dumps(settings.policy)
    return {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL_DYNAMODB": settings.origin_endpoint,
        names.TABLE_NAME: settings.table_name,
        names.ITEM_CACHE_POLICY: policy,
        names.LIST_CACHE_POLICY: policy,
        names.REDIS_URL: settings.redis_url,
        names.L1_MAX_ENTRIES: str(settings.l1_max_entries),
        names.POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        names.POWERTOOLS_METRICS_NAMESPACE: "CachedProductServiceBench",
    }


def lambda_context(function_name: str) -> Any:
    """The attributes Powertools reads from a Lambda context object."""
    return SimpleNamespace(
        function_name=function_name,
        function_version="$LATEST",
        memory_limit_in_mb=1024,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{function_name}",
        log_stream_name="bench",
        get_remaining_time_in_millis=lambda: 10_000,
    )


def rest_event(method: str, product_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An API Gateway REST proxy event for /products/{id}."""
    return {
        "resource": "/products/{id}",
        "path": f"/products/{product_id}",
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"} if body is not None else {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"id": product_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/products/{id}",
            "httpMethod": method,
            "path": f"/prod/products/{product_id}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def stream_event(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """One MODIFY record with NEW_AND_OLD_IMAGES, as DynamoDB Streams delivers it."""
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "Keys": {"PK": {"S": product_pk(new["productId"])}, "SK": {"S": ITEM_SK}},
                    "OldImage": to_item(old),
                    "NewImage": to_item(new),
                    "SequenceNumber": str(uuid.uuid4().int)[:21],
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/bench/stream/x",
            }
        ]
    }


def _header(response: dict[str, Any], name: str) -> str:
    """A response header, from `headers` or (REST proxy with multi-value) `multiValueHeaders`."""
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower() and values:
            return str(values[0])
    return ""


def _handler(handler: str) -> Any:
    """The function a handler string names (`package.module.function`), imported now."""
    module, _, name = handler.rpartition(".")
    return getattr(importlib.import_module(module), name)


class OursPeer:
    name = "ours"

    def __init__(self, settings: PeerSettings) -> None:
        self.settings = settings
        os.environ.update(handler_environment(settings))
        self.read_handler = _handler(handlers.READ_HANDLER)
        self.write_handler = _handler(handlers.WRITE_HANDLER)
        self.stream_handler = _handler(handlers.STREAM_HANDLER)
        self._redis: Any = None

    def read(self, product_id: str) -> ReadResult:
        response = self.read_handler(rest_event("GET", product_id), lambda_context("read"))
        status = int(response["statusCode"])
        version = json.loads(response["body"]).get("version") if status == 200 else None
        return ReadResult(status, version, _header(response, "X-Cache"))

    def write(self, values: dict[str, Any]) -> int:
        body = {k: values[k] for k in ("name", "category", "price", "description", "featured")}
        response = self.write_handler(
            rest_event("PUT", values["productId"], body), lambda_context("write")
        )
        if int(response["statusCode"]) not in (200, 201):
            raise RuntimeError(f"ours: PUT failed: {response['statusCode']} {response['body']}")
        return int(json.loads(response["body"])["version"])

    def invalidate(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        response = self.stream_handler(stream_event(old, new), lambda_context("invalidate"))
        failures = (response or {}).get("batchItemFailures") or []
        if failures:
            raise RuntimeError(f"ours: stream handler reported failures: {failures}")

    def stale_entry_ttl_ms(self, product_id: str) -> int | None:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.settings.redis_url)
        ttl = int(self._redis.pttl(f"pc:{{p:{product_id}}}:v"))
        return ttl if ttl > 0 else None
