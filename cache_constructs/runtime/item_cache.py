"""Item reads through L1 -> L2 -> origin, write-through and invalidation of one item.

Read path (docs/architecture.md has the key layout and the Lua rules):
- L1 hit: a dict lookup (HIT-L1).
- L2 fresh hit: one GET and a header split (HIT-L2). A hot key may instead be refreshed a
  little early (XFetch: probability grows as expiry nears, scaled by the origin's latency) by
  the one caller that wins the fill lease, synchronously (a frozen Lambda runs nothing later).
- Anything else asks lease.lua, which answers with the value as it is now, the item's fence
  and a try for the fill lease:
  - the value changed since this caller's GET (someone filled or refreshed it): serve that,
    so one expiry is refreshed once;
  - an entry due for a refresh (stale inside the SWR window, or chosen by XFetch): the lease
    winner refreshes it, everyone else serves it at once (STALE, or HIT-L2 while fresh);
  - nothing cached: the lease winner reads the origin, renewing its lease while it works;
    the others wait for its fill (at most `lease_wait_max_seconds`), then read the origin
    themselves (their fill is still compare-and-set).
- Origin reads: DAX or an eventually consistent read only when the fence is anchored and
  vouches for the answer's version; else (cold, expired or evicted fence, a refused answer)
  a strongly consistent read, which anchors a new fence when it fills.
- Fills are compare-and-set against the fence's epoch and versions (fill.lua), so a slow
  reader can never put back a value a write or invalidation replaced, even after the fence
  itself was evicted (a new fence gets a new random epoch).
- L2 unreachable or its breaker open: a strongly consistent origin read, BYPASS, no fill.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections.abc import Callable

from cache_constructs.contract.keys import ItemKeys, item_keys
from cache_constructs.contract.policy import CachePolicy

from . import envelope, telemetry
from .codec import Rendered
from .errors import CacheUnavailable
from .jitter import jittered
from .l1_cache import L1Cache
from .l2_store import FENCE_MIN_TTL_MS, LANDED, REFUSED_UNANCHORED, ItemLease, L2Store
from .leases import (
    DEFAULT_LEASE_MS,
    DEFAULT_LEASE_WAIT_MAX_SECONDS,
    LeaseKeeper,
    LeaseWait,
    new_token,
)
from .origin import Fence, Origin, OriginAnswer
from .results import BYPASS, HIT_L1, HIT_L2, MISS, STALE, CachedRead
from .tracking import Ticket, TrackedRead

XFETCH_BETA = 1.0
EPOCH_BITS = 48


def random_epoch() -> int:
    """A new fence's epoch: random, so an epoch read before the fence was lost never recurs."""
    return secrets.randbits(EPOCH_BITS)


