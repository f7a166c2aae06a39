"""Collection pages (e.g. a category) through L1 -> L2 -> a secondary index, under a generation.

Every page of a category is stored under the category's current generation
(`pc:{c:<category>}:g`); invalidating all of them is one INCR. A page computed while a bump
happens is stored under the old generation, which no reader looks up any more, so list fills
need no compare-and-set.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from cache_constructs.contract.keys import generation_key, page_key
from cache_constructs.contract.policy import CachePolicy

from . import envelope, telemetry
from .codec import Item, Rendered
from .errors import CacheUnavailable
from .jitter import jittered
from .l1_cache import L1Cache
from .l2_store import L2Store
from .origin import Origin
from .results import BYPASS, HIT_L1, HIT_L2, MISS, CachedRead
from .tracking import Ticket

_GENERATION_SEED_BITS = 48


class ListCache:
    """Collection pages (e.g. products by category) of one Lambda environment (its L1 is
    module state)."""

    def __init__(
        self,
        *,
        policy: CachePolicy,
        origin: Origin,
        l1: L1Cache | None,
        l2: L2Store | None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.origin = origin
        self.l1 = l1 if policy.uses("l1") and policy.l1_ttl_seconds > 0 else None
        self.l2 = l2 if policy.uses("l2") and policy.l2_ttl_seconds > 0 else None
        self._clock = clock
        self._rng = rng or random.Random()

    def read(self, category: str, limit: int, cursor: str | None) -> CachedRead:
        """One page of `category`. Raises InvalidCursor for a cursor we did not issue."""
        start_key = self.origin.codec.page_start_key(category, cursor) if cursor else None
        l1_key = ("list", category, limit, cursor or "")
        if self.l1 is not None:
            entry = self.l1.get(l1_key)
            if entry is not None:
                telemetry.count(telemetry.L1_HIT)
                return CachedRead(entry.body, entry.etag, None, HIT_L1)
            telemetry.count(telemetry.L1_MISS)
        if self.l2 is None:
            page = self._query(category, limit, start_key)
            self._remember(l1_key, page, self.policy.l1_ttl_seconds)
            return CachedRead(page.body, page.etag, None, MISS)
        try:
            key, ticket = self._page_key(self.l2, l1_key, category, limit, cursor)
            started = time.perf_counter()
            raw = self.l2.get(key)
            telemetry.latency(telemetry.L2_LATENCY, (time.perf_counter() - started) * 1e3)
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_BYPASS)
            page = self._query(category, limit, start_key)
            return CachedRead(page.body, page.etag, None, BYPASS)
        now_ms = int(self._clock() * 1000)
        cached = envelope.decode_or_none(raw)
        if cached is not None and now_ms < cached.fresh_until_ms:
            telemetry.count(telemetry.L2_HIT)
            self._remember(
                l1_key,
                Rendered(cached.body, cached.etag, cached.version),
                (cached.fresh_until_ms - now_ms) / 1000.0,
                ticket=ticket,
            )
            return CachedRead(cached.body, cached.etag, None, HIT_L2)
        telemetry.count(telemetry.L2_MISS)
        page = self._query(category, limit, start_key)
        fresh_ms = int(jittered(self.policy.l2_ttl_seconds, self.policy.jitter, self._rng) * 1000)
        try:
            self.l2.set(
                key,
                envelope.encode(page.version, now_ms + fresh_ms, page.etag, page.body),
                fresh_ms,
            )
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)
        else:
            self._remember(l1_key, page, fresh_ms / 1000.0)
        return CachedRead(page.body, page.etag, None, MISS)

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
        if self.l1 is not None:
            # L1 is keyed without the generation; dropping this process's pages is all it can do.
            self.l1.clear()
        if self.l2 is None:
            return
        for category in unique:
            self.l2.bump_generation(generation_key(category), self._seed())
            telemetry.count(telemetry.INVALIDATIONS)

    def _page_key(
        self, l2: L2Store, l1_key: tuple[Any, ...], category: str, limit: int, cursor: str | None
    ) -> tuple[str, Ticket | None]:
        """The page's L2 key under the current generation, and the ticket that lets the page
        enter L1: the generation is read through L1's tracking connection, so a bump (INCR)
        pushes an invalidation that discards every L1 page of the category."""
        gen_key = generation_key(category)
        raw, ticket = (
            self.l1.read_through(l1_key, gen_key, l2.get) if self.l1 is not None else (None, None)
        )
        if raw is None:  # no L1, or the generation does not exist yet (started just below)
            generation, ticket = l2.generation(gen_key, self._seed()), None
        else:
            generation = int(raw)
        return page_key(category, generation, limit, cursor), ticket

    def _seed(self) -> int:
        return self._rng.getrandbits(_GENERATION_SEED_BITS)

    def _query(self, category: str, limit: int, start_key: Item | None) -> Rendered:
        items, last_key = self.origin.query_collection(category, limit, start_key)
        return self.origin.codec.render_page(items, last_key)

    def _remember(
        self,
        key: tuple[Any, ...],
        page: Rendered,
        ttl_seconds: float,
        *,
        ticket: Ticket | None = None,
    ) -> None:
        # With client tracking only a page whose generation was read through it enters L1.
        if self.l1 is None:
            return
        ttl = min(jittered(self.policy.l1_ttl_seconds, self.policy.jitter, self._rng), ttl_seconds)
        self.l1.put(
            key, body=page.body, etag=page.etag, version=None, ttl_seconds=ttl, ticket=ticket
        )
