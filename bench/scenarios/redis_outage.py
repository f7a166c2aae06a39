"""Scenario 6, Redis outage: requests while redis-server is down; 5xx count and p99 latency.

Each peer gets its own redis-server, warms it with every product, then the server process is
stopped for the outage (connections are refused, as after a node failure) and the peer
reads round robin until the outage ends; the server is then started again on the same port.
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
    for name in ctx.peers:
        with standalone() as server:
            params = {
                "peer": name,
                "settings": ctx.settings(redis_url=server.url).to_json(),
                "product_ids": product_ids,
                "seconds": ctx.sizes.outage_seconds,
            }
            try:
                worker = Worker(WORKER, params)
                worker.recv()  # warm
                server.stop()
                reads_before = ctx.origin.total_reads()
                worker.send({"go": True})
                peers[name] = worker.result()
                peers[name]["origin_reads"] = ctx.origin.total_reads() - reads_before
            except WorkerError as exc:
                peers[name] = {"error": str(exc)}
            finally:
                if server.proc is None:
                    server.start()
    return {"outage_seconds": ctx.sizes.outage_seconds, "products": PRODUCTS, "peers": peers}
