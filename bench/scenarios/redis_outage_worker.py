"""Worker for the Redis outage scenario (python -m bench.scenarios.redis_outage_worker).

Warms the cache with every product, says "warm", waits for "go" (Redis is then down), and
reads round robin for the outage's duration, timing each request.
"""

from __future__ import annotations

import time
from typing import Any

from bench.peers import PeerSettings, make_peer
from bench.stats import percentiles_ms
from bench.workers import Channel, serve


def task(params: dict[str, Any], channel: Channel) -> dict[str, Any]:
    peer = make_peer(params["peer"], PeerSettings.from_json(params["settings"]))
    product_ids = list(params["product_ids"])
    for product_id in product_ids:
        peer.read(product_id)
    channel.send({"warm": True})
    channel.recv()
    deadline = time.monotonic() + float(params["seconds"])
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    index = 0
    while time.monotonic() < deadline:
        product_id = product_ids[index % len(product_ids)]
        index += 1
        start = time.perf_counter()
        try:
            status = peer.read(product_id).status
        except Exception:
            status = 500  # an exception escaping the read path is a 5xx on Lambda too
        latencies.append(time.perf_counter() - start)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "requests": len(latencies),
        "status_counts": statuses,
        "5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        **percentiles_ms(latencies),
    }


if __name__ == "__main__":
    serve(task)
