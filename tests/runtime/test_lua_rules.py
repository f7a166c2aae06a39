"""Each rule of the Lua compare-and-set scripts, each branch, on a real redis-server.

TTL assertions are ranges bounded by what cannot be violated (a TTL only shrinks between
setting and reading it), never an exact PTTL: a loaded machine may take a millisecond.
"""

from __future__ import annotations

import pytest
import redis
from runtime_helpers import FakeClock

from cache_constructs.contract.keys import generation_key, item_keys, page_keys
from cache_constructs.runtime import envelope
from cache_constructs.runtime.breaker import CircuitBreaker
from cache_constructs.runtime.codec import Rendered
from cache_constructs.runtime.l2_store import (
    LANDED,
    REFUSED_EPOCH,
    REFUSED_NEGATIVE_OVER_LIVE,
    REFUSED_OLDER,
    REFUSED_STALE,
    REFUSED_UNANCHORED,
    L2Store,
)

KEYS = item_keys("x")
FENCE_TTL_MS = 600_000
SEED = 7_000_000_000_001  # a "random" epoch for a new fence


@pytest.fixture
def client(redis_url):
    return redis.Redis.from_url(redis_url)


@pytest.fixture
def store(client):
    return L2Store(lambda: client, CircuitBreaker("t", clock=FakeClock()))


def env(version):
    return envelope.encode(Rendered(b"v%d" % version, '"e"', version), 1)


def cached_version(client):
    raw = client.get(KEYS.value)
    return None if raw is None else envelope.decode(raw).version


def fence(client):
    """(v, e, k) of the fence; v -1 and k None when absent; None when there is no fence."""
    data = client.hgetall(KEYS.fence)
    if not data:
        return None
    k = data.get(b"k")
    return int(data.get(b"v", b"-1")), int(data[b"e"]), None if k is None else int(k)


def lease(store, token="t", lease_ms=5000, seed=SEED):
    return store.lease(KEYS, token, lease_ms, epoch_seed=seed, fence_ttl_ms=FENCE_TTL_MS)


def fill(store, version, epoch, token="", consistent=False):
    raw = envelope.encode(None, 1) if version < 0 else env(version)
    return store.fill(
        KEYS,
        version=version,
        epoch=epoch,
        envelope=raw,
        ttl_ms=60_000,
        token=token,
        consistent=consistent,
        fence_ttl_ms=FENCE_TTL_MS,
    )


def write_through(store, version, seed=SEED):
    return store.write_through(
        KEYS,
        version=version,
        envelope=env(version),
        ttl_ms=60_000,
        epoch_seed=seed,
        fence_ttl_ms=FENCE_TTL_MS,
    )


def invalidate(store, stale_through, seed=SEED):
    return store.invalidate(
        KEYS, stale_through=stale_through, epoch_seed=seed, fence_ttl_ms=FENCE_TTL_MS
    )


# --- lease ----------------------------------------------------------------------------------


def test_lease_creates_a_missing_fence_at_the_random_epoch_it_is_given(store, client):
    first = lease(store, "a", seed=SEED)
    assert (first.value, first.epoch, first.stale_through, first.committed) == (
        None,
        SEED,
        -1,
        None,
    )
    assert first.acquired and not first.anchored
    assert fence(client) == (-1, SEED, None)
    assert 0 < client.pttl(KEYS.fence) <= FENCE_TTL_MS
    second = lease(store, "b", seed=SEED + 99)  # an existing fence is kept as it is
    assert (second.epoch, second.acquired) == (SEED, False)


def test_lease_is_exclusive_and_reports_the_fence(store, client):
    assert lease(store, "a", 60_000).acquired
    assert lease(store, "b", 60_000).acquired is False
    assert 0 < client.pttl(KEYS.lease) <= 60_000
    invalidate(store, 4)  # also drops the lease
    third = lease(store, "c", 60_000)
    assert (third.stale_through, third.epoch, third.acquired) == (4, SEED + 1, True)


def test_lease_reports_its_remaining_lifetime(store, client):
    # Ranges, not exact values: PTTL may already be a millisecond lower (seen: 999 vs 1000 on
    # a loaded machine), and the lease must outlive any stall between the calls.
    assert 0 < lease(store, "a", 60_000).lease_ttl_ms <= 60_000
    client.pexpire(KEYS.lease, 30_000)
    other = lease(store, "b", 60_000)
    assert other.acquired is False and 0 < other.lease_ttl_ms <= 30_000


def test_lease_reports_an_anchored_fence(store, client):
    client.hset(KEYS.fence, mapping={"e": 5, "v": 2, "k": 3})
    got = lease(store)
    assert (got.epoch, got.stale_through, got.committed, got.anchored) == (5, 2, 3, True)


