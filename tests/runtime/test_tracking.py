"""L1 coherence through client tracking, against real redis-server processes.

Every test drives the runtime as the handlers do (`runtime.items.read`, `write_through`,
`lists.read`, `bump`) with a second runtime (another Lambda environment) or a plain client
writing. Waiting for an invalidation to arrive is waiting on the tracking socket
(`tracker.pending(timeout)`), never a sleep; interleavings are forced with the tracker's
`on_reply` hook, which runs between a tracked reply and the caller's L1 put.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis_servers
from runtime_helpers import base_env, put_product, rendered

from cache_constructs.contract.keys import item_keys
from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.codec import Rendered
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import REDIS_COOLDOWN_SECONDS, CacheRuntime, build_runtime
from cache_constructs.runtime.tracking import DEFAULT_RECONNECT_SECONDS, REFUSED, TRACKING

ARRIVAL_TIMEOUT = 5.0
"""Upper bound on waiting for a push on loopback (it arrives in microseconds)."""


def runtime_on(url: str, dynamo: Any, clock: Any, **env: str) -> CacheRuntime:
    """A runtime (one Lambda environment) built by the production factory from `url`."""
    config = load_config(base_env(REDIS_URL=url, **env))
    return build_runtime(config, codec=PRODUCT_CODEC, dynamodb_client=dynamo, clock=clock)


def warm(runtime: CacheRuntime, product_id: str, version: int) -> None:
    """Read until L1 serves it: a miss fills L2, the next (tracked) L2 hit admits it to L1."""
    seen = [runtime.items.read(product_id) for _ in range(3)]
    assert [(r.x_cache, r.version) for r in seen] == [
        ("MISS", version),
        ("HIT-L2", version),
        ("HIT-L1", version),
    ]


def write(writer: CacheRuntime, dynamo: Any, product_id: str, version: int, **fields: Any) -> None:
    """Commit `version` to the table and write it through L2, as the write function does."""
    product = put_product(dynamo, product_id, version, **fields)
    assert writer.items.write_through(product_id, rendered(product)) is True


def arrived(runtime: CacheRuntime) -> bool:
    assert runtime.tracker is not None
    return runtime.tracker.pending(ARRIVAL_TIMEOUT)


def commands(url: str, name: str) -> int:
    """How many times the server ran command `name` (INFO commandstats)."""
    with redis.Redis.from_url(url) as client:
        return int(client.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0))


# --- invalidation ---------------------------------------------------------------------------


def test_a_write_in_another_environment_invalidates_l1(redis_url, counting_dynamo, clock):
    reader = runtime_on(redis_url, counting_dynamo, clock)
    writer = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t1", 1)
    warm(reader, "t1", 1)
    write(writer, counting_dynamo, "t1", 2)
    assert arrived(reader)
    after = reader.items.read("t1")
    assert (after.x_cache, after.version) == ("HIT-L2", 2)
    assert reader.items.read("t1").x_cache == "HIT-L1"  # tracked again, cached again


def test_any_client_writing_the_key_invalidates_l1(redis_url, counting_dynamo, clock):
    reader = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t2", 1)
    warm(reader, "t2", 1)
    with redis.Redis.from_url(redis_url) as other:
        other.delete(item_keys("t2").value)  # e.g. an operator, eviction, or expiry
    assert arrived(reader)
    assert reader.items.read("t2").x_cache == "MISS"


def test_the_hit_path_drains_pending_invalidations_and_makes_no_round_trip(
    redis_url, counting_dynamo, clock
):
    reader = runtime_on(redis_url, counting_dynamo, clock)
    writer = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t3", 1)
    warm(reader, "t3", 1)
    gets, pings = commands(redis_url, "get"), commands(redis_url, "ping")
    for _ in range(50):
        assert reader.items.read("t3").x_cache == "HIT-L1"
    assert (commands(redis_url, "get"), commands(redis_url, "ping")) == (gets, pings)

    write(writer, counting_dynamo, "t3", 2)
    assert arrived(reader)
    assert len(reader.items.l1) == 1  # the push waits in the socket until the next lookup
    after = reader.items.read("t3")  # the lookup itself applies it
    assert (after.x_cache, after.version) == ("HIT-L2", 2)


def test_a_list_bump_invalidates_every_l1_page_of_the_category(redis_url, counting_dynamo, clock):
    reader = runtime_on(redis_url, counting_dynamo, clock)
    writer = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t4a", 1, category="lamps")
    put_product(counting_dynamo, "t4b", 1, category="lamps")
    for limit in (1, 5):
        seen = [reader.lists.read("lamps", limit, None).x_cache for _ in range(3)]
        assert seen == ["MISS", "HIT-L2", "HIT-L1"]
    put_product(counting_dynamo, "t4c", 1, category="lamps")
    assert writer.lists.bump(["lamps"]) is True
    assert arrived(reader)
    for limit in (1, 5):
        assert reader.lists.read("lamps", limit, None).x_cache == "MISS"
    page = json.loads(reader.lists.read("lamps", 5, None).body)
    assert [item["productId"] for item in page["items"]] == ["t4a", "t4b", "t4c"]


def test_a_server_flush_clears_l1(redis_url, counting_dynamo, clock):
    reader = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t5", 1)
    warm(reader, "t5", 1)
    with redis.Redis.from_url(redis_url) as other:
        other.flushall()
    assert arrived(reader)
    assert reader.items.read("t5").x_cache == "MISS"


def test_a_fill_or_a_write_through_does_not_enter_l1_untracked(redis_url, counting_dynamo, clock):
    # Both SET the key on L2's own connection: the tracking connection never read that value,
    # so no invalidation would reach this environment if it changed. The next L2 hit admits it.
    runtime = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t6", 1)
    assert runtime.items.read("t6").x_cache == "MISS"
    assert len(runtime.items.l1) == 0
    write(runtime, counting_dynamo, "t6", 2)
    assert len(runtime.items.l1) == 0
    assert [runtime.items.read("t6").x_cache for _ in range(2)] == ["HIT-L2", "HIT-L1"]


# --- ordering -------------------------------------------------------------------------------


def test_a_push_read_before_the_reply_is_applied_before_the_value_is_cached(
    redis_url, counting_dynamo, clock
):
    reader = runtime_on(redis_url, counting_dynamo, clock)
    writer = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t7", 1)
    warm(reader, "t7", 1)
    write(writer, counting_dynamo, "t7", 2)
    assert arrived(reader)  # the push for v1 now precedes any reply on the socket
    l1, l2, tracker = reader.items.l1, reader.l2, reader.tracker
    assert l1 is not None and l2 is not None and tracker is not None
    during_reply: list[int] = []
    tracker.on_reply = lambda _key: during_reply.append(len(l1))
    # The call the L2 path makes, without the lookup's drain: the GET's reply comes after
    # the push on the same connection, and redis-py hands us the push first.
    reading = l1.read_through("t7", item_keys("t7").value, l2.get)
    assert during_reply == [0]  # v1 was discarded before the reply was returned
    assert reading.value is not None and reading.value.startswith(b"2|")
    assert l1.put("t7", Rendered(b"v2", '"e2"', 2), ttl_seconds=60, ticket=reading.ticket)
    entry = l1.get("t7")
    assert (
        entry is not None and entry.value is not None and entry.value.version == 2
    )  # the older push did not void the newer read


def test_a_value_is_not_cached_after_an_invalidation_newer_than_it(
    redis_url, counting_dynamo, clock
):
    reader = runtime_on(redis_url, counting_dynamo, clock)
    writer = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t8", 1)
    assert reader.items.read("t8").x_cache == "MISS"
    tracker = reader.tracker
    assert tracker is not None

    def write_and_drain_between_reply_and_put(_key: str) -> None:
        # Between the tracked reply (v1) and the caller's L1 put: v2 is written and its push
        # is applied by a drain, as another thread's L1 lookup would apply it.
        tracker.on_reply = None
        write(writer, counting_dynamo, "t8", 2)
        assert tracker.pending(ARRIVAL_TIMEOUT)
        tracker.drain()

    tracker.on_reply = write_and_drain_between_reply_and_put
    during = reader.items.read("t8")
    assert (during.x_cache, during.version) == ("HIT-L2", 1)  # current when it was read
    assert len(reader.items.l1) == 0  # but refused by L1: its invalidation came after it
    after = reader.items.read("t8")
    assert (after.x_cache, after.version) == ("HIT-L2", 2)


def test_racing_threads_never_leave_an_invalidated_value_in_l1(redis_url, counting_dynamo, clock):
    reader = runtime_on(redis_url, counting_dynamo, clock)
    writer = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "t9", 1)
    assert reader.items.read("t9").x_cache == "MISS"
    tracker = reader.tracker
    assert tracker is not None
    replied, resume = threading.Event(), threading.Event()

    def park(key: str) -> None:
        if threading.current_thread().name == "slow-reader":
            replied.set()
            assert resume.wait(ARRIVAL_TIMEOUT)

    tracker.on_reply = park
    results: list[Any] = []
    slow = threading.Thread(
        target=lambda: results.append(reader.items.read("t9")), name="slow-reader"
    )
    slow.start()
    assert replied.wait(ARRIVAL_TIMEOUT)  # the slow reader holds v1, not yet in L1
    write(writer, counting_dynamo, "t9", 2)
    assert tracker.pending(ARRIVAL_TIMEOUT)
    other = reader.items.read("t9")  # this thread's lookup drains the push, then reads v2
    assert other.version == 2
    resume.set()
    slow.join(ARRIVAL_TIMEOUT)
    assert results[0].version == 1
    for _ in range(3):
        assert reader.items.read("t9").version == 2


# --- connection loss ------------------------------------------------------------------------


def test_losing_the_server_flushes_l1_and_a_restart_tracks_again(own_redis, counting_dynamo, clock):
    reader = runtime_on(own_redis.url, counting_dynamo, clock)
    writer = runtime_on(own_redis.url, counting_dynamo, clock)
    tracker = reader.tracker
    assert tracker is not None
    put_product(counting_dynamo, "u1", 1)
    warm(reader, "u1", 1)
    flushes = tracker.flushes

    own_redis.stop()
    assert tracker.pending(ARRIVAL_TIMEOUT)  # the connection's end is readable
    during = reader.items.read("u1")  # its drain finds the loss: L1 is flushed, not served
    assert during.x_cache == "BYPASS"
    assert tracker.connected_primaries() == [] and tracker.flushes == flushes + 1
    assert len(reader.items.l1) == 0

    own_redis.start()  # same port, empty (no persistence)
    clock.advance(max(DEFAULT_RECONNECT_SECONDS, REDIS_COOLDOWN_SECONDS) + 0.1)
    put_product(counting_dynamo, "u1", 2)
    assert [reader.items.read("u1").x_cache for _ in range(3)] == ["MISS", "HIT-L2", "HIT-L1"]
    assert tracker.flushes == flushes + 2  # the new connection flushed L1 once more
    write(writer, counting_dynamo, "u1", 3)
    assert arrived(reader)
    assert reader.items.read("u1").version == 3  # the new connection delivers invalidations


def test_a_silently_dead_connection_is_found_by_the_health_check(own_redis, counting_dynamo, clock):
    reader = runtime_on(own_redis.url, counting_dynamo, clock)
    tracker = reader.tracker
    assert tracker is not None
    put_product(counting_dynamo, "u2", 1)
    warm(reader, "u2", 1)
    assert own_redis.proc is not None
    os.kill(own_redis.proc.pid, signal.SIGSTOP)  # no FIN, no reply: a half-open peer
    try:
        assert reader.items.read("u2").x_cache == "HIT-L1"  # within the interval: no probe
        clock.advance(tracker.health_check_seconds)
        read = reader.items.read("u2")  # PING times out: L1 flushed, L2 unreachable too
        assert read.x_cache == "BYPASS"
        assert len(reader.items.l1) == 0 and tracker.connected_primaries() == []
    finally:
        os.kill(own_redis.proc.pid, signal.SIGCONT)


# --- refused tracking -----------------------------------------------------------------------


@pytest.fixture(params=["acl-denies-client-tracking", "client-command-renamed"], scope="module")
def refusing_server(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A server that refuses CLIENT TRACKING, and how a runtime reaches it.

    An ACL user that may use the cache but not `client|tracking` (what a managed service
    may impose), through the production client factory; or a server without the CLIENT
    command at all (renamed away), reached by a client that sets no name.
    """
    if request.param == "acl-denies-client-tracking":
        user, password = "refused", "refused-test-password"
        args = [
            "--user", "default", "off",
            "--user", user, "on", f">{password}", "~pc:*", "+@all", "-client|tracking",
        ]  # fmt: skip
        with redis_servers.standalone(args, username=user, password=password) as server:
            yield {"url": f"redis://{user}:{password}@127.0.0.1:{server.port}/0"}
    else:
        with redis_servers.standalone(["--rename-command", "CLIENT", ""]) as server:
            yield {"url": server.url, "client": lambda: redis.Redis.from_url(server.url)}


