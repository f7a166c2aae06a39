"""Category list pages through L1 -> L2 -> the GSI `category-index`, under a generation counter.

Every page of a category is stored under the category's current generation
(`pc:{c:<category>}:g`); invalidating all of them is one INCR. A page computed while a bump
happens is stored under the old generation, which no reader looks up any more, so list fills
need no compare-and-set.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from . import envelope, telemetry
from .config import CachePolicyConfig
from .errors import CacheUnavailable, InvalidCursor
from .jitter import jittered
from .keys import generation_key, page_key
from .l1_cache import L1Cache
from .l2_store import L2Store
from .origin import Origin
from .representation import etag_of, product_from_item, product_key, render_list
from .results import BYPASS, HIT_L1, HIT_L2, MISS, CachedRead

_PRODUCT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_GENERATION_SEED_BITS = 48
LIST_VERSION = 0


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    """An opaque base64url cursor for the GSI position after `last_evaluated_key`."""
    if not last_evaluated_key:
        return None
    product_id = last_evaluated_key["productId"]["S"]
    raw = json.dumps({"p": product_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, category: str) -> dict[str, Any]:
    """The ExclusiveStartKey a cursor stands for; InvalidCursor (naming `cursor`) otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidCursor("cursor is not a valid page token") from None
    product_id = data.get("p") if isinstance(data, dict) else None
    if not isinstance(product_id, str) or not _PRODUCT_ID.match(product_id):
        raise InvalidCursor("cursor is not a valid page token")
    return {
        **product_key(product_id),
        "category": {"S": category},
        "productId": {"S": product_id},
    }


class ListCache:
    """Category pages of one Lambda environment (its L1 is module state)."""

    def __init__(
        self,
        *,
        policy: CachePolicyConfig,
        origin: Origin,
        l1: L1Cache | None,
        l2: L2Store | None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.origin = origin
        self.l1 = l1 if policy.uses("l1") and policy.l1_ttl > 0 else None
        self.l2 = l2 if policy.uses("l2") and policy.l2_ttl > 0 else None
        self._clock = clock
        self._rng = rng or random.Random()

    def read(self, category: str, limit: int, cursor: str | None) -> CachedRead:
        """One page of `category`. Raises InvalidCursor for a cursor we did not issue."""
        start_key = decode_cursor(cursor, category) if cursor else None
        l1_key = ("list", category, limit, cursor or "")
        if self.l1 is not None:
            entry = self.l1.get(l1_key)
            if entry is not None:
                telemetry.count(telemetry.L1_HIT)
                return CachedRead(entry.body, entry.etag, None, HIT_L1)
            telemetry.count(telemetry.L1_MISS)
        if self.l2 is None:
            body = self._query(category, limit, start_key)
            self._remember(l1_key, body, self.policy.l1_ttl)
            return CachedRead(body, etag_of(body), None, MISS)
        try:
            key = self._page_key(self.l2, category, limit, cursor)
            started = time.perf_counter()
            raw = self.l2.get(key)
            telemetry.latency(telemetry.L2_LATENCY, (time.perf_counter() - started) * 1e3)
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_BYPASS)
            body = self._query(category, limit, start_key)
            return CachedRead(body, etag_of(body), None, BYPASS)
        now_ms = int(self._clock() * 1000)
        cached = envelope.decode_or_none(raw)
        if cached is not None and now_ms < cached.fresh_until_ms:
            telemetry.count(telemetry.L2_HIT)
            self._remember(l1_key, cached.body, (cached.fresh_until_ms - now_ms) / 1000.0)
            return CachedRead(cached.body, cached.etag, None, HIT_L2)
        telemetry.count(telemetry.L2_MISS)
        body = self._query(category, limit, start_key)
        etag = etag_of(body)
        fresh_ms = int(jittered(self.policy.l2_ttl, self.policy.jitter, self._rng) * 1000)
        try:
            self.l2.set(key, envelope.encode(LIST_VERSION, now_ms + fresh_ms, etag, body), fresh_ms)
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)
        else:
            self._remember(l1_key, body, fresh_ms / 1000.0)
        return CachedRead(body, etag, None, MISS)

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

    def _page_key(self, l2: L2Store, category: str, limit: int, cursor: str | None) -> str:
        generation = l2.generation(generation_key(category), self._seed())
        return page_key(category, generation, limit, cursor)

    def _seed(self) -> int:
        return self._rng.getrandbits(_GENERATION_SEED_BITS)

    def _query(self, category: str, limit: int, start_key: dict[str, Any] | None) -> bytes:
        items, last_key = self.origin.query_category(category, limit, start_key)
        return render_list([product_from_item(item) for item in items], encode_cursor(last_key))

    def _remember(self, key: tuple[Any, ...], body: bytes, ttl_seconds: float) -> None:
        if self.l1 is None:
            return
        ttl = min(jittered(self.policy.l1_ttl, self.policy.jitter, self._rng), ttl_seconds)
        self.l1.put(key, body=body, etag=etag_of(body), version=None, ttl_seconds=ttl)
