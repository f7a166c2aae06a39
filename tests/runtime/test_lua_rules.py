"""Each rule of the Lua compare-and-set scripts, each branch, on a real redis-server."""

from __future__ import annotations

import pytest
import redis
from runtime_helpers import FakeClock

from cache_constructs.contract.keys import item_keys
from cache_constructs.runtime import envelope
from cache_constructs.runtime.breaker import CircuitBreaker
from cache_constructs.runtime.l2_store import (
    LANDED,
    REFUSED_EPOCH,
    REFUSED_NEGATIVE_OVER_LIVE,
    REFUSED_OLDER,
    REFUSED_STALE,
    TOMBSTONE_TTL_MS,
    L2Store,
)

KEYS = item_keys("x")


@pytest.fixture
def client(redis_url):
    return redis.Redis.from_url(redis_url)


@pytest.fixture
def store(client):
    return L2Store(lambda: client, CircuitBreaker("t", clock=FakeClock()))


def env(version):
    return envelope.encode(version, 1, '"e"', b"v%d" % version)


def cached_version(client):
    raw = client.get(KEYS.value)
    return None if raw is None else envelope.decode(raw).version


def tombstone(client):
    data = client.hgetall(KEYS.tombstone)
    return int(data.get(b"v", b"-1")), int(data.get(b"e", b"0"))


def fill(store, version, epoch, token=""):
    raw = envelope.encode_not_found(1) if version < 0 else env(version)
    return store.fill(KEYS, version=version, epoch=epoch, envelope=raw, ttl_ms=60_000, token=token)


# --- lease ----------------------------------------------------------------------------------


def test_lease_is_exclusive_and_reports_tombstone(store, client):
    first = store.lease(KEYS, "a", 1000)
    assert (first.value, first.stale_through, first.epoch, first.acquired) == (None, -1, 0, True)
    second = store.lease(KEYS, "b", 1000)
    assert second.acquired is False
    assert 0 < client.pttl(KEYS.lease) <= 1000
    store.invalidate(KEYS, stale_through=4)  # also drops the lease
    third = store.lease(KEYS, "c", 1000)
    assert (third.stale_through, third.epoch, third.acquired) == (4, 1, True)


def test_lease_reports_its_remaining_lifetime(store, client):
    assert store.lease(KEYS, "a", 1000).lease_ttl_ms == 1000
    client.pexpire(KEYS.lease, 400)
    other = store.lease(KEYS, "b", 1000)
    assert other.acquired is False and 0 < other.lease_ttl_ms <= 400


def test_lease_returns_a_value_that_appeared(store, client):
    client.set(KEYS.value, env(2))
    assert store.lease(KEYS, "t", 1000).value == env(2)


# --- fill -----------------------------------------------------------------------------------


def test_fill_lands_on_empty_and_releases_own_lease(store, client):
    store.lease(KEYS, "tok", 5000)
    assert fill(store, 3, 0, token="tok") == LANDED
    assert cached_version(client) == 3
    assert client.get(KEYS.lease) is None
    assert 0 < client.pttl(KEYS.value) <= 60_000


def test_fill_keeps_a_lease_it_does_not_hold(store, client):
    store.lease(KEYS, "theirs", 5000)
    assert fill(store, 3, 0, token="") == LANDED
    assert client.get(KEYS.lease) == b"theirs"


def test_fill_refused_when_epoch_moved(store, client):
    store.write_through(KEYS, version=5, envelope=env(5), ttl_ms=60_000)  # epoch 0 -> 1
    client.delete(KEYS.value)
    assert fill(store, 6, 0) == REFUSED_EPOCH
    assert cached_version(client) is None
    assert fill(store, 6, 1) == LANDED


def test_fill_refused_when_version_known_stale(store, client):
    store.invalidate(KEYS, stale_through=4)  # epoch 1, v 4
    assert fill(store, 4, 1) == REFUSED_STALE
    assert fill(store, 3, 1) == REFUSED_STALE
    assert fill(store, 5, 1) == LANDED


def test_fill_refused_when_older_than_cached_and_equal_renews(store, client):
    client.set(KEYS.value, env(7))
    assert fill(store, 6, 0) == REFUSED_OLDER
    assert cached_version(client) == 7
    client.set(KEYS.value, envelope.encode(7, 1, '"e"', b"old-freshness"))
    assert fill(store, 7, 0) == LANDED  # same version: freshness renewed
    assert client.get(KEYS.value) == env(7)
    assert fill(store, 8, 0) == LANDED


def test_not_found_fill(store, client):
    assert fill(store, -1, 0) == LANDED
    assert cached_version(client) == -1
    assert fill(store, -1, 0) == LANDED  # negative over negative
    client.set(KEYS.value, env(2))
    assert fill(store, -1, 0) == REFUSED_NEGATIVE_OVER_LIVE
    assert cached_version(client) == 2
    client.delete(KEYS.value)
    store.invalidate(KEYS, stale_through=2)
    assert fill(store, -1, 0) == REFUSED_EPOCH
    assert fill(store, -1, 1) == LANDED  # deleted item, nothing changed since the read