def test_refused_tracking_falls_back_to_the_l1_ttl_with_a_metric_and_a_log_line(
    refusing_server, counting_dynamo, clock, caplog
):
    telemetry.metrics.clear_metrics()

    def environment() -> CacheRuntime:
        config = load_config(base_env(REDIS_URL=refusing_server["url"]))
        client = refusing_server.get("client", lambda: None)()
        return build_runtime(
            config,
            codec=PRODUCT_CODEC,
            redis_client=client,
            dynamodb_client=counting_dynamo,
            clock=clock,
        )

    reader, writer = environment(), environment()
    tracker = reader.tracker
    assert tracker is not None
    product_id = f"r-{uuid.uuid4().hex[:6]}"
    put_product(counting_dynamo, product_id, 1)
    warm(reader, product_id, 1)  # the tracked read was refused; L1 is filled anyway (TTL bound)
    assert tracker.state == REFUSED
    assert sum(telemetry.metric_values(telemetry.L1_TRACKING_UNAVAILABLE)) == 1
    assert any("L1 tracking refused by the server" in r.getMessage() for r in caplog.records)

    write(writer, counting_dynamo, product_id, 2)
    assert reader.items.read(product_id).version == 1  # no invalidation reaches it: TTL bound
    clock.advance(reader.config.item_policy.l1_ttl_seconds)
    assert reader.items.read(product_id).version == 2
    # said once per environment, not per request
    assert sum(telemetry.metric_values(telemetry.L1_TRACKING_UNAVAILABLE)) == 1


