"""Shared pieces of the product tests: table, policy, environment, Lambda context, items.

`table_schema` is re-exported for the fixtures (the same module the construct builds from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cache_constructs.contract.policy import CachePolicy
from cache_constructs.product import table_schema

TABLE = "products"
REGION = "eu-west-1"
POLICY = CachePolicy.SEMI_STATIC.without_layers("api").with_changes(
    l1_ttl_seconds=5,
    l2_ttl_seconds=300,
    dax_ttl_seconds=60,
    swr_seconds=30,
    negative_ttl_seconds=10,
    client_ttl_seconds=60,
    jitter=0.0,
)
"""The policy of both caches in the handler tests (semi-static, shorter TTLs, no jitter)."""


@dataclass
class LambdaContext:
    """The attributes Powertools reads from the Lambda context."""

    function_name: str = "product-service-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:product-service-fn"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    remaining_ms: int = 10_000
    """What `get_remaining_time_in_millis` answers (fixed: the tests' clock does not run it)."""

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def runtime_env(redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment the constructs give a function (plus REDIS_URL, as the local stack)."""
    env = {
        "TABLE_NAME": TABLE,
        "ITEM_CACHE_POLICY": POLICY.to_runtime_json(),
        "LIST_CACHE_POLICY": POLICY.to_runtime_json(),
        "REDIS_URL": redis_url,
        "POWERTOOLS_SERVICE_NAME": "product-service",
        "POWERTOOLS_METRICS_NAMESPACE": "CachedProductService",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    env.update(overrides)
    return env


def item_of(client: Any, product_id: str) -> dict[str, Any] | None:
    """The raw table item of a product (strongly consistent)."""
    key = {"PK": {"S": f"PRODUCT#{product_id}"}, "SK": {"S": "METADATA"}}
    return client.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")


def all_items(client: Any) -> list[dict[str, Any]]:
    return client.scan(TableName=TABLE)["Items"]


__all__ = [
    "POLICY",
    "REGION",
    "TABLE",
    "LambdaContext",
    "all_items",
    "item_of",
    "runtime_env",
    "table_schema",
]