def test_lease_returns_a_value_that_appeared(store, client):
    client.set(KEYS.value, env(2))
    assert lease(store).value == env(2)


# --- fill -----------------------------------------------------------------------------------


def test_fill_lands_on_empty_and_releases_own_lease(store, client):
    epoch = lease(store, "tok").epoch
    assert fill(store, 3, epoch, token="tok") == LANDED
    assert cached_version(client) == 3
    assert client.get(KEYS.lease) is None
    assert 0 < client.pttl(KEYS.value) <= 60_000


def test_fill_keeps_a_lease_it_does_not_hold(store, client):
    epoch = lease(store, "theirs").epoch
    assert fill(store, 3, epoch, token="") == LANDED
    assert client.get(KEYS.lease) == b"theirs"


def test_fill_refused_when_the_fence_is_gone(store, client):
    """The root of defect 1: a lost fence (evicted or expired) never lets a fill match, not
    even one whose epoch is what an absent fence used to read as (0)."""
    epoch = lease(store).epoch
    client.delete(KEYS.fence)
    assert fill(store, 1, epoch) == REFUSED_EPOCH
    assert fill(store, 1, 0) == REFUSED_EPOCH
    assert cached_version(client) is None


def test_fill_refused_when_epoch_moved(store, client):
    epoch = lease(store).epoch
    write_through(store, 5)  # epoch + 1 (unanchored: it lands nothing itself)
    client.delete(KEYS.value)
    assert fill(store, 6, epoch) == REFUSED_EPOCH
    assert cached_version(client) is None
    assert fill(store, 6, epoch + 1) == LANDED


def test_fill_refused_when_version_known_stale(store, client):
    invalidate(store, 4)  # fence created at SEED, v 4
    assert fill(store, 4, SEED) == REFUSED_STALE
    assert fill(store, 3, SEED) == REFUSED_STALE
    assert fill(store, 5, SEED) == LANDED


def test_fill_refused_when_older_than_the_committed_version(store, client):
    client.hset(KEYS.fence, mapping={"e": 9, "v": 1, "k": 6})
    assert fill(store, 5, 9) == REFUSED_STALE
    assert fill(store, 6, 9) == LANDED


def test_consistent_fill_anchors_the_fence_and_others_do_not(store, client):
    epoch = lease(store).epoch
    assert fill(store, 3, epoch) == LANDED
    assert fence(client) == (-1, epoch, None)  # a DAX or eventually consistent answer
    assert fill(store, 4, epoch, consistent=True) == LANDED
    assert fence(client) == (-1, epoch, 4)
    client.delete(KEYS.value)
    assert fill(store, 4, epoch, consistent=True) == LANDED
    assert fence(client) == (-1, epoch, 4)  # k only grows


def test_consistent_not_found_does_not_anchor(store, client):
    # A deleted item's old copy may still sit in DAX: "not found now" cannot vouch for it.
    epoch = lease(store).epoch
    assert fill(store, -1, epoch, consistent=True) == LANDED
    assert fence(client) == (-1, epoch, None)


def test_fill_makes_the_fence_outlive_the_value(store, client):
    epoch = lease(store).epoch
    client.pexpire(KEYS.fence, 1000)
    assert fill(store, 1, epoch) == LANDED
    assert 1000 < client.pttl(KEYS.fence) <= FENCE_TTL_MS


def test_fill_refused_when_older_than_cached_and_equal_renews(store, client):
    epoch = lease(store).epoch
    client.set(KEYS.value, env(7))
    assert fill(store, 6, epoch) == REFUSED_OLDER
    assert cached_version(client) == 7
    client.set(KEYS.value, envelope.encode(Rendered(b"old-freshness", '"e"', 7), 1))
    assert fill(store, 7, epoch) == LANDED  # same version: freshness renewed
    assert client.get(KEYS.value) == env(7)
    assert fill(store, 8, epoch) == LANDED


def test_not_found_fill(store, client):
    epoch = lease(store).epoch
    assert fill(store, -1, epoch) == LANDED
    assert cached_version(client) == -1
    assert fill(store, -1, epoch) == LANDED  # negative over negative
    client.set(KEYS.value, env(2))
    assert fill(store, -1, epoch) == REFUSED_NEGATIVE_OVER_LIVE
    assert cached_version(client) == 2
    client.delete(KEYS.value)
    invalidate(store, 2)
    assert fill(store, -1, epoch) == REFUSED_EPOCH
    assert fill(store, -1, epoch + 1) == LANDED  # deleted item, nothing changed since the read


def test_positive_fill_replaces_negative(store, client):
    epoch = lease(store).epoch
    fill(store, -1, epoch)
    assert fill(store, 1, epoch) == LANDED
    assert cached_version(client) == 1