def test_tracking_state_is_on_where_the_server_allows_it(redis_url, counting_dynamo, clock):
    def tracking_clients() -> dict[str, str]:
        with redis.Redis.from_url(redis_url) as admin:
            clients = admin.client_list()
        return {c["id"]: c["flags"] for c in clients if c["name"] == "product-cache-l1-tracking"}

    before = tracking_clients()
    reader = runtime_on(redis_url, counting_dynamo, clock)
    put_product(counting_dynamo, "r2", 1)
    warm(reader, "r2", 1)
    assert reader.tracker is not None and reader.tracker.state == TRACKING
    opened = {cid: flags for cid, flags in tracking_clients().items() if cid not in before}
    assert len(opened) == 1 and "t" in next(iter(opened.values()))  # CLIENT LIST flag t


# --- cluster --------------------------------------------------------------------------------


def cluster_runtime(cluster: redis_servers.RedisCluster, dynamo: Any, clock: Any) -> CacheRuntime:
    host, port = cluster.startup_nodes[0]
    config = load_config(
        base_env(REDIS_HOST=host, REDIS_PORT=str(port), REDIS_CLUSTER="true", REDIS_TLS="false")
    )
    return build_runtime(config, codec=PRODUCT_CODEC, dynamodb_client=dynamo, clock=clock)


