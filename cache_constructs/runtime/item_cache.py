"""Product reads through L1 -> L2 -> origin, write-through and invalidation of one item.

Read path (docs/architecture.md has the key layout and the Lua rules):
- L1 hit: a dict lookup (HIT-L1).
- L2 fresh hit: one GET and a header split (HIT-L2). A hot key may instead be refreshed a
  little early (XFetch: probability grows as expiry nears, scaled by the origin's latency) by
  the one request that wins the fill lease, synchronously (a frozen Lambda runs nothing later).
- L2 entry past its freshness but inside the stale-while-revalidate window: the lease winner
  refreshes it; everyone else is served the stale value at once (STALE).
- L2 miss: one caller wins the lease and reads the origin; the others poll while the lease
  is alive (bounded by the lease's lifetime). If the lease expires without a fill, one
  poller takes it over; a poller that still has nothing reads the origin itself. Fills are
  versioned compare-and-set (fill.lua), so a slow reader can never put back a value a write
  or invalidation replaced.
- L2 unreachable or its breaker open: origin read, X-Cache BYPASS, no fill.
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
from .l2_store import LANDED, L2Store, LeaseResult
from .origin import Origin
from .results import BYPASS, HIT_L1, HIT_L2, MISS, STALE, CachedRead
from .tracking import Ticket

DEFAULT_LEASE_MS = 2_000
"""Lease lifetime: longer than an origin read, short enough that a crashed filler is forgotten."""
XFETCH_BETA = 1.0


class _Fetched:
    """An origin answer rendered for the response and the caches."""

    __slots__ = ("body", "etag", "version")

    def __init__(self, body: bytes | None, etag: str | None, version: int) -> None:
        self.body = body
        self.etag = etag
        self.version = version


class ItemCache:
    """The product-by-id cache of one Lambda environment (its L1 is module state)."""

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
        lease_wait_seconds: float | None = None,
    ) -> None:
        self.policy = policy
        self.origin = origin
        self.l1 = l1 if policy.uses("l1") and policy.l1_ttl_seconds > 0 else None
        self.l2 = l2 if policy.uses("l2") and policy.l2_ttl_seconds > 0 else None
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.lease_ms = lease_ms
        # Callers that lost the lease wait at most this long for the fill (default: the
        # lease's own lifetime, so a slow but live origin read is waited out).
        self.lease_wait_seconds = (
            lease_ms / 1000.0 if lease_wait_seconds is None else lease_wait_seconds
        )

    # --- read -------------------------------------------------------------------------------

    def read(self, product_id: str) -> CachedRead:
        """The product's response (body None = not found). Cache faults never raise."""
        if self.l1 is not None:
            started = time.perf_counter()
            entry = self.l1.get(product_id)
            if entry is not None:
                telemetry.count(telemetry.L1_HIT)
                telemetry.latency(telemetry.L1_LATENCY, (time.perf_counter() - started) * 1e3)
                return CachedRead(entry.body, entry.etag, entry.version, HIT_L1)
            telemetry.count(telemetry.L1_MISS)
        if self.l2 is None:
            fetched = self._fetch(product_id, stale_through=-1)
            self._remember(product_id, fetched, fresh_until_ms=None)
            return self._result(fetched, MISS)
        try:
            return self._read_l2(product_id, self.l2)
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_BYPASS)
            return self._result(self._fetch(product_id, stale_through=-1), BYPASS)

    def _read_l2(self, product_id: str, l2: L2Store) -> CachedRead:
        keys = item_keys(product_id)
        started = time.perf_counter()
        # Through L1's tracking connection when L1 is on: only a tracked value may enter L1.
        if self.l1 is not None:
            raw, ticket = self.l1.read_through(product_id, keys.value, l2.get)
        else:
            raw, ticket = l2.get(keys.value), None
        cached = envelope.decode_or_none(raw)
        telemetry.latency(telemetry.L2_LATENCY, (time.perf_counter() - started) * 1e3)
        if cached is not None:
            now_ms = self._now_ms()
            fresh = now_ms < cached.fresh_until_ms
            if fresh and not self._refresh_early(cached.fresh_until_ms, now_ms):
                telemetry.count(telemetry.L2_HIT)
                self._remember_envelope(product_id, cached, ticket=ticket)
                return self._from_envelope(cached, HIT_L2)
            return self._refresh(product_id, l2, cached, fresh)
        telemetry.count(telemetry.L2_MISS)
        return self._fill_miss(product_id, l2)

    def _refresh(
        self, product_id: str, l2: L2Store, cached: envelope.Envelope, fresh: bool
    ) -> CachedRead:
        """A stale (or nearly expired hot) entry: the lease winner refreshes, others serve it."""
        keys = item_keys(product_id)
        token = secrets.token_hex(8)
        try:
            lease = l2.lease(keys, token, self.lease_ms)
        except CacheUnavailable:
            lease = None
        if lease is None or not lease.acquired:
            if fresh:
                telemetry.count(telemetry.L2_HIT)
                return self._from_envelope(cached, HIT_L2)
            telemetry.count(telemetry.STALE_SERVED)
            return self._from_envelope(cached, STALE)
        try:
            fetched = self._fetch(product_id, stale_through=lease.stale_through)
        except Exception:
            # The origin failed while we hold a value the policy still allows us to serve.
            telemetry.logger.exception("origin read failed; serving the cached value")
            self._release_lease(l2, keys, token)
            if fresh:
                return self._from_envelope(cached, HIT_L2)
            telemetry.count(telemetry.STALE_SERVED)
            return self._from_envelope(cached, STALE)
        self._fill(product_id, l2, fetched, epoch=lease.epoch, token=token)
        return self._result(fetched, MISS)

    def _fill_miss(self, product_id: str, l2: L2Store) -> CachedRead:
        keys = item_keys(product_id)
        token = secrets.token_hex(8)
        lease = l2.lease(keys, token, self.lease_ms)
        cached = envelope.decode_or_none(lease.value)
        if cached is not None:  # filled between our GET and the lease script
            if self._now_ms() < cached.fresh_until_ms:
                if lease.acquired:  # nothing to fill: let the lease go at once
                    self._release_lease(l2, keys, token)
                self._remember_envelope(product_id, cached)
                return self._from_envelope(cached, HIT_L2)
            if not lease.acquired:  # someone is refreshing it: serve it stale meanwhile
                telemetry.count(telemetry.STALE_SERVED)
                return self._from_envelope(cached, STALE)
        if not lease.acquired:
            waited = self._wait_for_fill(product_id, l2, token, lease)
            if isinstance(waited, CachedRead):
                return waited
            lease = waited
            if not lease.acquired:
                token = ""  # the lease is someone else's; our fill is still compare-and-set
        try:
            fetched = self._fetch(product_id, stale_through=lease.stale_through)
        except Exception:
            if token:  # let the next reader try the origin without waiting out the lease
                self._release_lease(l2, keys, token)
            raise
        self._fill(product_id, l2, fetched, epoch=lease.epoch, token=token)
        return self._result(fetched, MISS)

    def _wait_for_fill(
        self, product_id: str, l2: L2Store, token: str, lease: LeaseResult
    ) -> CachedRead | LeaseResult:
        """Poll (short backoff) while another caller's lease is alive, for its fill.

        Each poll is lease.lua again: it returns the value once filled, and takes the lease
        over (for exactly one poller) if the holder let it expire without filling. Returns
        the filled value, or the last lease result (acquired: this caller is now the filler).
        """
        telemetry.count(telemetry.LEASE_WAIT)
        keys = item_keys(product_id)
        waited, delay = 0.0, 0.005
        while waited < self.lease_wait_seconds:
            # Never sleep past the lease's end: a take-over should not wait for the backoff.
            lease_left = max(lease.lease_ttl_ms, 1) / 1000.0
            pause = min(delay, self.lease_wait_seconds - waited, lease_left)
            self._sleep(pause)
            waited += pause
            delay = min(delay * 2, 0.05)
            lease = l2.lease(keys, token, self.lease_ms)
            cached = envelope.decode_or_none(lease.value)
            if cached is not None:  # counted as LeaseWait (its first GET was the L2Miss)
                if lease.acquired:
                    self._release_lease(l2, keys, token)
                self._remember_envelope(product_id, cached)
                return self._from_envelope(cached, HIT_L2)
            if lease.acquired:
                return lease
        return lease

    def _refresh_early(self, fresh_until_ms: int, now_ms: int) -> bool:
        # XFetch (Vattani et al.): refresh when now - delta * beta * ln(U) >= expiry.
        delta_ms = self.origin.latency_ewma_ms
        u = self._rng.random() or 1e-12
        return now_ms - delta_ms * XFETCH_BETA * math.log(u) >= fresh_until_ms

    # --- origin and fills -------------------------------------------------------------------

    def _fetch(self, product_id: str, *, stale_through: int) -> _Fetched:
        item = self.origin.get_item(product_id, stale_through=stale_through)
        if item is None:
            return _Fetched(None, None, envelope.NOT_FOUND_VERSION)
        rendered = self.origin.codec.render_item(item)
        return _Fetched(rendered.body, rendered.etag, rendered.version)

    def _fill(
        self, product_id: str, l2: L2Store, fetched: _Fetched, *, epoch: int, token: str
    ) -> None:
        now_ms = self._now_ms()
        if fetched.body is None:
            fresh_ms = self._ttl_ms(self.policy.negative_ttl_seconds)
            if fresh_ms <= 0:  # not-found is not cached: only the lease needs to go
                if token:
                    self._release_lease(l2, item_keys(product_id), token)
                return
            raw = envelope.encode_not_found(now_ms + fresh_ms)
            ttl_ms = fresh_ms
        else:
            fresh_ms = self._ttl_ms(self.policy.l2_ttl_seconds)
            raw = envelope.encode(
                fetched.version, now_ms + fresh_ms, fetched.etag or "", fetched.body
            )
            ttl_ms = fresh_ms + self.policy.swr_seconds * 1000
        try:
            outcome = l2.fill(
                item_keys(product_id),
                version=fetched.version,
                epoch=epoch,
                envelope=raw,
                ttl_ms=ttl_ms,
                token=token,
            )
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)
            return
        if outcome == LANDED:
            # Only a value the CAS accepted may enter L1: a refused one may already be stale.
            self._remember(product_id, fetched, fresh_until_ms=now_ms + fresh_ms)

    @staticmethod
    def _release_lease(l2: L2Store, keys: ItemKeys, token: str) -> None:
        # Best effort: an unreleased lease only delays other fillers until it expires.
        try:
            l2.release_lease(keys, token)
        except CacheUnavailable:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)

    # --- write path -------------------------------------------------------------------------

    def write_through(self, product_id: str, rendered: Rendered) -> bool:
        """Put committed `version` into L2 if nothing newer is known. Never raises.

        Returns False when it did not land: a newer version or invalidation is already there
        (not an error), or L2 failed (logged and counted as `CacheWriteFailure`; the stream
        invalidation then repairs the entry).
        """
        if self.l2 is None:
            return False
        body, etag, version = rendered
        now_ms = self._now_ms()
        fresh_ms = self._ttl_ms(self.policy.l2_ttl_seconds)
        raw = envelope.encode(version, now_ms + fresh_ms, etag, body)
        try:
            outcome = self.l2.write_through(
                item_keys(product_id),
                version=version,
                envelope=raw,
                ttl_ms=fresh_ms + self.policy.swr_seconds * 1000,
            )
        except CacheUnavailable as exc:
            telemetry.count(telemetry.CACHE_WRITE_FAILURE)
            telemetry.logger.warning(
                "write-through failed", extra={"product_id": product_id, "error": str(exc)}
            )
            return False
        if self.l1 is not None:
            self.l1.discard(product_id)
        if outcome != LANDED:
            telemetry.logger.info(
                "write-through refused: newer data known",
                extra={"product_id": product_id, "version": version, "code": outcome},
            )
            return False
        self._remember(product_id, _Fetched(body, etag, version), fresh_until_ms=now_ms + fresh_ms)
        return True

    def invalidate(self, product_id: str, stale_through: int) -> None:
        """Mark versions <= `stale_through` stale (stream record, delete).

        Raises CacheUnavailable when L2 cannot be reached, so the stream handler reports the
        record as failed and it is retried.
        """
        if self.l1 is not None:
            self.l1.discard(product_id)
        if self.l2 is None:
            return
        self.l2.invalidate(item_keys(product_id), stale_through=stale_through)
        telemetry.count(telemetry.INVALIDATIONS)

    # --- helpers ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _ttl_ms(self, ttl_seconds: int) -> int:
        return int(jittered(ttl_seconds, self.policy.jitter, self._rng) * 1000)

    def _remember(
        self,
        product_id: str,
        fetched: _Fetched,
        *,
        fresh_until_ms: int | None,
        ticket: Ticket | None = None,
    ) -> None:
        # With client tracking only a value read through it (`ticket`) enters L1: a fill or a
        # write-through sets L2 untracked, so its value waits for the next (tracked) L2 hit.
        if self.l1 is None:
            return
        ttl = jittered(
            self.policy.negative_ttl_seconds
            if fetched.body is None
            else self.policy.l1_ttl_seconds,
            self.policy.jitter,
            self._rng,
        )
        if fetched.body is None:
            ttl = min(ttl, self.policy.l1_ttl_seconds)
        if fresh_until_ms is not None:
            ttl = min(ttl, (fresh_until_ms - self._now_ms()) / 1000.0)
        version = fetched.version if fetched.body is not None else None
        self.l1.put(
            product_id,
            body=fetched.body,
            etag=fetched.etag,
            version=version,
            ttl_seconds=ttl,
            ticket=ticket,
        )

    def _remember_envelope(
        self, product_id: str, cached: envelope.Envelope, *, ticket: Ticket | None = None
    ) -> None:
        if self.l1 is None:
            return
        self._remember(
            product_id,
            self._fetched_of(cached),
            fresh_until_ms=cached.fresh_until_ms,
            ticket=ticket,
        )

    @staticmethod
    def _fetched_of(cached: envelope.Envelope) -> _Fetched:
        if cached.not_found:
            return _Fetched(None, None, cached.version)
        return _Fetched(cached.body, cached.etag, cached.version)

    @staticmethod
    def _from_envelope(cached: envelope.Envelope, x_cache: str) -> CachedRead:
        if cached.not_found:
            return CachedRead(None, None, None, x_cache)
        return CachedRead(cached.body, cached.etag, cached.version, x_cache)

    @staticmethod
    def _result(fetched: _Fetched, x_cache: str) -> CachedRead:
        if fetched.body is None:
            return CachedRead(None, None, None, x_cache)
        return CachedRead(fetched.body, fetched.etag, fetched.version, x_cache)
