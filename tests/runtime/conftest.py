"""Fixtures for the cache runtime tests: a moto table, counted clients, a clock, runtimes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import redis
from moto import mock_aws
from runtime_helpers import REGION, TABLE, CountingDynamo, FakeClock, base_env

from cache_constructs.contract import environment as names
from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.product.table_schema import create_table_kwargs
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import CacheRuntime, build_runtime


@pytest.fixture(scope="module")
def _moto_table() -> Iterator[Any]:
    """One moto DynamoDB with the product table (from the shared schema) per test module:
    creating a table with a GSI costs about a second, emptying it a few milliseconds. (Module
    scope keeps the mock from outliving this directory's tests.)"""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**create_table_kwargs(TABLE))
        yield client


@pytest.fixture
def dynamodb(_moto_table: Any) -> Any:
    """The moto DynamoDB client, its product table emptied for this test."""
    for page in _moto_table.get_paginator("scan").paginate(TableName=TABLE):
        for item in page["Items"]:
            _moto_table.delete_item(TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]})
    return _moto_table


@pytest.fixture
def counting_dynamo(dynamodb: Any) -> CountingDynamo:
    return CountingDynamo(dynamodb)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_runtime(
    redis_url: str, counting_dynamo: CountingDynamo, clock: FakeClock
) -> Callable[..., CacheRuntime]:
    """Build a runtime on the session redis-server and the moto table."""

    def make(
        *,
        policy: str | None = None,
        redis_client: Any = None,
        env: dict[str, str] | None = None,
        **options: Any,
    ) -> CacheRuntime:
        environ = base_env(REDIS_URL=redis_url, **(env or {}))
        if policy is not None:
            environ[names.ITEM_CACHE_POLICY] = environ[names.LIST_CACHE_POLICY] = policy
        config = load_config(environ)
        client = redis_client or redis.Redis.from_url(redis_url)
        options.setdefault("clock", clock)
        return build_runtime(
            config,
            codec=PRODUCT_CODEC,
            redis_client=client,
            dynamodb_client=counting_dynamo,
            **options,
        )

    return make
