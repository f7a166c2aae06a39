"""Shared pieces of the handler tests: table, policy, environment, Lambda context, items."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any


def load_pure_module(name: str) -> ModuleType:
    """A pure-Python module of cache_constructs, loaded by path.

    Importing the cache_constructs package would start the CDK (jsii, node) for every
    handler test; the shared definition modules themselves import nothing of it.
    """
    path = Path(__file__).resolve().parents[2] / "cache_constructs" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_pure_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


table_schema = load_pure_module("product_table_schema")
TABLE = "products"
REGION = "eu-west-1"
POLICY = {
    "name": "semi-static",
    "l1_ttl": 5,
    "l2_ttl": 300,
    "dax_ttl": 60,
    "api_ttl": 0,
    "swr": 30,
    "negative_ttl": 10,
    "jitter": 0.0,
    "cache_control": "public, max-age=60, stale-while-revalidate=30",
    "layers": ["client", "l1", "l2", "dax"],
}


@dataclass
class LambdaContext:
    """The attributes Powertools reads from the Lambda context."""

    function_name: str = "product-service-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:product-service-fn"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def runtime_env(redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment the constructs give a function (plus REDIS_URL, as the local stack)."""
    env = {
        "TABLE_NAME": TABLE,
        "CACHE_POLICY": json.dumps(POLICY),
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