def one_product_per_primary(runtime: CacheRuntime, count: int) -> dict[str, str]:
    """Product ids whose keys live on `count` different primaries: {primary name: id}."""
    assert runtime.l2 is not None
    client = runtime.l2.client
    owners: dict[str, str] = {}
    for i in range(200):
        product_id = f"c-{uuid.uuid4().hex[:6]}-{i}"
        owners.setdefault(client.get_node_from_key(item_keys(product_id).value).name, product_id)
        if len(owners) == count:
            return owners
    raise AssertionError(f"only {len(owners)} primaries own keys")


def test_cluster_every_primary_reports_its_invalidations(redis_cluster, counting_dynamo, clock):
    reader = cluster_runtime(redis_cluster, counting_dynamo, clock)
    writer = cluster_runtime(redis_cluster, counting_dynamo, clock)
    owners = one_product_per_primary(reader, 3)
    for product_id in owners.values():
        put_product(counting_dynamo, product_id, 1)
        warm(reader, product_id, 1)
    assert reader.tracker is not None
    assert reader.tracker.connected_primaries() == sorted(owners)
    for product_id in owners.values():
        write(writer, counting_dynamo, product_id, 2)
    for product_id in owners.values():
        # wait until this product's primary has pushed (reading once applies every push)
        while reader.items.read(product_id).version != 2:
            assert reader.tracker.pending(ARRIVAL_TIMEOUT)
        assert reader.items.read(product_id).version == 2


