"""Fixtures for the cache runtime tests: a moto table, counted clients, a clock, runtimes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import redis
from moto import mock_aws
from product_cache.config import load_config
from product_cache.runtime import CacheRuntime, build_runtime
from runtime_helpers import REGION, TABLE, CountingDynamo, FakeClock, base_env

from cache_constructs.product_table_schema import create_table_kwargs


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A moto DynamoDB client with the product table created from the shared schema."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**create_table_kwargs(TABLE))
        yield client


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
            environ["CACHE_POLICY"] = policy
        config = load_config(environ)
        client = redis_client or redis.Redis.from_url(redis_url)
        options.setdefault("clock", clock)
        return build_runtime(
            config, redis_client=client, dynamodb_client=counting_dynamo, **options
        )

    return make
