"""`L2Store.retrying`: the stream invalidation path's breaker-free, retrying calls.

Against a real redis-server stopped and started; time is a fake that moves only in the
retry's own waits, so the backoff schedule is asserted exactly and nothing sleeps.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import redis
from runtime_helpers import FakeClock

from cache_constructs.runtime.breaker import OPEN, CircuitBreaker
from cache_constructs.runtime.errors import CacheUnavailable
from cache_constructs.runtime.l2_store import (
    RETRY_FIRST_BACKOFF_SECONDS,
    RETRY_MAX_BACKOFF_SECONDS,
    L2Store,
)


class Waits:
    """The retry's sleep: records each pause, advances the clock, runs an optional hook."""

    def __init__(self, clock: FakeClock, hook: Any = None) -> None:
        self.clock = clock
        self.hook = hook
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.advance(seconds)
        if self.hook is not None:
            self.hook(self)


class CountingClient:
    """A redis-py client that counts the GETs it was asked for."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self.gets = 0

    def get(self, key: str) -> Any:
        self.gets += 1
        return self._client.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def store(url: str, clock: FakeClock, waits: Waits) -> tuple[L2Store, CountingClient]:
    client = CountingClient(
        redis.Redis.from_url(url, socket_connect_timeout=0.2, socket_timeout=0.2)
    )
    breaker = CircuitBreaker("l2", failure_threshold=3, cooldown_seconds=5.0, clock=clock)
    l2 = L2Store(
        lambda: client,
        breaker,
        retry_clock=clock,
        retry_sleep=waits,
        retry_rng=random.Random(7),
    )
    return l2, client


def test_an_open_breaker_is_not_skipped_and_the_call_lands_when_redis_returns(
    own_redis: Any,
) -> None:
    clock = FakeClock()

    def restart_after_two_seconds(waits: Waits) -> None:
        if own_redis.proc is None and sum(waits.pauses) >= 2.0:
            own_redis.start()

    waits = Waits(clock, restart_after_two_seconds)
    l2, client = store(own_redis.url, clock, waits)
    redis.Redis.from_url(own_redis.url).set("k", b"v")
    own_redis.stop()
    for _ in range(3):
        with pytest.raises(CacheUnavailable):
            l2.get("k")
    assert l2.breaker.state == OPEN
    with pytest.raises(CacheUnavailable, match="breaker is open"):
        l2.get("k")  # outside `retrying` the breaker still guards

    with l2.retrying(55.0):
        assert l2.get("k") is None  # the server came back empty (no persistence)
    assert sum(waits.pauses) >= 2.0
    assert client.gets == 3 + len(waits.pauses) + 1
    assert l2.breaker.state != OPEN  # the success closed it
    # Full jitter under a doubling cap: pause i is within [0, min(1 s, 50 ms * 2**i)].
    for index, pause in enumerate(waits.pauses):
        bound = min(RETRY_MAX_BACKOFF_SECONDS, RETRY_FIRST_BACKOFF_SECONDS * 2**index)
        assert 0.0 <= pause <= bound


def test_a_spent_window_fails_the_remaining_calls_at_once(own_redis: Any) -> None:
    clock = FakeClock()
    waits = Waits(clock)
    l2, client = store(own_redis.url, clock, waits)
    own_redis.stop()
    try:
        with l2.retrying(3.0):
            with pytest.raises(CacheUnavailable):
                l2.get("a")
            assert sum(waits.pauses) == pytest.approx(3.0)  # tried for the whole window
            tried = client.gets
            with pytest.raises(CacheUnavailable, match="every attempt"):
                l2.get("b")
            assert client.gets == tried  # no further attempt
        with l2.retrying(1.0), pytest.raises(CacheUnavailable):  # a new window tries again
            l2.get("c")
        assert client.gets > tried
    finally:
        own_redis.start()


def test_every_call_gets_one_attempt_even_with_no_time_left(redis_url: str) -> None:
    clock = FakeClock()
    waits = Waits(clock)
    l2, _ = store(redis_url, clock, waits)
    redis.Redis.from_url(redis_url).set("k", b"v")
    with l2.retrying(0.0):
        assert l2.get("k") == b"v"
        assert l2.get("k") == b"v"
    assert waits.pauses == []


def test_an_error_reply_about_one_key_is_not_retried(redis_url: str) -> None:
    clock = FakeClock()
    waits = Waits(clock)
    l2, client = store(redis_url, clock, waits)
    redis.Redis.from_url(redis_url).hset("h", "f", "v")
    with l2.retrying(55.0), pytest.raises(CacheUnavailable, match="WRONGTYPE"):
        l2.get("h")
    assert (waits.pauses, client.gets) == ([], 1)
