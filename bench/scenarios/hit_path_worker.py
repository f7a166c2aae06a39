"""Worker: time repeated reads of one cached product (python -m bench.scenarios.hit_path_worker).

Modes: `raw` (redis-py GET + json.loads of the product JSON), `peer` (the peer's read path;
for ours the read handler) and `api` (ours' cache runtime: runtime.items.read).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from bench.peers import PeerSettings, make_peer
from bench.stats import percentiles_ms
from bench.workers import Channel, serve

WARMUP = 200


def measure(read: Any, samples: int) -> tuple[list[float], Counter[str]]:
    sources: Counter[str] = Counter()
    for _ in range(WARMUP):
        read()
    timings = []
    clock = time.perf_counter
    for _ in range(samples):
        start = clock()
        outcome = read()
        timings.append(clock() - start)
        sources[outcome] += 1
    return timings, sources


def task(params: dict[str, Any], _channel: Channel) -> dict[str, Any]:
    settings = PeerSettings.from_json(params["settings"])
    product_id = params["product_id"]
    samples = int(params["samples"])
    if params["mode"] == "raw":
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        client.set(f"raw:{product_id}", json.dumps(params["value"]))

        def read() -> str:
            json.loads(client.get(f"raw:{product_id}"))  # type: ignore[arg-type]
            return "raw"

    elif params["mode"] == "api":
        from bench.peers.ours_api import OursRuntime

        runtime = OursRuntime(settings)

        def read() -> str:
            return runtime.read(product_id).source

    else:
        peer = make_peer(params["peer"], settings)

        def read() -> str:
            result = peer.read(product_id)
            if result.status != 200:
                raise RuntimeError(f"{params['peer']}: read returned {result.status}")
            return result.source

    timings, sources = measure(read, samples)
    return {**percentiles_ms(timings), "sources": dict(sources)}


if __name__ == "__main__":
    serve(task)
