"""Scenario 6, Redis outage: requests while redis-server is down; 5xx count and p99 latency.

Each peer gets its own redis-server, warms it with every product, then the server process is
stopped for the outage (connections are refused, as after a node failure) and the peer
reads round robin until the outage ends; the server is then started again on the same port.

ours runs twice: as configured (its L1 holds every product through the outage, so Redis is
never asked) and as `ours_l1_off`, with the `l1` layer removed, so every request meets the
outage and must fall back to the origin. The target applies to both.
"""

from __future__ import annotations

from typing import Any

from redis_servers import standalone

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.workers import Worker, WorkerError

WORKER = "bench.scenarios.redis_outage_worker"
PRODUCTS = 50


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    product_ids = [f"outage-{i}" for i in range(PRODUCTS)]
    seed(ctx.origin.client(), (product(pid, 1) for pid in product_ids))
    peers: dict[str, Any] = {}
    variants = [(name, name, False) for name in ctx.peers]
    if "ours" in ctx.peers:
        variants.insert(1, ("ours_l1_off", "ours", True))
    for label, name, without_l1 in variants:
        with standalone() as server:
            params = {
                "peer": name,
                "settings": ctx.settings(redis_url=server.url, without_l1=without_l1).to_json(),
                "product_ids": product_ids,
                "seconds": ctx.sizes.outage_seconds,
            }
            try:
                worker = Worker(WORKER, params)
                worker.recv()  # warm
                server.stop()
                reads_before = ctx.origin.total_reads()
                worker.send({"go": True})
                peers[label] = worker.result()
                peers[label]["origin_reads"] = ctx.origin.total_reads() - reads_before
            except WorkerError as exc:
                peers[label] = {"error": str(exc)}
            finally:
                if server.proc is None:
                    server.start()
    return {"outage_seconds": ctx.sizes.outage_seconds, "products": PRODUCTS, "peers": peers}
