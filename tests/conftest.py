"""Shared fixtures: test support modules on sys.path, and real redis-server processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# redis_servers and the e2e package live here (the repo root is on the path via pyproject).
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

import redis_servers  # noqa: E402


@pytest.fixture(scope="session")
def redis_server() -> Iterator[redis_servers.RedisServer]:
    """One standalone server for the session; tests flush what they use via `redis_url`."""
    with redis_servers.standalone() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: redis_servers.RedisServer) -> str:
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[redis_servers.RedisServer]:
    """A server of the test's own, for tests that stop and start it (outages)."""
    with redis_servers.standalone() as server:
        yield server


@pytest.fixture(scope="session")
def acl_redis() -> Iterator[redis_servers.RedisServer]:
    with redis_servers.with_acl_user() as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[redis_servers.RedisCluster]:
    with redis_servers.cluster(3) as cluster:
        yield cluster
