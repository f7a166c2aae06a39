"""The runtime as the Valkey user the constructs create (DEFAULT_ACCESS_STRING), on a real
server: every path it takes, L1's client tracking and its TOUCHes included, is allowed.
An access string without them would not fail loudly: tracking refused only bounds L1 by its
TTL, a refused TOUCH only costs warmth. So this test looks at what the server refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis_servers
from runtime_helpers import put_product
from test_connections import exercise_every_script
from test_tracking import (
    ARRIVAL_TIMEOUT,
    arrived,
    one_product_per_primary,
    runtime_on,
    warm,
    write,
)

from cache_constructs.runtime.tracking import TRACKING
from cache_constructs.valkey_cache.access import DEFAULT_ACCESS_STRING


def app_url(host: str, port: int) -> str:
    """Where the runtime logs in as `app`, the user `set_app_user` made."""
    return f"redis://app:app-password@{host}:{port}/0"


def set_app_user(admin: redis.Redis) -> None:
    redis_servers.set_acl_user(admin, "app", "app-password", DEFAULT_ACCESS_STRING)


@pytest.fixture
def app_server() -> Iterator[tuple[redis_servers.RedisServer, redis.Redis]]:
    """A server with the construct's runtime user `app` (the default user for the admin)."""
    with redis_servers.standalone() as server:
        admin = redis.Redis(host="127.0.0.1", port=server.port)
        set_app_user(admin)
        yield server, admin
        admin.close()


def refused(admin: redis.Redis) -> dict[str, int]:
    """Commands the server refused (ACL or otherwise), by name."""
    stats = admin.info("commandstats")
    return {
        name: entry["rejected_calls"]
        for name, entry in stats.items()
        if entry.get("rejected_calls", 0) > 0
    }


def test_the_construct_user_runs_every_path_with_a_coherent_l1(
    app_server: Any, counting_dynamo: Any, clock: Any
) -> None:
    server, admin = app_server
    admin.config_resetstat()
    url = app_url("127.0.0.1", server.port)
    reader, writer = (runtime_on(url, counting_dynamo, clock) for _ in range(2))
    exercise_every_script(writer, counting_dynamo, f"app-{uuid.uuid4().hex[:8]}", "app")

    put_product(counting_dynamo, "coherent", 1)
    warm(reader, "coherent", 1)
    assert reader.tracker is not None and reader.tracker.state == TRACKING
    assert reader.tracker.connected_primaries() == [f"127.0.0.1:{server.port}"]
    write(writer, counting_dynamo, "coherent", 2)
    assert arrived(reader)
    assert reader.items.read("coherent").version == 2  # the push reached the app user's L1

    put_product(counting_dynamo, "next", 1)
    reader.items.read("next")
    reader.items.read("next")  # a tracked GET: it carries the L1 hit's TOUCH
    assert int(admin.info("commandstats")["cmdstat_touch"]["calls"]) >= 1
    assert refused(admin) == {}
    assert admin.acl_log() == []  # no permission denied, of a command or of a key


def test_the_construct_user_runs_a_cluster_with_a_coherent_l1(
    redis_cluster: Any, counting_dynamo: Any, clock: Any
) -> None:
    """Cluster mode adds slot discovery and a tracking connection per primary."""
    admins = [redis.Redis(host=host, port=port) for host, port in redis_cluster.startup_nodes]
    url = app_url(*redis_cluster.startup_nodes[0])
    try:
        for admin in admins:
            set_app_user(admin)
            admin.config_resetstat()
            admin.acl_log_reset()
        reader, writer = (
            runtime_on(url, counting_dynamo, clock, REDIS_CLUSTER="true") for _ in range(2)
        )
        assert reader.config.redis.cluster
        owners = one_product_per_primary(reader, 3)
        for product_id in owners.values():
            put_product(counting_dynamo, product_id, 1)
            warm(reader, product_id, 1)
        assert reader.tracker is not None and reader.tracker.state == TRACKING
        assert reader.tracker.connected_primaries() == sorted(owners)
        for product_id in owners.values():
            write(writer, counting_dynamo, product_id, 2)
            while reader.items.read(product_id).version != 2:
                assert reader.tracker.pending(ARRIVAL_TIMEOUT)
        for admin in admins:
            assert refused(admin) == {}
            assert admin.acl_log() == []
    finally:
        for admin in admins:
            admin.execute_command("ACL", "DELUSER", "app")
            admin.close()
