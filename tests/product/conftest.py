"""Handler fixtures: moto DynamoDB (table from product_table_schema), a real redis-server,
and the cache runtime built from a real environment and injected with set_runtime."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from handler_env import REGION, TABLE, LambdaContext, all_items, runtime_env, table_schema
from moto import mock_aws


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
    from cache_constructs.product.domain.codec import PRODUCT_CODEC
    from cache_constructs.product.handlers.service_runtime import set_runtime
    from cache_constructs.runtime.config import load_config
    from cache_constructs.runtime.runtime import build_runtime

    def install(**overrides: str) -> Any:
        env = runtime_env(redis_url, **overrides)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        runtime = build_runtime(load_config(env), codec=PRODUCT_CODEC, dynamodb_client=aws)
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


@pytest.fixture(autouse=True)
def _quiet_empty_metric_flushes() -> Iterator[None]:
    # A 4xx records no metric; Powertools warns on every such flush. Expected here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        yield
