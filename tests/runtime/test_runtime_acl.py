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
from runtime_helpers import base_env, put_product
from test_connections import exercise_every_script
from test_tracking import ARRIVAL_TIMEOUT, arrived, one_product_per_primary, warm, write

from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import CacheRuntime, build_runtime
from cache_constructs.runtime.tracking import TRACKING
from cache_constructs.valkey_cache.access import DEFAULT_ACCESS_STRING

# Valkey 7.2+ (ElastiCache's minimum) knows it; this machine's Redis 7.0 does not.
UNKNOWN_TO_REDIS_7_0 = "+client|setinfo"


@pytest.fixture
def app_server() -> Iterator[tuple[redis_servers.RedisServer, redis.Redis]]:
    """A server with the construct's runtime user `app` (the default user for the admin)."""
    with redis_servers.standalone() as server:
        admin = redis.Redis(host="127.0.0.1", port=server.port)
        words = [w for w in DEFAULT_ACCESS_STRING.split() if w != UNKNOWN_TO_REDIS_7_0]
        admin.execute_command("ACL", "SETUSER", "app", ">app-password", *words)
        yield server, admin
        admin.close()


def app_runtime(server: redis_servers.RedisServer, dynamo: Any, clock: Any) -> CacheRuntime:
    url = f"redis://app:app-password@127.0.0.1:{server.port}/0"
    config = load_config(base_env(REDIS_URL=url))
    return build_runtime(config, codec=PRODUCT_CODEC, dynamodb_client=dynamo, clock=clock)


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
    reader = app_runtime(server, counting_dynamo, clock)
    writer = app_runtime(server, counting_dynamo, clock)
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
    with admin.client() as acl:
        assert acl.acl_log() == []  # no permission denied, of a command or of a key


def test_the_construct_user_runs_a_cluster_with_a_coherent_l1(
    redis_cluster: Any, counting_dynamo: Any, clock: Any
) -> None:
    """Cluster mode adds slot discovery and a tracking connection per primary."""
    admins = [redis.Redis(host=host, port=port) for host, port in redis_cluster.startup_nodes]
    words = [w for w in DEFAULT_ACCESS_STRING.split() if w != UNKNOWN_TO_REDIS_7_0]
    host, port = redis_cluster.startup_nodes[0]
    url = f"redis://app:app-password@{host}:{port}/0"
    try:
        for admin in admins:
            admin.execute_command("ACL", "SETUSER", "app", "reset", ">app-password", *words)
            admin.config_resetstat()
            admin.acl_log_reset()
        config = load_config(base_env(REDIS_URL=url, REDIS_CLUSTER="true"))
        assert config.redis.cluster
        reader, writer = (
            build_runtime(config, codec=PRODUCT_CODEC, dynamodb_client=counting_dynamo, clock=clock)
            for _ in range(2)
        )
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
