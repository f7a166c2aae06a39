"""Valkey outages: reads BYPASS to the origin, nothing raises, the breaker stops the waiting,
and the cache comes back on its own when the server does."""

from __future__ import annotations

import socket
import time

import pytest
from runtime_helpers import base_env, put_product, rendered

from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.breaker import CLOSED, OPEN
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.errors import CacheUnavailable
from cache_constructs.runtime.runtime import (
    REDIS_COOLDOWN_SECONDS,
    REDIS_FAILURE_THRESHOLD,
    build_runtime,
)


def runtime_for(url, counting_dynamo, clock, **env):
    """A runtime whose Redis client comes from the production factory (config -> client)."""
    config = load_config(base_env(REDIS_URL=url, **env))
    return build_runtime(config, codec=PRODUCT_CODEC, dynamodb_client=counting_dynamo, clock=clock)


def count_connections(client):
    """Count connection checkouts of a redis-py client (each call to the server takes one)."""
    pool = client.connection_pool
    original = pool.get_connection
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    pool.get_connection = counted
    return calls


def test_outage_bypasses_then_recovers_without_rebuilding(own_redis, counting_dynamo, clock):
    put_product(counting_dynamo, "o1", 1)
    runtime = runtime_for(own_redis.url, counting_dynamo, clock)
    items = runtime.items
    assert items.read("o1").x_cache == "MISS"
    items.l1.clear()
    assert items.read("o1").x_cache == "HIT-L2"
    client = runtime.l2.client
    checkouts = count_connections(client)

    own_redis.stop()
    telemetry.metrics.clear_metrics()
    for _ in range(REDIS_FAILURE_THRESHOLD):
        items.l1.clear()
        result = items.read("o1")
        assert (result.x_cache, result.version) == ("BYPASS", 1)
    assert runtime.l2.breaker.state == OPEN
    tried = len(checkouts)

    # open breaker: no connection attempt at all, no waiting for a timeout
    for _ in range(5):
        items.l1.clear()
        assert items.read("o1").x_cache == "BYPASS"
    assert len(checkouts) == tried
    assert items.l1.get("o1") is None  # nothing filled while degraded
    assert sum(telemetry.metric_values("CacheBypass")) == REDIS_FAILURE_THRESHOLD + 5

    # the write path degrades without raising; the stream path must know
    assert items.write_through("o1", rendered({"productId": "o1", "version": 2})) is False
    assert sum(telemetry.metric_values("CacheWriteFailure")) == 1
    assert runtime.lists.bump(["books"]) is False
    with pytest.raises(CacheUnavailable):
        items.invalidate("o1", 1)
    with pytest.raises(CacheUnavailable):
        runtime.lists.bump_or_raise(["books"])

    own_redis.start()  # same port, empty (no persistence)
    clock.advance(REDIS_COOLDOWN_SECONDS)
    items.l1.clear()
    assert items.read("o1").x_cache == "MISS"  # the half-open probe succeeded; refilled
    assert runtime.l2.breaker.state == CLOSED
    items.l1.clear()
    assert items.read("o1").x_cache == "HIT-L2"
    assert runtime.l2.client is client  # the same client and pool reconnected by themselves
    assert len(checkouts) > tried


def test_list_reads_bypass_during_outage(own_redis, counting_dynamo, clock):
    put_product(counting_dynamo, "o2", 1, category="tools")
    runtime = runtime_for(own_redis.url, counting_dynamo, clock)
    assert runtime.lists.read("tools", 10, None).x_cache == "MISS"
    own_redis.stop()
    runtime.lists.l1.clear()
    page = runtime.lists.read("tools", 10, None)
    assert page.x_cache == "BYPASS" and b'"o2"' in page.body
    own_redis.start()


@pytest.fixture
def blackhole():
    """A TCP port that accepts connections (kernel backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


def test_tight_timeouts_then_the_breaker_stops_waiting(blackhole, counting_dynamo, clock):
    """Judged by what the client did, not by how fast this machine is: while the breaker is
    closed each read waits out the configured timeout (a lower bound a slow machine cannot
    break), and once it is open no read checks a connection out at all."""
    put_product(counting_dynamo, "o3", 1)
    runtime = runtime_for(
        blackhole, counting_dynamo, clock, REDIS_TIMEOUT_MS="50", REDIS_CONNECT_TIMEOUT_MS="50"
    )
    settings = runtime.l2.client.connection_pool.connection_kwargs
    assert (settings["socket_timeout"], settings["socket_connect_timeout"]) == (0.05, 0.05)
    checkouts = count_connections(runtime.l2.client)
    for _ in range(REDIS_FAILURE_THRESHOLD):
        runtime.items.l1.clear()
        started = time.perf_counter()
        assert runtime.items.read("o3").x_cache == "BYPASS"
        # each call waited for one 50 ms read timeout (redis-py retries are off)
        assert time.perf_counter() - started >= 0.045
    assert runtime.l2.breaker.state == OPEN
    tried = len(checkouts)
    assert tried >= REDIS_FAILURE_THRESHOLD
    # once open, the cache is skipped at once: no connection, so no timeout to wait for
    for _ in range(3):
        runtime.items.l1.clear()
        assert runtime.items.read("o3").x_cache == "BYPASS"
    assert len(checkouts) == tried


def test_one_bad_key_does_not_open_the_breaker_for_all_keys(
    make_runtime, counting_dynamo, redis_url
):
    import redis

    put_product(counting_dynamo, "bad", 1)
    put_product(counting_dynamo, "good", 1)
    runtime = make_runtime()
    assert runtime.items.read("good").x_cache == "MISS"
    # a key of the wrong type: every command on it answers WRONGTYPE
    redis.Redis.from_url(redis_url).hset("pc:{p:bad}:v", "x", "1")
    for _ in range(REDIS_FAILURE_THRESHOLD + 2):
        runtime.items.l1.clear()
        assert runtime.items.read("bad").x_cache == "BYPASS"  # that call fails, served
    assert runtime.l2.breaker.state == CLOSED
    assert runtime.items.read("good").x_cache == "HIT-L2"


def test_server_wide_error_replies_open_the_breaker(make_runtime, redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    runtime = make_runtime(redis_client=client)
    client.config_set("maxmemory", 1)  # every write now answers OOM, whatever the key
    try:
        for attempt in range(REDIS_FAILURE_THRESHOLD):
            with pytest.raises(CacheUnavailable):
                runtime.l2.set(f"pc:k{attempt}", b"v", 1000)
        assert runtime.l2.breaker.state == OPEN
    finally:
        client.config_set("maxmemory", 0)