# --- write-through --------------------------------------------------------------------------


def anchor(client, committed=0, epoch=SEED):
    """An anchored fence, as a strongly consistent fill of `committed` leaves it."""
    client.hset(KEYS.fence, mapping={"e": epoch, "k": committed})


def test_write_through_lands_moves_the_epoch_and_marks_older_versions_stale(store, client):
    anchor(client, 0)
    assert write_through(store, 1) == LANDED
    assert fence(client) == (0, SEED + 1, 1)
    assert 0 < client.pttl(KEYS.fence) <= FENCE_TTL_MS
    assert write_through(store, 2) == LANDED
    assert (cached_version(client), fence(client)) == (2, (1, SEED + 2, 2))


def test_write_through_on_a_missing_fence_only_clears_what_it_proves_stale(store, client):
    """It may be a late write-through whose successor's fence was evicted with its value:
    it must not land (a consistent read fills next), but it deletes an older entry."""
    client.set(KEYS.value, env(1))
    assert write_through(store, 2, seed=SEED) == REFUSED_UNANCHORED
    assert cached_version(client) is None
    assert fence(client) == (1, SEED, None)  # created at the seed, not anchored
    assert 0 < client.pttl(KEYS.fence) <= FENCE_TTL_MS


def test_write_through_on_an_unanchored_fence_keeps_a_newer_entry(store, client):
    lease(store)  # a reader created the fence; its consistent fill has not landed yet
    client.set(KEYS.value, env(5))
    assert write_through(store, 4) == REFUSED_UNANCHORED
    assert cached_version(client) == 5
    assert write_through(store, 6) == REFUSED_UNANCHORED
    assert cached_version(client) is None  # 5 is older than the committed 6
    assert fence(client) == (5, SEED + 2, None)


def test_write_through_refused_below_the_committed_version(store, client):
    anchor(client, 7)  # a consistent read saw 7: a write-through of 5 is a late one
    client.set(KEYS.value, env(3))
    assert write_through(store, 5) == REFUSED_STALE
    assert cached_version(client) is None  # 3 is stale whatever happens next
    assert fence(client) == (4, SEED + 1, 7)


def test_write_through_refused_when_not_newer_than_cached(store, client):
    anchor(client)
    client.set(KEYS.value, env(5))  # e.g. filled from the origin, no write-through seen
    assert write_through(store, 4) == REFUSED_OLDER
    assert write_through(store, 5) == REFUSED_OLDER
    assert cached_version(client) == 5
    assert fence(client) == (4, SEED + 2, 5)  # refused writes still move the epoch


def test_late_write_through_refused_even_after_the_newer_entry_was_evicted(store, client):
    anchor(client)
    assert write_through(store, 4) == LANDED
    client.delete(KEYS.value)  # evicted
    assert write_through(store, 3) == REFUSED_STALE
    assert fill(store, 3, fence(client)[1]) == REFUSED_STALE  # a lagging origin read too
    assert cached_version(client) is None


def test_write_through_refused_when_known_stale(store, client):
    anchor(client)
    invalidate(store, 6)
    assert write_through(store, 6) == REFUSED_STALE
    assert cached_version(client) is None
    assert write_through(store, 7) == LANDED


def test_write_through_replaces_negative(store, client):
    anchor(client)
    fill(store, -1, SEED)
    assert write_through(store, 1) == LANDED


def test_refused_write_through_still_deletes_a_negative_entry(store, client):
    # Delete at version 5, a read caches the 404, then a write of version 5 arrives late.
    invalidate(store, 5)
    assert fill(store, -1, fence(client)[1]) == LANDED
    assert write_through(store, 5) == REFUSED_STALE
    assert client.exists(KEYS.value) == 0  # the committed write proves the item exists
    assert fence(client) == (5, SEED + 1, None)


def test_refused_write_through_keeps_a_live_newer_entry(store, client):
    invalidate(store, 5)
    client.set(KEYS.value, env(7))
    assert write_through(store, 5) == REFUSED_STALE
    assert cached_version(client) == 7


# --- invalidation ---------------------------------------------------------------------------


def test_invalidation_creates_a_missing_fence_at_the_seed(store, client):
    client.set(KEYS.value, env(3))
    assert invalidate(store, 3, seed=SEED) is True
    assert cached_version(client) is None
    assert fence(client) == (3, SEED, None)
    assert 0 < client.pttl(KEYS.fence) <= FENCE_TTL_MS


def test_invalidation_moves_the_epoch_and_keeps_the_committed_version(store, client):
    client.hset(KEYS.fence, mapping={"e": 10, "v": 1, "k": 2})
    invalidate(store, 2)
    assert fence(client) == (2, 11, 2)