class ItemCache:
    """The item-by-id cache of one Lambda environment (its L1 is module state).

    `clock` (epoch seconds), `rng` (jitter, XFetch), `sleep` (the lease wait), `new_epoch`
    and `lease_renew_seconds` are injectable, so tests can drive every interleaving.
    """

    def __init__(
        self,
        *,
        policy: CachePolicy,
        origin: Origin,
        l1: L1Cache | None,
        l2: L2Store | None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        lease_ms: int = DEFAULT_LEASE_MS,
        lease_wait_max_seconds: float = DEFAULT_LEASE_WAIT_MAX_SECONDS,
        lease_renew_seconds: float | None = None,
        new_epoch: Callable[[], int] = random_epoch,
    ) -> None:
        self.policy = policy
        self.origin = origin
        self.l1 = l1 if policy.uses("l1") and policy.l1_ttl_seconds > 0 else None
        self.l2 = l2 if policy.uses("l2") and policy.l2_ttl_seconds > 0 else None
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._new_epoch = new_epoch
        self.lease_ms = lease_ms
        self.lease_wait_max_seconds = lease_wait_max_seconds
        # The fence outlives the longest-lived value it guards (its TTL is a cost knob: a
        # lost fence costs one strongly consistent read, never a stale value).
        self.fence_ttl_ms = max(
            FENCE_MIN_TTL_MS, (policy.l2_ttl_seconds + policy.swr_seconds) * 1000
        )
        self._keeper = LeaseKeeper(
            self._renew, lease_ms=lease_ms, interval_seconds=lease_renew_seconds
        )

    # --- read -------------------------------------------------------------------------------

    def read(self, item_id: str) -> CachedRead:
        """The item's response (value None = not found). Cache faults never raise."""
        hit = self._l1_lookup(item_id)
        if hit is not None:
            return hit
        if self.l2 is None:
            return CachedRead(self._render(self.origin.get_item(item_id)), MISS)
        try:
            return self._read_l2(item_id, self.l2)
        except CacheUnavailable:
            # Nothing can vouch for a possibly stale copy: the origin reads consistently.
            telemetry.count(telemetry.CACHE_BYPASS)
            return CachedRead(self._render(self.origin.get_item(item_id)), BYPASS)

    def _read_l2(self, item_id: str, l2: L2Store) -> CachedRead:
        keys = item_keys(item_id)
        started = time.perf_counter()
        raw, ticket = self._l2_get(item_id, keys.value, l2)
        telemetry.latency(telemetry.L2_LATENCY, (time.perf_counter() - started) * 1e3)
        cached = envelope.decode_or_none(raw)
        if cached is None:
            telemetry.count(telemetry.L2_MISS)
            return self._through_lease(item_id, l2, keys, seen=None)
        now_ms = self._now_ms()
        if now_ms < cached.fresh_until_ms and not self._refresh_early(
            cached.fresh_until_ms, now_ms
        ):
            telemetry.count(telemetry.L2_HIT)
            self._l1_remember(
                item_id, cached.value, fresh_until_ms=cached.fresh_until_ms, ticket=ticket
            )
            return CachedRead(cached.value, HIT_L2)
        return self._through_lease(item_id, l2, keys, seen=raw, ticket=ticket)

    def _through_lease(
        self,
        item_id: str,
        l2: L2Store,
        keys: ItemKeys,
        *,
        seen: bytes | None,
        ticket: Ticket | None = None,
    ) -> CachedRead:
        """Everything but a fresh hit: decide on what lease.lua says the value is now.

        `ticket` is the tracked GET's (L1 coherence): it vouches only for the value that GET
        saw, so a value lease.lua returns enters L1 with it only if it is the same."""
        token = new_token()
        try:
            lease = self._lease(l2, keys, token)
        except CacheUnavailable:
            stored = envelope.decode_or_none(seen)
            if stored is None:
                raise
            return self._serve(item_id, stored, ticket=ticket)
        current = envelope.decode_or_none(lease.value)
        if current is not None:
            if lease.value != seen and self._now_ms() < current.fresh_until_ms:
                # Filled or refreshed since our GET: that is this expiry's one refresh.
                if lease.acquired:
                    self._release(l2, keys.lease, token)
                return self._serve(item_id, current)
            if not lease.acquired:  # someone else is refreshing it: serve it meanwhile
                same = lease.value == seen
                return self._serve(item_id, current, ticket=ticket if same else None)
            return self._refresh(item_id, l2, keys, lease, token, current)
        if not lease.acquired:
            waited = self._wait_for_fill(item_id, l2, keys, token, lease)
            if isinstance(waited, CachedRead):
                return waited
            lease = waited
            if not lease.acquired:
                token = ""  # the lease is someone else's; our fill is still compare-and-set
        started_ms = self._now_ms()
        try:
            answer = self._origin_read(item_id, keys, lease, token)
        except Exception:
            if token:  # let the next reader try the origin without waiting out the lease
                self._release(l2, keys.lease, token)
            raise
        return CachedRead(self._fill(item_id, l2, keys, answer, lease, token, started_ms), MISS)

    def _refresh(
        self,
        item_id: str,
        l2: L2Store,
        keys: ItemKeys,
        lease: ItemLease,
        token: str,
        current: envelope.Stored,
    ) -> CachedRead:
        """The lease winner refreshes an entry that is due; on an origin failure it serves
        the entry it holds (the policy still allows it)."""
        started_ms = self._now_ms()
        try:
            answer = self._origin_read(item_id, keys, lease, token)
        except Exception:
            telemetry.logger.exception("origin read failed; serving the cached value")
            self._release(l2, keys.lease, token)
            return self._serve(item_id, current)
        return CachedRead(self._fill(item_id, l2, keys, answer, lease, token, started_ms), MISS)

    def _wait_for_fill(
        self, item_id: str, l2: L2Store, keys: ItemKeys, token: str, lease: ItemLease
    ) -> CachedRead | ItemLease:
        """Poll while another caller's (renewed) lease is alive, for its fill.

        Each poll is lease.lua again: it returns the value once filled, and takes the lease
        over (for exactly one poller) if the holder let it go without filling. Returns the
        value, or the last lease result (acquired: this caller is now the filler).
        """
        telemetry.count(telemetry.LEASE_WAIT)
        wait = LeaseWait(self.lease_wait_max_seconds, self._sleep)
        while wait.pause(lease.lease_ttl_ms):
            lease = self._lease(l2, keys, token)
            current = envelope.decode_or_none(lease.value)
            if current is not None:  # counted as LeaseWait (its first GET was the L2Miss)
                if lease.acquired:
                    self._release(l2, keys.lease, token)
                return self._serve(item_id, current, count=False)
            if lease.acquired:
                return lease
        return lease

    def _refresh_early(self, fresh_until_ms: int, now_ms: int) -> bool:
        # XFetch (Vattani et al.): refresh when now - delta * beta * ln(U) >= expiry.
        delta_ms = self.origin.latency_ewma_ms
        u = self._rng.random() or 1e-12
        return now_ms - delta_ms * XFETCH_BETA * math.log(u) >= fresh_until_ms

    def _serve(
        self,
        item_id: str,
        stored: envelope.Stored,
        *,
        count: bool = True,
        ticket: Ticket | None = None,
    ) -> CachedRead:
        """An L2 entry as this caller's answer: HIT-L2 while fresh, else STALE (inside SWR)."""
        if self._now_ms() < stored.fresh_until_ms:
            if count:
                telemetry.count(telemetry.L2_HIT)
            self._l1_remember(
                item_id, stored.value, fresh_until_ms=stored.fresh_until_ms, ticket=ticket
            )
            return CachedRead(stored.value, HIT_L2)
        telemetry.count(telemetry.STALE_SERVED)
        return CachedRead(stored.value, STALE)

    # --- origin and fills -------------------------------------------------------------------

    def _origin_read(
        self, item_id: str, keys: ItemKeys, lease: ItemLease, token: str
    ) -> OriginAnswer:
        fence = Fence(lease.stale_through, lease.committed) if lease.committed is not None else None
        if not (token and lease.acquired):
            return self.origin.get_item(item_id, fence=fence)
        with self._keeper.kept(keys.lease, token):
            return self.origin.get_item(item_id, fence=fence)

    def _render(self, answer: OriginAnswer) -> Rendered | None:
        return None if answer.item is None else self.origin.codec.render_item(answer.item)

    def _fill(
        self,
        item_id: str,
        l2: L2Store,
        keys: ItemKeys,
        answer: OriginAnswer,
        lease: ItemLease,
        token: str,
        started_ms: int,
    ) -> Rendered | None:
        """Offer an origin answer to L2 (compare-and-set); returns it rendered. Freshness
        counts from the start of the origin read, not from the fill."""
        value = self._render(answer)
        if value is None:
            fresh_ms = self._ttl_ms(self.policy.negative_ttl_seconds)
            if fresh_ms <= 0:  # not-found is not cached: only the lease needs to go
                if token:
                    self._release(l2, keys.lease, token)
                return None
            ttl_ms = fresh_ms
        else:
            fresh_ms = self._ttl_ms(self.policy.l2_ttl_seconds)
            ttl_ms = fresh_ms + self.policy.swr_seconds * 1000
        fresh_until_ms = started_ms + fresh_ms
        try:
            outcome = l2.fill(
                keys,
                version=envelope.NOT_FOUND_VERSION if value is None else value.version,
                epoch=lease.epoch,
                envelope=envelope.encode(value, fresh_until_ms),
                ttl_ms=ttl_ms,
                token=token,
                consistent=answer.consistent,
                fence_ttl_ms=self.fence_ttl_ms,
            )
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)
            return value
        if outcome == LANDED:
            # Only a value the CAS accepted may enter L1: a refused one may already be stale.
            self._l1_remember(item_id, value, fresh_until_ms=fresh_until_ms, as_of_ms=started_ms)
        return value

    def _lease(self, l2: L2Store, keys: ItemKeys, token: str) -> ItemLease:
        return l2.lease(
            keys,
            token,
            self.lease_ms,
            epoch_seed=self._new_epoch(),
            fence_ttl_ms=self.fence_ttl_ms,
        )

    def _renew(self, lease_key: str, token: str, lease_ms: int) -> bool:
        if self.l2 is None:
            return False
        try:
            return self.l2.renew_lease(lease_key, token, lease_ms)
        except CacheUnavailable:
            return True  # a blip: try again next period while the lease may still be ours

    @staticmethod
    def _release(l2: L2Store, lease_key: str, token: str) -> None:
        # Best effort: an unreleased lease only delays other fillers until it expires.
        try:
            l2.release_lease(lease_key, token)
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)

    # --- write path -------------------------------------------------------------------------

    def write_through(self, item_id: str, rendered: Rendered) -> bool:
        """Put committed `rendered` into L2 if nothing newer is known. Never raises.

        Returns False when it did not land: a newer version or invalidation is already there,
        or the fence is not anchored (a consistent read fills next; an older cached entry is
        deleted either way), neither an error; or L2 failed (logged and counted as
        `CacheWriteFailure`; the stream invalidation then repairs the entry).
        """
        self._l1_forget(item_id)
        if self.l2 is None:
            return False
        now_ms = self._now_ms()
        fresh_ms = self._ttl_ms(self.policy.l2_ttl_seconds)
        try:
            outcome = self.l2.write_through(
                item_keys(item_id),
                version=rendered.version,
                envelope=envelope.encode(rendered, now_ms + fresh_ms),
                ttl_ms=fresh_ms + self.policy.swr_seconds * 1000,
                epoch_seed=self._new_epoch(),
                fence_ttl_ms=self.fence_ttl_ms,
            )
        except CacheUnavailable as exc:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)
            telemetry.logger.warning(
                "write-through failed", extra={"item_id": item_id, "error": str(exc)}
            )
            return False
        if outcome != LANDED:
            telemetry.logger.info(
                "write-through not applied: "
                + (
                    "the fence is not anchored; the next read fills from a consistent read"
                    if outcome == REFUSED_UNANCHORED
                    else "newer data known"
                ),
                extra={"item_id": item_id, "version": rendered.version, "code": outcome},
            )
            return False
        self._l1_remember(item_id, rendered, fresh_until_ms=now_ms + fresh_ms)
        return True

    def invalidate(self, item_id: str, stale_through: int) -> None:
        """Mark versions <= `stale_through` stale (stream record, delete).

        Raises CacheUnavailable when L2 cannot be reached, so the stream handler reports the
        record as failed and it is retried.
        """
        self._l1_forget(item_id)
        if self.l2 is None:
            return
        self.l2.invalidate(
            item_keys(item_id),
            stale_through=stale_through,
            epoch_seed=self._new_epoch(),
            fence_ttl_ms=self.fence_ttl_ms,
        )
        telemetry.count(telemetry.INVALIDATIONS)

    # --- L1 (every L1 interaction of this class is one of these) -------------------------

    def _l2_get(self, item_id: str, value_key: str, l2: L2Store) -> TrackedRead:
        """The item's L2 GET: through L1's tracking connection when L1 is on, so that only a
        tracked value may enter L1 (its ticket); else a plain GET."""
        if self.l1 is None:
            return TrackedRead(l2.get(value_key), None)
        return self.l1.read_through(item_id, value_key, l2.get)

    def _l1_lookup(self, item_id: str) -> CachedRead | None:
        """A HIT-L1 answer, or None (counted either way)."""
        if self.l1 is None:
            return None
        started = time.perf_counter()
        entry = self.l1.get(item_id)
        if entry is None:
            telemetry.count(telemetry.L1_MISS)
            return None
        telemetry.count(telemetry.L1_HIT)
        telemetry.latency(telemetry.L1_LATENCY, (time.perf_counter() - started) * 1e3)
        return CachedRead(entry.value, HIT_L1)

    def _l1_remember(
        self,
        item_id: str,
        value: Rendered | None,
        *,
        fresh_until_ms: int,
        as_of_ms: int | None = None,
        ticket: Ticket | None = None,
    ) -> None:
        """Keep `value` (current as of `as_of_ms`, default now) in L1 for at most the L1 TTL
        (the negative TTL for not-found) counted from `as_of_ms`, and never past its L2
        freshness. With client tracking only a value read through it (`ticket`) enters L1: a
        fill or a write-through sets L2 untracked, so its value waits for the next (tracked)
        L2 hit."""
        if self.l1 is None:
            return
        now_ms = self._now_ms()
        as_of = now_ms if as_of_ms is None else as_of_ms
        ttl = jittered(self.policy.l1_ttl_seconds, self.policy.jitter, self._rng)
        if value is None:
            ttl = min(ttl, self.policy.negative_ttl_seconds)
        ttl = min(ttl, (fresh_until_ms - as_of) / 1000.0) - (now_ms - as_of) / 1000.0
        self.l1.put(
            item_id,
            value,
            ttl_seconds=ttl,
            ticket=ticket,
        )

    def _l1_forget(self, item_id: str) -> None:
        if self.l1 is not None:
            self.l1.discard(item_id)

    # --- helpers ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _ttl_ms(self, ttl_seconds: int) -> int:
        return int(jittered(ttl_seconds, self.policy.jitter, self._rng) * 1000)
