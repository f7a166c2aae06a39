"""Collection pages (e.g. a category) through L1 -> L2 -> a secondary index, under a generation.

Every page of a category is stored under the category's current generation
(`pc:{c:<category>}:g`); invalidating all of them is one bump. Pages get the items' stampede
protection, per page key: one caller leases the page and queries the index (renewing its
lease while it works), the others wait for its fill; a page past its freshness but inside
the SWR window is served stale while one caller refreshes it, but only within its own
generation (after a bump the old page is unreachable: serving it would break
read-your-writes). So one query per page per generation.

A page fill lands in L2 only if the generation did not move during the query (page_fill.lua
re-reads it atomically with the SET), and only a landed page enters L1, for at most the L1
TTL counted from the query's start. The index is eventually consistent (no ConsistentRead
on a GSI), so a query that starts within `settle_seconds` of its generation's bump may miss
the write that caused it: such a page is kept for at most `settle_seconds` (no SWR), and the
next query, after the window, sees the write.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from cache_constructs.contract.keys import (
    GENERATION_RANDOM_BITS,
    PageKeys,
    bumped_at_ms,
    generation_floor,
    generation_key,
    page_keys,
)
from cache_constructs.contract.policy import CachePolicy

from . import envelope, telemetry
from .codec import Item, Rendered
from .errors import CacheUnavailable
from .jitter import jittered
from .l1_cache import L1Cache
from .l2_store import L2Store, PageLease
from .leases import (
    DEFAULT_LEASE_MS,
    DEFAULT_LEASE_WAIT_MAX_SECONDS,
    LeaseKeeper,
    LeaseWait,
    new_token,
)
from .origin import Origin
from .results import BYPASS, HIT_L1, HIT_L2, MISS, STALE, CachedRead
from .tracking import Ticket

DEFAULT_SETTLE_SECONDS = 1.0
"""How long after a bump a GSI query may still miss the write (the index's replication lag,
typically well under a second): pages queried in this window live no longer than it."""

_GENERATION_ATTEMPTS = 3
"""Bumps a read follows before it answers from the index without caching."""


class _GenerationMoved(Exception):
    """The generation changed under a page read: start over under the new one."""


class ListCache:
    """Collection pages (e.g. products by category) of one Lambda environment (its L1 is
    module state). `clock`, `rng`, `sleep`, `random_bits` and the lease timings are
    injectable."""

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
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        random_bits: Callable[[], int] = lambda: secrets.randbits(GENERATION_RANDOM_BITS),
    ) -> None:
        self.policy = policy
        self.origin = origin
        self.l1 = l1 if policy.uses("l1") and policy.l1_ttl_seconds > 0 else None
        self.l2 = l2 if policy.uses("l2") and policy.l2_ttl_seconds > 0 else None
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._random_bits = random_bits
        self.lease_ms = lease_ms
        self.lease_wait_max_seconds = lease_wait_max_seconds
        self.settle_ms = int(settle_seconds * 1000)
        self._keeper = LeaseKeeper(
            self._renew, lease_ms=lease_ms, interval_seconds=lease_renew_seconds
        )

    # --- read -------------------------------------------------------------------------------

    def read(self, category: str, limit: int, cursor: str | None) -> CachedRead:
        """One page of `category`. Raises InvalidCursor for a cursor we did not issue."""
        start_key = self.origin.codec.page_start_key(category, cursor) if cursor else None
        l1_key = ("list", category, limit, cursor or "")
        hit = self._l1_lookup(l1_key)
        if hit is not None:
            return hit
        if self.l2 is None:
            return CachedRead(self._query(category, limit, start_key), MISS)
        try:
            for _ in range(_GENERATION_ATTEMPTS):
                try:
                    return self._read_l2(self.l2, l1_key, category, limit, cursor, start_key)
                except _GenerationMoved:
                    continue
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_BYPASS)
            return CachedRead(self._query(category, limit, start_key), BYPASS)
        # Bumped again and again while we read: answer from the index, cache nothing.
        return CachedRead(self._query(category, limit, start_key), MISS)

    def _read_l2(
        self,
        l2: L2Store,
        l1_key: tuple[Any, ...],
        category: str,
        limit: int,
        cursor: str | None,
        start_key: Item | None,
    ) -> CachedRead:
        gen_key = generation_key(category)
        generation, ticket = self._generation(l2, l1_key, gen_key)
        keys = page_keys(category, generation, limit, cursor)
        started = time.perf_counter()
        raw = l2.get(keys.value)
        telemetry.latency(telemetry.L2_LATENCY, (time.perf_counter() - started) * 1e3)
        cached = envelope.decode_or_none(raw)
        if cached is not None and self._now_ms() < cached.fresh_until_ms:
            telemetry.count(telemetry.L2_HIT)
            self._l1_remember(
                l1_key, cached.value, fresh_until_ms=cached.fresh_until_ms, ticket=ticket
            )
            return CachedRead(cached.value, HIT_L2)
        if cached is None:
            telemetry.count(telemetry.L2_MISS)
            raw = None
        token = new_token()
        lease = self._lease(l2, gen_key, keys, generation, token)
        current = envelope.decode_or_none(lease.value)
        if current is not None:
            if lease.value != raw and self._now_ms() < current.fresh_until_ms:
                if lease.acquired:  # filled or refreshed since our GET
                    self._release(l2, keys.lease, token)
                return self._serve(l1_key, current, ticket=ticket)
            if not lease.acquired:  # stale, same generation: served while one refreshes
                return self._serve(l1_key, current, ticket=ticket)
        elif not lease.acquired:
            waited = self._wait_for_fill(
                l1_key, l2, gen_key, keys, generation, token, lease, ticket
            )
            if isinstance(waited, CachedRead):
                return waited
            lease = waited
            if not lease.acquired:
                token = ""  # waited long enough: query ourselves, still fill by the rules
        started_ms = self._now_ms()
        try:
            page = self._query_kept(keys, token, category, limit, start_key)
        except Exception:
            if token:
                self._release(l2, keys.lease, token)
            if current is not None:  # the origin failed; the policy allows the stale page
                telemetry.logger.exception("list query failed; serving the cached page")
                return self._serve(l1_key, current, ticket=ticket)
            raise
        self._fill(l2, l1_key, gen_key, keys, generation, page, token, started_ms, ticket)
        return CachedRead(page, MISS)

    def _wait_for_fill(
        self,
        l1_key: tuple[Any, ...],
        l2: L2Store,
        gen_key: str,
        keys: PageKeys,
        generation: int,
        token: str,
        lease: PageLease,
        ticket: Ticket | None,
    ) -> CachedRead | PageLease:
        """Poll the page's (renewed) lease for its holder's fill; see ItemCache."""
        telemetry.count(telemetry.LEASE_WAIT)
        wait = LeaseWait(self.lease_wait_max_seconds, self._sleep)
        while wait.pause(lease.lease_ttl_ms):
            lease = self._lease(l2, gen_key, keys, generation, token)
            current = envelope.decode_or_none(lease.value)
            if current is not None:
                if lease.acquired:
                    self._release(l2, keys.lease, token)
                return self._serve(l1_key, current, count=False, ticket=ticket)
            if lease.acquired:
                return lease
        return lease

    def _serve(
        self,
        l1_key: tuple[Any, ...],
        stored: envelope.Stored,
        *,
        count: bool = True,
        ticket: Ticket | None = None,
    ) -> CachedRead:
        if self._now_ms() < stored.fresh_until_ms:
            if count:
                telemetry.count(telemetry.L2_HIT)
            self._l1_remember(
                l1_key, stored.value, fresh_until_ms=stored.fresh_until_ms, ticket=ticket
            )
            return CachedRead(stored.value, HIT_L2)
        telemetry.count(telemetry.STALE_SERVED)
        return CachedRead(stored.value, STALE)

    def _lease(
        self, l2: L2Store, gen_key: str, keys: PageKeys, generation: int, token: str
    ) -> PageLease:
        lease = l2.page_lease(gen_key, keys, generation, token, self.lease_ms)
        if lease.generation != generation:
            raise _GenerationMoved
        return lease

    # --- origin and fills -------------------------------------------------------------------

    def _query_kept(
        self, keys: PageKeys, token: str, category: str, limit: int, start_key: Item | None
    ) -> Rendered:
        if not token:
            return self._query(category, limit, start_key)
        with self._keeper.kept(keys.lease, token):
            return self._query(category, limit, start_key)

    def _query(self, category: str, limit: int, start_key: Item | None) -> Rendered:
        items, last_key = self.origin.query_collection(category, limit, start_key)
        return self.origin.codec.render_page(items, last_key)

    def _fill(
        self,
        l2: L2Store,
        l1_key: tuple[Any, ...],
        gen_key: str,
        keys: PageKeys,
        generation: int,
        page: Rendered,
        token: str,
        started_ms: int,
        ticket: Ticket | None,
    ) -> None:
        fresh_ms = int(jittered(self.policy.l2_ttl_seconds, self.policy.jitter, self._rng) * 1000)
        ttl_ms = fresh_ms + self.policy.swr_seconds * 1000
        if started_ms - bumped_at_ms(generation) < self.settle_ms:
            # The index may not show the bump's write yet: keep this page only briefly.
            fresh_ms = ttl_ms = min(fresh_ms, self.settle_ms)
        fresh_until_ms = started_ms + fresh_ms
        try:
            landed = l2.page_fill(
                gen_key,
                keys,
                generation=generation,
                envelope=envelope.encode(page, fresh_until_ms),
                ttl_ms=ttl_ms,
                token=token,
            )
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)
            return
        if landed:
            self._l1_remember(
                l1_key, page, fresh_until_ms=fresh_until_ms, as_of_ms=started_ms, ticket=ticket
            )

    def _renew(self, lease_key: str, token: str, lease_ms: int) -> bool:
        if self.l2 is None:
            return False
        try:
            return self.l2.renew_lease(lease_key, token, lease_ms)
        except CacheUnavailable:
            return True

    @staticmethod
    def _release(l2: L2Store, lease_key: str, token: str) -> None:
        try:
            l2.release_lease(lease_key, token)
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)

    # --- invalidation -----------------------------------------------------------------------

    def bump(self, categories: Iterable[str]) -> bool:
        """Invalidate every cached page of `categories` (write path). Never raises."""
        try:
            self.bump_or_raise(categories)
        except CacheUnavailable as exc:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)
            telemetry.logger.warning("list invalidation failed", extra={"error": str(exc)})
            return False
        return True

    def bump_or_raise(self, categories: Iterable[str]) -> None:
        """Invalidate every cached page of `categories`; CacheUnavailable if L2 is away."""
        unique = sorted(set(categories))
        # L1 is keyed without the generation; dropping this process's pages is all it can do.
        self._l1_forget_all()
        if self.l2 is None:
            return
        for category in unique:
            self.l2.bump_generation(generation_key(category), self._floor())
            telemetry.count(telemetry.INVALIDATIONS)

    # --- L1 (every L1 interaction of this class is one of these) -------------------------

    def _generation(
        self, l2: L2Store, l1_key: tuple[Any, ...], gen_key: str
    ) -> tuple[int, Ticket | None]:
        """The category's generation, and the ticket that lets its pages enter L1: the
        generation is read through L1's tracking connection, so a bump pushes an invalidation
        that discards every L1 page of the category. A missing counter starts now."""
        if self.l1 is not None:
            raw, ticket = self.l1.read_through(l1_key, gen_key, l2.get)
            if raw is not None:
                return int(raw), ticket
        return l2.generation(gen_key, self._floor()), None

    def _l1_lookup(self, key: tuple[Any, ...]) -> CachedRead | None:
        if self.l1 is None:
            return None
        entry = self.l1.get(key)
        if entry is None:
            telemetry.count(telemetry.L1_MISS)
            return None
        telemetry.count(telemetry.L1_HIT)
        return CachedRead(entry.value, HIT_L1)

    def _l1_remember(
        self,
        key: tuple[Any, ...],
        page: Rendered | None,
        *,
        fresh_until_ms: int,
        as_of_ms: int | None = None,
        ticket: Ticket | None = None,
    ) -> None:
        """Keep `page` (current as of `as_of_ms`, default now) for at most the L1 TTL counted
        from `as_of_ms`, and never past its L2 freshness. With client tracking only a page
        whose generation was read through it (`ticket`) enters L1."""
        if self.l1 is None or page is None:
            return
        now_ms = self._now_ms()
        as_of = now_ms if as_of_ms is None else as_of_ms
        ttl = (
            min(
                jittered(self.policy.l1_ttl_seconds, self.policy.jitter, self._rng),
                (fresh_until_ms - as_of) / 1000.0,
            )
            - (now_ms - as_of) / 1000.0
        )
        self.l1.put(
            key,
            page,
            ttl_seconds=ttl,
            ticket=ticket,
        )

    def _l1_forget_all(self) -> None:
        if self.l1 is not None:
            self.l1.clear()

    # --- helpers ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _floor(self) -> int:
        return generation_floor(self._now_ms(), self._random_bits())
