"""The model's `SCRIPT_COMMANDS`, counted on a real redis-server running the runtime's scripts.

Each case sets the keys up for the path the model prices, resets the server's statistics,
runs one script through the runtime's L2Store and counts the commands the script ran (INFO
commandstats counts the commands a script calls, beside the EVALSHA itself). Where a script
may skip a PEXPIRE (the fence already lives long enough), the case makes it run: the model
counts the most a script runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis_servers

from cache_constructs.contract.keys import generation_key, item_keys, page_keys
from cache_constructs.cost.model import SCRIPT_COMMANDS
from cache_constructs.runtime import envelope
from cache_constructs.runtime.breaker import CircuitBreaker
from cache_constructs.runtime.codec import Rendered
from cache_constructs.runtime.l2_store import LANDED, L2Store

KEYS = item_keys("counted")
SEED = 7_000_000_000_001
LEASE_FENCE_MS = 60_000
LONGER_FENCE_MS = 600_000  # what a fill or write asks for: the fence outlives the value
NOT_THE_SCRIPTS = {"evalsha", "eval", "script", "info", "config"}


@pytest.fixture(scope="module")
def counted_server() -> Iterator[redis_servers.RedisServer]:
    """A server of this module's own: the session's shared one also serves background
    threads of other tests (tracking health checks, lease renewals), whose commands would
    be counted with the script's."""
    with redis_servers.standalone() as server:
        yield server


@pytest.fixture
def client(counted_server: redis_servers.RedisServer) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(counted_server.url) as client:
        client.flushall()
        yield client


@pytest.fixture
def store(client: redis.Redis) -> L2Store:
    return L2Store(lambda: client, CircuitBreaker("commands"))


def commands_run(client: redis.Redis, action: Callable[[], Any]) -> tuple[int, Any]:
    """The commands `action`'s one script ran (not counting the EVALSHA), and its result."""
    client.config_resetstat()
    result = action()
    stats = client.info("commandstats")
    ran = sum(
        entry["calls"]
        for name, entry in stats.items()
        if name.removeprefix("cmdstat_").split("|")[0] not in NOT_THE_SCRIPTS
    )
    return ran, result


def env(version: int) -> bytes:
    return envelope.encode(Rendered(b"v%d" % version, '"e"', version), 1)


def take_lease(store: L2Store) -> Any:
    """lease.lua as a miss runs it: it makes the fence when there is none."""
    return store.lease(KEYS, "t", 5000, epoch_seed=SEED, fence_ttl_ms=LEASE_FENCE_MS)


def fill(store: L2Store, version: int, *, consistent: bool) -> int:
    return store.fill(
        KEYS,
        version=version,
        epoch=SEED,
        envelope=env(version),
        ttl_ms=30_000,
        token="t",
        consistent=consistent,
        fence_ttl_ms=LONGER_FENCE_MS,
    )


def test_a_miss_on_a_new_fence_then_its_strongly_consistent_fill(
    store: L2Store, client: redis.Redis
) -> None:
    ran, leased = commands_run(client, lambda: take_lease(store))
    assert leased.acquired and leased.epoch == SEED
    assert ran == SCRIPT_COMMANDS["lease_cold"]
    ran, landed = commands_run(client, lambda: fill(store, 1, consistent=True))
    assert landed == LANDED
    assert ran == SCRIPT_COMMANDS["fill_consistent"]


def test_a_miss_on_an_anchored_fence_then_its_eventually_consistent_fill(
    store: L2Store, client: redis.Redis
) -> None:
    take_lease(store)
    assert fill(store, 1, consistent=True) == LANDED  # anchors the fence at version 1
    client.delete(KEYS.value)  # the value expired; the fence lives on
    ran, leased = commands_run(client, lambda: take_lease(store))
    assert leased.acquired and leased.committed == 1
    assert ran == SCRIPT_COMMANDS["lease_anchored"]
    # The first fill set the fence's TTL to exactly what this fill asks for; within the same
    # millisecond its PTTL has not dropped yet and the PEXPIRE would be skipped.
    client.pexpire(KEYS.fence, LEASE_FENCE_MS)
    ran, landed = commands_run(client, lambda: fill(store, 1, consistent=False))
    assert landed == LANDED
    assert ran == SCRIPT_COMMANDS["fill_eventual"]


def test_a_write_through_then_its_stream_records_invalidation(
    store: L2Store, client: redis.Redis
) -> None:
    take_lease(store)
    assert fill(store, 1, consistent=True) == LANDED
    client.pexpire(KEYS.fence, LEASE_FENCE_MS)  # so the write's PEXPIRE runs

    def write() -> int:
        return store.write_through(
            KEYS,
            version=2,
            envelope=env(2),
            ttl_ms=30_000,
            epoch_seed=SEED,
            fence_ttl_ms=LONGER_FENCE_MS,
        )

    ran, landed = commands_run(client, write)
    assert landed == LANDED
    assert ran == SCRIPT_COMMANDS["write_through"]
    client.pexpire(KEYS.fence, LEASE_FENCE_MS)

    def invalidate() -> bool:
        return store.invalidate(
            KEYS, stale_through=1, epoch_seed=SEED, fence_ttl_ms=LONGER_FENCE_MS
        )

    ran, deleted = commands_run(client, invalidate)
    assert deleted is False  # version 2 stays cached
    assert ran == SCRIPT_COMMANDS["invalidate"]


def test_a_generation_bump_and_a_page_miss(store: L2Store, client: redis.Redis) -> None:
    generation = generation_key("books")
    ran, current = commands_run(client, lambda: store.bump_generation(generation, 5))
    assert current == 5
    assert ran == SCRIPT_COMMANDS["bump_generation"]
    ran, current = commands_run(client, lambda: store.bump_generation(generation, 5))
    assert current == 6  # INCR this time
    assert ran == SCRIPT_COMMANDS["bump_generation"]
    page = page_keys("books", 6, 20, None)
    ran, leased = commands_run(client, lambda: store.page_lease(generation, page, 6, "t", 5000))
    assert leased.acquired and leased.value is None
    assert ran == SCRIPT_COMMANDS["page_lease"]

    def page_fill() -> bool:
        return store.page_fill(
            generation, page, generation=6, envelope=b"page", ttl_ms=30_000, token="t"
        )

    ran, landed = commands_run(client, page_fill)
    assert landed is True
    assert ran == SCRIPT_COMMANDS["page_fill"]
