"""Composition root: `build_runtime` wires one CacheRuntime (per Lambda environment).

The owner of a table supplies its `TableCodec` (the product service: its handlers' process
holder, `cache_constructs.product.handlers.service_runtime`); tests, the local stack and the
benchmarks call `build_runtime(...)` with their own clients (a real redis-server, moto, a
fake DAX).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from cache_constructs.contract.policy import CachePolicy

from .breaker import CircuitBreaker
from .codec import TableCodec
from .config import RuntimeConfig
from .item_cache import ItemCache
from .l1_cache import L1Cache
from .l2_store import L2Store
from .list_cache import ListCache
from .origin import Origin
from .tracking import L1Tracker

REDIS_FAILURE_THRESHOLD = 3
REDIS_COOLDOWN_SECONDS = 5.0
DAX_FAILURE_THRESHOLD = 3
DAX_COOLDOWN_SECONDS = 10.0


class CacheRuntime:
    """The caches and origin of one process: `items`, `lists`, `origin`, and the clients.

    `tracker` keeps both caches' L1 coherent with L2 (None without L2 or with tracking off).
    """

    def __init__(
        self,
        config: RuntimeConfig,
        *,
        items: ItemCache,
        lists: ListCache,
        origin: Origin,
        l2: L2Store | None,
        tracker: L1Tracker | None = None,
    ) -> None:
        self.config = config
        self.items = items
        self.lists = lists
        self.origin = origin
        self.l2 = l2
        self.tracker = tracker

    def write_client(self) -> Any:
        """Low-level client for PutItem/DeleteItem/GetItem(consistent): DAX if configured
        (falling back to DynamoDB when DAX is unreachable), else DynamoDB."""
        return self.origin.write_client()

    def dynamodb(self) -> Any:
        """The low-level boto3 DynamoDB client (built on first use)."""
        return self.origin.dynamodb()


def _built_once(factory: Callable[[], Any]) -> Callable[[], Any]:
    """`factory`'s first successful result, for every caller (L2 and the L1 tracker)."""
    built: list[Any] = []
    lock = threading.Lock()

    def client() -> Any:
        if not built:
            with lock:
                if not built:
                    built.append(factory())
        return built[0]

    return client


def build_runtime(
    config: RuntimeConfig,
    *,
    codec: TableCodec,
    redis_client: Any = None,
    dynamodb_client: Any = None,
    dax_client: Any = None,
    clock: Callable[[], float] | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] | None = None,
    lease_wait_max_seconds: float | None = None,
    l1_tracking: bool = True,
) -> CacheRuntime:
    """Wire a runtime for the table `codec` describes. Clients not given are built from
    `config` on first use.

    `clock` (epoch seconds) drives TTLs, freshness, the breakers and the tracker's health
    checks; `rng` the jitter and early refresh; `sleep` the lease wait (bounded by
    `lease_wait_max_seconds`). All default to the real ones. `l1_tracking=False` leaves L1
    bounded by its TTL alone (tests, comparisons).
    """
    now = clock or time.time
    # Breakers measure intervals: a monotonic clock unless a test injects one.
    interval_clock = clock or time.monotonic
    rng = rng or random.Random()
    l2: L2Store | None = None
    client_source: Callable[[], Any] | None = None
    if redis_client is not None or config.redis is not None:
        breaker = CircuitBreaker(
            "l2",
            failure_threshold=REDIS_FAILURE_THRESHOLD,
            cooldown_seconds=REDIS_COOLDOWN_SECONDS,
            clock=interval_clock,
        )
        if redis_client is not None:
            client = redis_client
            client_source = lambda: client  # noqa: E731 - a one-line factory
        else:
            from .redis_clients import create_redis_client

            settings = config.redis
            assert settings is not None
            client_source = _built_once(lambda: create_redis_client(settings, region=config.region))
        l2 = L2Store(client_source, breaker)
    origin = Origin(
        table_name=config.table_name,
        region=config.region,
        codec=codec,
        dynamodb_client=dynamodb_client,
        dax_client=dax_client,
        dax_endpoint=config.dax_endpoint,
        dax_breaker=CircuitBreaker(
            "dax",
            failure_threshold=DAX_FAILURE_THRESHOLD,
            cooldown_seconds=DAX_COOLDOWN_SECONDS,
            clock=interval_clock,
        ),
        use_dax_for_reads=config.item_policy.uses("dax"),
    )

    # One set of tracking connections per process, for the caches whose values come from L2.
    # It shares L2's client (its settings and cluster topology), not its breaker accounting.
    tracker: L1Tracker | None = None
    if l2 is not None and client_source is not None and l1_tracking:
        tracker = L1Tracker(client_source, breaker=l2.breaker, clock=interval_clock)

    def l1(policy: CachePolicy) -> L1Cache:
        from_l2 = policy.uses("l2") and policy.l2_ttl_seconds > 0
        return L1Cache(
            max_entries=config.l1_max_entries,
            max_bytes=config.l1_max_bytes,
            clock=now,
            tracker=tracker if from_l2 else None,
        )

    lease_options: dict[str, Any] = {}
    if sleep is not None:
        lease_options["sleep"] = sleep
    if lease_wait_max_seconds is not None:
        lease_options["lease_wait_max_seconds"] = lease_wait_max_seconds
    items = ItemCache(
        policy=config.item_policy,
        origin=origin,
        l1=l1(config.item_policy),
        l2=l2,
        clock=now,
        rng=rng,
        **lease_options,
    )
    lists = ListCache(
        policy=config.list_policy,
        origin=origin,
        l1=l1(config.list_policy),
        l2=l2,
        clock=now,
        rng=rng,
        **lease_options,
    )
    return CacheRuntime(config, items=items, lists=lists, origin=origin, l2=l2, tracker=tracker)
