"""Worker for the stale-read scenarios (python -m bench.scenarios.stale_reads_worker).

For each interleaving: a reader thread misses the cache and its origin GetItem is parked by
the origin (bench/origin_server.py holds). The steps
  R  the reader's GetItem runs at the origin (it reads the old version),
  F  the reader gets that answer back (and fills the cache with it, if the peer lets it),
  W  the writer commits the next version through the peer's write path,
  I  the invalidation of that write is delivered (ours: the stream record; peers: DEL),
and, in the eviction and blip variants,
  E  memory pressure: filler keys are written until Redis has evicted the item's keys,
  [  Redis stops answering for `blip_seconds` of wall time (its process is frozen with
     SIGSTOP: connections hang until the client's timeout, as in a network blip or a failover
     pause; a timer resumes it with SIGCONT, with its data), ]  the steps after it wait until
     Redis answers again,
are then executed in the drawn order (R before F, W before I). With `redeliver`, a failed
invalidation is retried as the event source mapping would (its retry count and backoff),
and counted as dead-lettered when the retries run out. Afterwards a fresh read checks the
promise: it starts after the write was acknowledged and after its invalidation (the stream
lag), so it must return the written version or newer. With `fresh_check` (the blips) that
read runs in another environment of ours (its own runtime, breaker and connections), as
every other Lambda environment would read: the worker's own breaker may still be open after
the blip and would hide what L2 holds.
"""

from __future__ import annotations

import dataclasses
import random
import signal
import threading
import time
from collections import Counter
from typing import Any

import redis
import redis_servers

from bench.items import product
from bench.origin_client import Origin
from bench.peers import PeerSettings, make_peer
from bench.workers import Channel, serve
from cache_constructs.contract.keys import item_keys
from local_stack.stream_poller import EventSourceSettings

ORDERS = ("RFWI", "RWFI", "RWIF", "WRFI", "WRIF", "WIRF")


class _Interleaving:
    """The steps of one interleaving, for one product."""

    def __init__(self, run: _Run, product_id: str) -> None:
        self.run = run
        self.product_id = product_id
        self.written = 0
        self.acked_at = 0.0
        self.blip: threading.Timer | None = None

    def step(self, name: str, reader: threading.Thread) -> None:
        run, product_id = self.run, self.product_id
        if name == "R":
            run.origin.release(product_id, "before")
            run.origin.await_arrival(product_id, "after", timeout=10)
        elif name == "F":
            run.origin.release(product_id, "after")
            reader.join(timeout=30)
        elif name == "W":
            self.written = run.peer.write(product(product_id, 2))
            self.acked_at = time.monotonic()
        elif name == "I":
            run.deliver(product(product_id, 1), product(product_id, int(self.written)))
        elif name == "E":
            value, fence, _ = item_keys(product_id)
            assert run.admin is not None
            redis_servers.fill_until_evicted(run.admin, [value, fence], prefix=f"f-{product_id}")
        elif name == "[":
            assert run.server is not None and run.server.proc is not None
            run.server.proc.send_signal(signal.SIGSTOP)
            # The outage lasts `blip_seconds` of wall time whatever the steps inside do (a
            # stream invocation retrying Redis sees it come back), like a real blip.
            proc = run.server.proc
            self.blip = threading.Timer(run.blip_seconds, proc.send_signal, (signal.SIGCONT,))
            self.blip.start()
        elif name == "]":
            assert self.blip is not None
            self.blip.join()  # the steps after "]" run with Redis answering again


