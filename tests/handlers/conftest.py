"""Handler fixtures: moto DynamoDB (table from product_table_schema), a real redis-server,
and the cache runtime built from a real environment and injected with set_runtime."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws


def _load_table_schema() -> ModuleType:
    # By path: importing the cache_constructs package would start the CDK (jsii, node) for
    # every handler test; the schema module itself is pure Python.
    path = Path(__file__).resolve().parents[2] / "cache_constructs" / "product_table_schema.py"
    spec = importlib.util.spec_from_file_location("product_table_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


table_schema = _load_table_schema()
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


@pytest.fixture(scope="module")
def moto_table() -> Iterator[Any]:
    """moto with the product table created from the shared schema, once per test module."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }.items():
            patch.setenv(name, value)
        with mock_aws():
            client = boto3.client("dynamodb", region_name=REGION)
            client.create_table(**table_schema.create_table_kwargs(TABLE))
            yield client


@pytest.fixture
def aws(moto_table: Any) -> Any:
    """The DynamoDB client of an empty product table."""
    for item in all_items(moto_table):
        moto_table.delete_item(TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]})
    return moto_table


@pytest.fixture
def install_runtime(
    aws: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """Build a runtime from `runtime_env(...)` (+ overrides) and inject it into the handlers."""
    from product_cache.config import load_config
    from product_cache.runtime import build_runtime, set_runtime

    def install(**overrides: str) -> Any:
        env = runtime_env(redis_url, **overrides)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        runtime = build_runtime(load_config(env), dynamodb_client=aws)
        set_runtime(runtime)
        return runtime

    yield install
    set_runtime(None)


@pytest.fixture
def runtime(install_runtime: Callable[..., Any]) -> Any:
    return install_runtime()


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


def item_of(client: Any, product_id: str) -> dict[str, Any] | None:
    """The raw table item of a product (strongly consistent)."""
    key = {"PK": {"S": f"PRODUCT#{product_id}"}, "SK": {"S": "METADATA"}}
    return client.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")


def all_items(client: Any) -> list[dict[str, Any]]:
    return client.scan(TableName=TABLE)["Items"]