def test_positive_fill_replaces_negative(store, client):
    fill(store, -1, 0)
    assert fill(store, 1, 0) == LANDED
    assert cached_version(client) == 1


# --- write-through --------------------------------------------------------------------------


def test_write_through_lands_bumps_epoch_and_marks_older_versions_stale(store, client):
    assert store.write_through(KEYS, version=1, envelope=env(1), ttl_ms=60_000) == LANDED
    assert tombstone(client) == (0, 1)
    assert 0 < client.pttl(KEYS.tombstone) <= TOMBSTONE_TTL_MS
    assert store.write_through(KEYS, version=2, envelope=env(2), ttl_ms=60_000) == LANDED
    assert (cached_version(client), tombstone(client)) == (2, (1, 2))


def test_write_through_refused_when_not_newer_than_cached(store, client):
    client.set(KEYS.value, env(5))  # e.g. filled from the origin, no write-through seen
    assert store.write_through(KEYS, version=4, envelope=env(4), ttl_ms=60_000) == REFUSED_OLDER
    assert store.write_through(KEYS, version=5, envelope=env(5), ttl_ms=60_000) == REFUSED_OLDER
    assert cached_version(client) == 5
    assert tombstone(client) == (4, 2)  # refused writes still bump the epoch


def test_late_write_through_refused_even_after_the_newer_entry_was_evicted(store, client):
    assert store.write_through(KEYS, version=4, envelope=env(4), ttl_ms=60_000) == LANDED
    client.delete(KEYS.value)  # evicted
    assert store.write_through(KEYS, version=3, envelope=env(3), ttl_ms=60_000) == REFUSED_STALE
    assert fill(store, 3, tombstone(client)[1]) == REFUSED_STALE  # a lagging origin read too
    assert cached_version(client) is None


def test_write_through_refused_when_known_stale(store, client):
    store.invalidate(KEYS, stale_through=6)
    assert store.write_through(KEYS, version=6, envelope=env(6), ttl_ms=60_000) == REFUSED_STALE
    assert cached_version(client) is None
    assert store.write_through(KEYS, version=7, envelope=env(7), ttl_ms=60_000) == LANDED


def test_write_through_replaces_negative(store, client):
    fill(store, -1, 0)
    assert store.write_through(KEYS, version=1, envelope=env(1), ttl_ms=60_000) == LANDED


def test_refused_write_through_still_deletes_a_negative_entry(store, client):
    # Delete at version 5, a read caches the 404, then a recreate commits version 1.
    store.invalidate(KEYS, stale_through=5)
    assert fill(store, -1, tombstone(client)[1]) == LANDED
    assert store.write_through(KEYS, version=1, envelope=env(1), ttl_ms=60_000) == REFUSED_STALE
    assert client.exists(KEYS.value) == 0  # the committed write proves the item exists
    assert tombstone(client) == (5, 2)


def test_refused_write_through_keeps_a_live_entry(store, client):
    store.invalidate(KEYS, stale_through=5)
    client.set(KEYS.value, env(7))
    assert store.write_through(KEYS, version=5, envelope=env(5), ttl_ms=60_000) == REFUSED_STALE
    assert cached_version(client) == 7


# --- invalidation ---------------------------------------------------------------------------


def test_invalidation_deletes_entry_at_or_below_s(store, client):
    client.set(KEYS.value, env(3))
    assert store.invalidate(KEYS, stale_through=3) is True
    assert cached_version(client) is None
    assert tombstone(client) == (3, 1)
    assert 0 < client.pttl(KEYS.tombstone) <= TOMBSTONE_TTL_MS


def test_invalidation_keeps_newer_entry(store, client):
    client.set(KEYS.value, env(5))
    assert store.invalidate(KEYS, stale_through=4) is False
    assert cached_version(client) == 5


def test_invalidation_deletes_negative_entry(store, client):
    fill(store, -1, 0)
    assert store.invalidate(KEYS, stale_through=0) is True
    assert cached_version(client) is None


def test_invalidation_keeps_the_highest_stale_version(store, client):
    store.invalidate(KEYS, stale_through=9)
    store.invalidate(KEYS, stale_through=2)  # a late stream record
    assert tombstone(client) == (9, 2)


def test_invalidation_deletes_the_lease(store, client):
    store.lease(KEYS, "tok", 5000)
    store.invalidate(KEYS, stale_through=1)
    assert client.get(KEYS.lease) is None


# --- scripts survive SCRIPT FLUSH (EVALSHA falls back on NOSCRIPT) -------------------------


def test_scripts_reload_after_script_flush(store, client):
    assert fill(store, 1, 0) == LANDED
    client.script_flush()
    assert store.invalidate(KEYS, stale_through=1) is True