class _Run:
    """One worker's peer, origin and (for the variants) Redis handles and counters."""

    def __init__(self, params: dict[str, Any]) -> None:
        settings = PeerSettings.from_json(params["settings"])
        self.server: redis_servers.RedisServer | None = None
        if params.get("blip"):
            # The worker owns this server so it can freeze and resume it (a blip).
            self.server = redis_servers.RedisServer().start()
            settings = dataclasses.replace(settings, redis_url=self.server.url)
        self.admin = redis.Redis.from_url(settings.redis_url) if params.get("evict") else None
        self.peer = make_peer(params["peer"], settings)
        self.origin = Origin(params["origin_endpoint"])
        self.redeliver = bool(params.get("redeliver"))
        self.blip_seconds = float(params.get("blip_seconds", 0))
        self.redelivered = 0
        self.dead_lettered = 0
        self.checker = _other_environment() if params.get("fresh_check") else None

    def check(self, product_id: str) -> int | None:
        """The version a read that starts now returns (None: not found)."""
        if self.checker is None:
            return self.peer.read(product_id).version
        return self.checker.items.read(product_id).version

    def deliver(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Deliver the invalidation; with `redeliver`, retry it as the event source would."""
        if not self.redeliver:
            self.peer.invalidate(old, new)
            return
        source = EventSourceSettings()
        for attempt in range(source.max_retries + 1):
            try:
                self.peer.invalidate(old, new)
                return
            except RuntimeError:
                if attempt == source.max_retries:
                    self.dead_lettered += 1
                    return
                self.redelivered += 1
                time.sleep(min(1.0, source.retry_backoff_seconds * 2**attempt))

    def close(self) -> None:
        if self.server is not None:
            if self.server.proc is not None:
                self.server.proc.send_signal(signal.SIGCONT)  # never leave it frozen
            self.server.cleanup()


def _other_environment() -> Any:
    """Another Lambda environment of ours: a runtime built from the same environment (the
    ours peer has set it) with its own L1, breaker and clients."""
    from cache_constructs.product.domain.codec import PRODUCT_CODEC
    from cache_constructs.runtime.config import load_config
    from cache_constructs.runtime.runtime import build_runtime

    return build_runtime(load_config(), codec=PRODUCT_CODEC)


def task(params: dict[str, Any], _channel: Channel) -> dict[str, Any]:
    run = _Run(params)
    try:
        return _interleavings(run, params)
    finally:
        run.close()


def _interleavings(run: _Run, params: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(int(params["seed"]))
    # The variants name their orders and run each in turn (every order at every size); the
    # plain scenario draws from all six.
    orders = tuple(params.get("orders") or ORDERS)
    cycle = bool(params.get("orders"))
    stale_by_order: Counter[str] = Counter()
    runs_by_order: Counter[str] = Counter()
    no_origin_read = 0
    longest_ms = 0.0
    for index in range(int(params["interleavings"])):
        product_id = f"{params['prefix']}{index}"
        order = orders[index % len(orders)] if cycle else rng.choice(orders)
        run.origin.hold(product_id)
        reader = threading.Thread(target=run.peer.read, args=(product_id,))
        reader.start()
        if not run.origin.await_arrival(product_id, "before", timeout=10):
            no_origin_read += 1
            run.origin.drop_hold(product_id)
            reader.join()
            continue
        runs_by_order[order] += 1
        steps = _Interleaving(run, product_id)
        for step in order:
            steps.step(step, reader)
        run.origin.drop_hold(product_id)
        reader.join(timeout=30)
        version = run.check(product_id)
        if version is None or version < steps.written:
            stale_by_order[order] += 1
            remaining = run.peer.stale_entry_ttl_ms(product_id) or 0
            longest_ms = max(longest_ms, (time.monotonic() - steps.acked_at) * 1000 + remaining)
    figures: dict[str, Any] = {
        "interleavings": sum(runs_by_order.values()),
        "stale_reads": sum(stale_by_order.values()),
        "stale_by_order": dict(stale_by_order),
        "runs_by_order": dict(runs_by_order),
        "reader_skipped_origin": no_origin_read,
        "longest_staleness_s": round(longest_ms / 1000, 1),
    }
    if run.admin is not None:
        figures["evicted_keys"] = redis_servers.evicted_keys(run.admin)
    if run.redeliver:
        figures["invalidations_redelivered"] = run.redelivered
        figures["invalidations_dead_lettered"] = run.dead_lettered
    return figures


if __name__ == "__main__":
    serve(task)
