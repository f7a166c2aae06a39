"""L2 access: every Redis call goes through one circuit breaker and fails as CacheUnavailable.

The Lua scripts (the atomic rules of docs/architecture.md) are registered once per client
with redis-py's `register_script`: calls use EVALSHA and redis-py reloads a script on
NOSCRIPT. Each script's keys share one hash slot, so they run on the cluster client too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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

from cache_constructs.contract.keys import ItemKeys

from .breaker import CircuitBreaker
from .errors import CacheUnavailable
from .telemetry import logger

T = TypeVar("T")

TOMBSTONE_TTL_MS = 300_000
"""Tombstones outlive any in-flight fill (longer than the read function's timeout)."""

_SCRIPT_NAMES = (
    "lease",
    "release_lease",
    "fill",
    "write_through",
    "invalidate",
    "bump_generation",
)

# Result codes of fill.lua / write_through.lua.
LANDED = 1
REFUSED_EPOCH = 0
REFUSED_STALE = -1
REFUSED_OLDER = -2
REFUSED_NEGATIVE_OVER_LIVE = -3


# Error replies that say the server (not one key or one command) cannot serve us: they count
# toward opening the breaker. Any other error reply (WRONGTYPE on one key, a script error)
# fails only its own call: the server answered, so it is reachable.
_SERVER_WIDE_REPLIES = (OutOfMemoryError, ReadOnlyError, ClusterDownError, NoPermissionError)


class LeaseResult(NamedTuple):
    """What lease.lua saw: the value (if one appeared), the tombstone, and the lease."""

    value: bytes | None
    stale_through: int
    epoch: int
    acquired: bool
    lease_ttl_ms: int
    """The lease's remaining lifetime, whoever holds it (<= 0: no lease)."""


def _load_script(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.lua").read_text()


class L2Store:
    """The L2 operations the caches need, guarded by a breaker.

    `client_factory` builds the redis-py client (standalone or cluster) on first use: a
    cluster client talks to the network when it is built, so building it is itself a
    guarded call that may fail while Valkey is away.
    """

    def __init__(self, client_factory: Callable[[], Any], breaker: CircuitBreaker) -> None:
        self._factory = client_factory
        self.breaker = breaker
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._lock = threading.Lock()

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

    def _call(self, operation: Callable[[Any], T]) -> T:
        if not self.breaker.allow():
            raise CacheUnavailable("L2 circuit breaker is open")
        try:
            result = operation(self._ready_client())
        except ResponseError as exc:
            if isinstance(exc, _SERVER_WIDE_REPLIES):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            logger.warning(
                "L2 error reply", extra={"error": repr(exc), "breaker": self.breaker.state}
            )
            raise CacheUnavailable(str(exc)) from exc
        except (RedisError, RedisClusterException, OSError) as exc:
            self.breaker.record_failure()
            logger.warning(
                "L2 call failed", extra={"error": repr(exc), "breaker": self.breaker.state}
            )
            raise CacheUnavailable(str(exc)) from exc
        except Exception as exc:
            # Anything else on the way to Valkey (e.g. no AWS credentials to sign an IAM
            # token) is still a cache failure: the cache is optional, the request is not.
            self.breaker.record_failure()
            logger.exception("L2 call failed unexpectedly", extra={"breaker": self.breaker.state})
            raise CacheUnavailable(repr(exc)) from exc
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

    def generation(self, key: str, seed: int) -> int:
        """The list generation at `key`, starting it at `seed` if it does not exist yet."""

        def read(c: Any) -> int:
            value = c.get(key)
            if value is None:
                c.set(key, seed, nx=True)
                value = c.get(key)
            return int(value)

        return self._call(read)

    # --- item scripts ---------------------------------------------------------------------

    def lease(self, keys: ItemKeys, token: str, lease_ms: int) -> LeaseResult:
        """Read value and tombstone and try to take the fill lease, atomically."""
        value, stale_through, epoch, acquired, lease_ttl_ms = self._script(
            "lease", [keys.value, keys.tombstone, keys.lease], [token, lease_ms]
        )
        return LeaseResult(value, int(stale_through), int(epoch), bool(acquired), int(lease_ttl_ms))

    def release_lease(self, keys: ItemKeys, token: str) -> bool:
        """Delete the fill lease if it is still ours (token-checked); True if it was."""
        return bool(self._script("release_lease", [keys.lease], [token]))

    def fill(
        self, keys: ItemKeys, *, version: int, epoch: int, envelope: bytes, ttl_ms: int, token: str
    ) -> int:
        """Run fill.lua; returns LANDED or a REFUSED_* code."""
        return int(
            self._script(
                "fill",
                [keys.value, keys.tombstone, keys.lease],
                [version, epoch, envelope, ttl_ms, token],
            )
        )

    def write_through(self, keys: ItemKeys, *, version: int, envelope: bytes, ttl_ms: int) -> int:
        """Run write_through.lua; returns LANDED or a REFUSED_* code."""
        return int(
            self._script(
                "write_through",
                [keys.value, keys.tombstone],
                [version, envelope, ttl_ms, TOMBSTONE_TTL_MS],
            )
        )

    def invalidate(self, keys: ItemKeys, *, stale_through: int) -> bool:
        """Run invalidate.lua; True if a cached entry was deleted."""
        return bool(
            self._script(
                "invalidate",
                [keys.value, keys.tombstone, keys.lease],
                [stale_through, TOMBSTONE_TTL_MS],
            )
        )

    def bump_generation(self, key: str, seed: int) -> int:
        """INCR a list generation (or start it at `seed`); returns the new generation."""
        return int(self._script("bump_generation", [key], [seed]))