def test_invalidation_keeps_newer_entry(store, client):
    client.set(KEYS.value, env(5))
    assert invalidate(store, 4) is False
    assert cached_version(client) == 5


def test_invalidation_deletes_negative_entry(store, client):
    fill(store, -1, lease(store).epoch)
    assert invalidate(store, 0) is True
    assert cached_version(client) is None


def test_invalidation_keeps_the_highest_stale_version(store, client):
    invalidate(store, 9)
    invalidate(store, 2)  # a late stream record
    assert fence(client) == (9, SEED + 1, None)


def test_invalidation_deletes_the_lease(store, client):
    lease(store, "tok")
    invalidate(store, 1)
    assert client.get(KEYS.lease) is None


# --- lease renewal and release (items and pages alike) ------------------------------------


def test_renewal_extends_only_the_callers_own_lease(store, client):
    client.set(KEYS.lease, "mine", px=500)
    assert store.renew_lease(KEYS.lease, "mine", 60_000) is True
    assert 500 < client.pttl(KEYS.lease) <= 60_000
    assert store.renew_lease(KEYS.lease, "someone-else", 120_000) is False
    assert client.pttl(KEYS.lease) <= 60_000
    client.delete(KEYS.lease)
    assert store.renew_lease(KEYS.lease, "mine", 60_000) is False
    assert client.exists(KEYS.lease) == 0  # a lost lease is not brought back


def test_release_deletes_only_the_callers_own_lease(store, client):
    client.set(KEYS.lease, "theirs", px=5000)
    assert store.release_lease(KEYS.lease, "mine") is False
    assert client.get(KEYS.lease) == b"theirs"
    assert store.release_lease(KEYS.lease, "theirs") is True
    assert client.exists(KEYS.lease) == 0


# --- list generations and pages -----------------------------------------------------------

GEN = generation_key("books")


def test_bump_starts_a_missing_generation_at_the_floor(store, client):
    assert store.bump_generation(GEN, 5_000) == 5_000
    assert int(client.get(GEN)) == 5_000


def test_bump_moves_to_the_floor_or_one_past_the_current_generation(store, client):
    client.set(GEN, 100)
    assert store.bump_generation(GEN, 5_000) == 5_000  # the current time is ahead
    assert store.bump_generation(GEN, 4_000) == 5_001  # two bumps in one ms, or a slow clock
    assert int(client.get(GEN)) == 5_001


def test_page_lease_refuses_a_moved_generation(store, client):
    page = page_keys("books", 7, 20, None)
    client.set(GEN, 8)
    got = store.page_lease(GEN, page, 7, "tok", 5000)
    assert (got.generation, got.value, got.acquired) == (8, None, False)
    assert client.exists(page.lease) == 0
    client.delete(GEN)
    assert store.page_lease(GEN, page, 7, "tok", 5000).generation is None


def test_page_lease_is_exclusive_and_returns_the_page(store, client):
    page = page_keys("books", 7, 20, None)
    client.set(GEN, 7)
    first = store.page_lease(GEN, page, 7, "a", 1000)
    assert (first.generation, first.value, first.acquired) == (7, None, True)
    assert 0 < first.lease_ttl_ms <= 1000
    client.set(page.value, b"0|1|e\n[]")
    second = store.page_lease(GEN, page, 7, "b", 1000)
    assert (second.value, second.acquired) == (b"0|1|e\n[]", False)


def test_page_fill_lands_only_under_the_same_generation(store, client):
    page = page_keys("books", 7, 20, None)
    client.set(GEN, 7)
    client.set(page.lease, "tok")
    fill_args = {"generation": 7, "envelope": b"0|1|e\n[]", "ttl_ms": 60_000}
    assert store.page_fill(GEN, page, **fill_args, token="tok") is True
    assert client.get(page.value) == b"0|1|e\n[]"
    assert client.exists(page.lease) == 0
    assert 0 < client.pttl(page.value) <= 60_000
    client.delete(page.value)
    client.set(page.lease, "tok")
    client.set(GEN, 8)  # bumped during the query
    assert store.page_fill(GEN, page, **fill_args, token="tok") is False
    assert client.exists(page.value) == 0
    assert client.exists(page.lease) == 0  # the lease goes either way
    client.delete(GEN)  # evicted
    assert store.page_fill(GEN, page, **fill_args, token="") is False


# --- scripts survive SCRIPT FLUSH (EVALSHA falls back on NOSCRIPT) -------------------------


def test_scripts_reload_after_script_flush(store, client):
    assert fill(store, 1, lease(store).epoch) == LANDED
    client.script_flush()
    assert invalidate(store, 1) is True
