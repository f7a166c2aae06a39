"""L2 access: every Redis call goes through one circuit breaker and fails as CacheUnavailable.

Inside `L2Store.retrying(seconds)` (the stream invalidation path) calls skip the breaker
instead and are retried with capped exponential backoff and full jitter until the window
ends: an invalidation must reach Redis, not be skipped because a breaker is open.

The Lua scripts (the atomic rules of docs/architecture.md) are registered once per client
with redis-py's `register_script`: calls use EVALSHA and redis-py reloads a script on
NOSCRIPT. Each script's keys share one hash slot, so they run on the cluster client too.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, NamedTuple, TypeVar

from redis.exceptions import (
    ClusterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
)

from cache_constructs.contract.keys import ItemKeys, PageKeys

from .breaker import CircuitBreaker
from .errors import CacheUnavailable
from .telemetry import logger

T = TypeVar("T")

RETRY_FIRST_BACKOFF_SECONDS = 0.05
RETRY_MAX_BACKOFF_SECONDS = 1.0
"""Backoff of `retrying` calls: full jitter up to 50 ms, 100 ms, ... capped at 1 s, so Redis
coming back is noticed within about a second."""

FENCE_MIN_TTL_MS = 300_000
"""A fence lives at least this long (longer than any read function's timeout), and at least as
long as the value it guards (the caches pass that). Its TTL is a cost knob, not a correctness
condition: a lost fence only makes the next reader read the origin strongly consistently."""

_SCRIPT_NAMES = (
    "lease",
    "renew_lease",
    "release_lease",
    "fill",
    "write_through",
    "invalidate",
    "bump_generation",
    "page_lease",
    "page_fill",
)

# Result codes of fill.lua / write_through.lua.
LANDED = 1
REFUSED_EPOCH = 0
REFUSED_STALE = -1
REFUSED_OLDER = -2
REFUSED_NEGATIVE_OVER_LIVE = -3
REFUSED_UNANCHORED = -4


# Error replies that say the server (not one key or one command) cannot serve us: they count
# toward opening the breaker. Any other error reply (WRONGTYPE on one key, a script error)
# fails only its own call: the server answered, so it is reachable.
_SERVER_WIDE_REPLIES = (OutOfMemoryError, ReadOnlyError, ClusterDownError, NoPermissionError)


class ItemLease(NamedTuple):
    """What lease.lua saw: the value (if any), the item's fence, and the lease."""

    value: bytes | None
    epoch: int
    """The fence's epoch (random when lease.lua had to create the fence)."""
    stale_through: int
    """fence.v: the highest version known stale (-1 if none)."""
    committed: int | None
    """fence.k: the highest version known committed, or None while the fence is not anchored
    (new, or recreated after it was lost): then only a strongly consistent read may be
    trusted."""
    acquired: bool
    lease_ttl_ms: int
    """The lease's remaining lifetime, whoever holds it (<= 0: no lease)."""

    @property
    def anchored(self) -> bool:
        """True when the fence can vouch for a possibly stale origin answer."""
        return self.committed is not None


class PageLease(NamedTuple):
    """What page_lease.lua saw: the current generation, the page (if any), and the lease."""

    generation: int | None
    """The category's current generation (None if it has none)."""
    value: bytes | None
    acquired: bool
    lease_ttl_ms: int


def _load_script(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.lua").read_text()


class _Refused(CacheUnavailable):
    """Redis could not serve the call (unreachable, timeout, server-wide error reply): worth
    retrying, unlike an error reply about one key or command."""


class _RetryWindow:
    """How long `retrying` calls of one block may keep trying, and whether that time is up."""

    __slots__ = ("attempts", "deadline", "spent")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.spent = False
        self.attempts = 0

    def pause(self, retry: int, now: float, rng: random.Random) -> float | None:
        """The wait before retry number `retry` (0-based), or None when the window is over."""
        left = self.deadline - now
        if left <= 0:
            return None
        backoff = min(RETRY_MAX_BACKOFF_SECONDS, RETRY_FIRST_BACKOFF_SECONDS * 2 ** min(retry, 30))
        return min(rng.uniform(0.0, backoff), left)


class _ThreadState(threading.local):
    window: _RetryWindow | None = None


class L2Store:
    """The L2 operations the caches need, guarded by a breaker.

    `client_factory` builds the redis-py client (standalone or cluster) on first use: a
    cluster client talks to the network when it is built, so building it is itself a
    guarded call that may fail while Valkey is away.
    """

    def __init__(
        self,
        client_factory: Callable[[], Any],
        breaker: CircuitBreaker,
        *,
        retry_clock: Callable[[], float] = time.monotonic,
        retry_sleep: Callable[[float], None] = time.sleep,
        retry_rng: random.Random | None = None,
    ) -> None:
        self._factory = client_factory
        self.breaker = breaker
        #: What `retrying` measures its window with, waits with and jitters with.
        self.retry_clock = retry_clock
        self.retry_sleep = retry_sleep
        self.retry_rng = retry_rng or random.Random()
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._thread = _ThreadState()

    def _ready_client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    client = self._factory()
                    self._scripts = {
                        n: client.register_script(_load_script(n)) for n in _SCRIPT_NAMES
                    }
                    self._client = client
        return self._client

    @property
    def client(self) -> Any:
        """The underlying redis-py client (built on first use)."""
        return self._call(lambda c: c)

    @contextmanager
    def retrying(self, seconds: float) -> Iterator[None]:
        """Within the block, this thread's calls never skip on an open breaker.

        A call that Redis could not serve (unreachable, timeout, server-wide error reply) is
        retried with capped exponential backoff and full jitter while the window of `seconds`
        lasts; every call gets at least one attempt. When the window is over the call raises
        CacheUnavailable, and so does every later call in the block at once: Redis refused for
        the whole window. An error reply about one key (e.g. WRONGTYPE) is not retried.
        """
        previous = self._thread.window
        self._thread.window = _RetryWindow(self.retry_clock() + max(0.0, seconds))
        try:
            yield
        finally:
            self._thread.window = previous

    def _call(self, operation: Callable[[Any], T]) -> T:
        window = self._thread.window
        if window is not None:
            return self._call_retrying(operation, window)
        if not self.breaker.allow():
            raise CacheUnavailable("L2 circuit breaker is open")
        return self._attempt(operation, quiet=False)

    def _call_retrying(self, operation: Callable[[Any], T], window: _RetryWindow) -> T:
        retry = 0
        while True:
            if window.spent:
                raise CacheUnavailable("L2 refused every attempt of this retry window")
            window.attempts += 1
            try:
                result = self._attempt(operation, quiet=retry > 0)
            except _Refused as exc:
                pause = window.pause(retry, self.retry_clock(), self.retry_rng)
                if pause is None:
                    window.spent = True
                    logger.error(
                        "L2 refused for the whole retry window",
                        extra={"attempts": window.attempts, "error": str(exc)},
                    )
                    raise
                self.retry_sleep(pause)
                retry += 1
                continue
            if retry:
                logger.info("L2 answered again", extra={"retries": retry})
            return result

    def _attempt(self, operation: Callable[[Any], T], *, quiet: bool) -> T:
        """One call, counted by the breaker; `_Refused` when Redis could not serve it."""
        try:
            result = operation(self._ready_client())
        except ResponseError as exc:
            refused = isinstance(exc, _SERVER_WIDE_REPLIES)
            if refused:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            if not quiet:
                logger.warning(
                    "L2 error reply", extra={"error": repr(exc), "breaker": self.breaker.state}
                )
            raise (_Refused if refused else CacheUnavailable)(str(exc)) from exc
        except (RedisError, RedisClusterException, OSError) as exc:
            self.breaker.record_failure()
            if not quiet:
                logger.warning(
                    "L2 call failed", extra={"error": repr(exc), "breaker": self.breaker.state}
                )
            raise _Refused(str(exc)) from exc
        except Exception as exc:
            # Anything else on the way to Valkey (e.g. no AWS credentials to sign an IAM
            # token) is still a cache failure: the cache is optional, the request is not.
            self.breaker.record_failure()
            if not quiet:
                logger.exception(
                    "L2 call failed unexpectedly", extra={"breaker": self.breaker.state}
                )
            raise _Refused(repr(exc)) from exc
        self.breaker.record_success()
        return result

    def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self._call(lambda _c: self._scripts[name](keys=keys, args=args))

    # --- plain commands -------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """GET `key` (one round-trip)."""
        return self._call(lambda c: c.get(key))

    def set(self, key: str, value: bytes, ttl_ms: int) -> None:
        """SET `key` with a PX time-to-live."""
        self._call(lambda c: c.set(key, value, px=ttl_ms))

    def generation(self, key: str, floor: int) -> int:
        """The list generation at `key`, starting it at `floor` if it does not exist yet
        (`keys.generation_floor`: a new counter begins now, like a bump)."""

        def read(c: Any) -> int:
            value = c.get(key)
            if value is None:
                c.set(key, floor, nx=True)
                value = c.get(key)
            return int(value)

        return self._call(read)

    # --- leases (items and pages) ---------------------------------------------------------

    def renew_lease(self, lease_key: str, token: str, lease_ms: int) -> bool:
        """Push the lease's expiry `lease_ms` out if it is still ours; True if it was."""
        return bool(self._script("renew_lease", [lease_key], [token, lease_ms]))

    def release_lease(self, lease_key: str, token: str) -> bool:
        """Delete the fill lease if it is still ours (token-checked); True if it was."""
        return bool(self._script("release_lease", [lease_key], [token]))

    # --- item scripts ---------------------------------------------------------------------

    def lease(
        self, keys: ItemKeys, token: str, lease_ms: int, *, epoch_seed: int, fence_ttl_ms: int
    ) -> ItemLease:
        """Read value and fence (creating a missing fence at `epoch_seed`) and try to take
        the fill lease, atomically."""
        value, epoch, stale_through, committed, acquired, lease_ttl_ms = self._script(
            "lease",
            [keys.value, keys.fence, keys.lease],
            [token, lease_ms, epoch_seed, fence_ttl_ms],
        )
        return ItemLease(
            value,
            int(epoch),
            int(stale_through),
            int(committed) if committed else None,
            bool(acquired),
            int(lease_ttl_ms),
        )

    def fill(
        self,
        keys: ItemKeys,
        *,
        version: int,
        epoch: int,
        envelope: bytes,
        ttl_ms: int,
        token: str,
        consistent: bool,
        fence_ttl_ms: int,
    ) -> int:
        """Run fill.lua; returns LANDED or a REFUSED_* code."""
        return int(
            self._script(
                "fill",
                [keys.value, keys.fence, keys.lease],
                [version, epoch, envelope, ttl_ms, token, int(consistent), fence_ttl_ms],
            )
        )

    def write_through(
        self,
        keys: ItemKeys,
        *,
        version: int,
        envelope: bytes,
        ttl_ms: int,
        epoch_seed: int,
        fence_ttl_ms: int,
    ) -> int:
        """Run write_through.lua; returns LANDED or a REFUSED_* code."""
        return int(
            self._script(
                "write_through",
                [keys.value, keys.fence],
                [version, envelope, ttl_ms, fence_ttl_ms, epoch_seed],
            )
        )

    def invalidate(
        self, keys: ItemKeys, *, stale_through: int, epoch_seed: int, fence_ttl_ms: int
    ) -> bool:
        """Run invalidate.lua; True if a cached entry was deleted."""
        return bool(
            self._script(
                "invalidate",
                [keys.value, keys.fence, keys.lease],
                [stale_through, fence_ttl_ms, epoch_seed],
            )
        )

    # --- list scripts ---------------------------------------------------------------------

    def bump_generation(self, key: str, floor: int) -> int:
        """Move a list generation to max(generation + 1, `floor`); returns the new one."""
        return int(self._script("bump_generation", [key], [floor]))

    def page_lease(
        self, generation_key: str, keys: PageKeys, generation: int, token: str, lease_ms: int
    ) -> PageLease:
        """Check the generation, read the page and try to take its fill lease, atomically."""
        current, value, acquired, lease_ttl_ms = self._script(
            "page_lease",
            [generation_key, keys.value, keys.lease],
            [generation, token, lease_ms],
        )
        return PageLease(
            int(current) if current else None, value, bool(acquired), int(lease_ttl_ms)
        )

    def page_fill(
        self,
        generation_key: str,
        keys: PageKeys,
        *,
        generation: int,
        envelope: bytes,
        ttl_ms: int,
        token: str,
    ) -> bool:
        """Store a page computed under `generation` if that is still current; True if so."""
        return bool(
            self._script(
                "page_fill",
                [generation_key, keys.value, keys.lease],
                [generation, envelope, ttl_ms, token],
            )
        )
