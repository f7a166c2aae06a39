"""The local stack for the end-to-end tests: one subprocess per session, its own Redis.

The stack runs with a 1 s L1 TTL (`--l1-ttl 1`) so "within max_staleness" waits stay short,
and one stream retry so poison records reach the dead-letter file quickly. The Redis is a
server of the tests' own (passed as REDIS_URL), so a test can stop and start it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis_servers

from e2e.stack_process import StackProcess, running_stack


@pytest.fixture(scope="session")
def stack_redis() -> Iterator[redis_servers.RedisServer]:
    with redis_servers.standalone() as server:
        yield server


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, stack_redis: redis_servers.RedisServer
) -> Iterator[StackProcess]:
    state_dir: Path = tmp_path_factory.mktemp("e2e") / "state"
    state_dir.mkdir()
    with running_stack(
        state_dir,
        "--redis-url", stack_redis.url,
        "--l1-ttl", "1",
        "--stream-max-retries", "1",
        "--seed", "12",
    ) as process:  # fmt: skip
        yield process
