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


PACKAGED_FILES = ["pyproject.toml", "README.md", "cache_constructs"]
"""What the distribution is built from (a copy, so the checkout gets no build leftovers)."""


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The distribution's wheel, built once per session from a copy of the project."""
    import shutil
    import subprocess

    source = tmp_path_factory.mktemp("source")
    for name in PACKAGED_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(dist)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("cache_constructs-*.whl")
    return built