def migrate_slot(cluster: redis_servers.RedisCluster, key: str, source: str, target: str) -> None:
    """Move the slot of `key` (and its keys) from primary `source` to `target` (host:port)."""
    nodes = {f"127.0.0.1:{n.port}": redis.Redis(port=n.port) for n in cluster.nodes}
    try:
        slot = nodes[source].cluster("keyslot", key)
        ids = {name: client.cluster("myid").decode() for name, client in nodes.items()}
        nodes[target].cluster("setslot", slot, "importing", ids[source])
        nodes[source].cluster("setslot", slot, "migrating", ids[target])
        keys = nodes[source].cluster("getkeysinslot", slot, 100)
        host, port = target.split(":")
        nodes[source].migrate(host, int(port), keys, 0, 5000)
        for client in nodes.values():
            client.cluster("setslot", slot, "node", ids[target])
    finally:
        for client in nodes.values():
            client.close()


def test_cluster_a_moved_slot_flushes_l1_and_tracking_follows_the_new_owner(counting_dynamo, clock):
    with redis_servers.cluster(3) as cluster:
        reader = cluster_runtime(cluster, counting_dynamo, clock)
        writer = cluster_runtime(cluster, counting_dynamo, clock)
        tracker = reader.tracker
        assert tracker is not None
        owners = one_product_per_primary(reader, 2)
        (source, product_id), (target, _) = sorted(owners.items())
        put_product(counting_dynamo, product_id, 1)
        warm(reader, product_id, 1)
        flushes = tracker.flushes

        migrate_slot(cluster, item_keys(product_id).value, source, target)
        # Moving the key deleted it on the old owner, which pushed that: L1 lets it go.
        assert arrived(reader)
        assert reader.items.read(product_id).version == 1  # read where it now lives
        assert tracker.flushes > flushes  # the old owner answered MOVED: L1 was flushed
        assert [reader.items.read(product_id).x_cache for _ in range(2)] == ["HIT-L2", "HIT-L1"]
        assert target in tracker.connected_primaries()

        write(writer, counting_dynamo, product_id, 2)
        assert arrived(reader)  # the new owner tracks it now
        assert reader.items.read(product_id).version == 2


def test_cluster_fixture_nodes_are_primaries(redis_cluster):
    # the tests above assume every node owns slots (no replicas in the fixture)
    out = subprocess.run(
        [redis_servers.REDIS_CLI, "-p", str(redis_cluster.nodes[0].port), "cluster", "nodes"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    assert out.count("master") == len(redis_cluster.nodes)
