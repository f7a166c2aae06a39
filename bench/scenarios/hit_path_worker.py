"""Worker: time repeated reads of one cached product (python -m bench.scenarios.hit_path_worker).

Modes: `peer` (the peer's read path; for ours the read handler) and `api` (ours' cache
runtime: runtime.items.read). Every read is paired with a raw redis-py GET + json.loads of
the same product JSON, timed alternately in the same process.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import redis

from bench.peers import PeerSettings, make_peer
from bench.stats import percentiles_ms
from bench.workers import Channel, serve

WARMUP = 200


def measure(read: Any, raw_read: Any, samples: int, after: Any = None) -> dict[str, Any]:
    """Time `read` and the raw GET + decode alternately, so both meet the same background load
    (the machine is shared; a burst must not land on one side only). `after` runs untimed
    after each read (ours at the cache API: the per-invocation metrics flush)."""
    sources: Counter[str] = Counter()
    for _ in range(WARMUP):
        read()
        raw_read()
        if after is not None:
            after()
    timings: list[float] = []
    raw_timings: list[float] = []
    clock = time.perf_counter
    for _ in range(samples):
        start = clock()
        outcome = read()
        middle = clock()
        raw_read()
        end = clock()
        timings.append(middle - start)
        raw_timings.append(end - middle)
        sources[outcome] += 1
        if after is not None:
            after()
    return {**percentiles_ms(timings), "sources": dict(sources), "raw": percentiles_ms(raw_timings)}


def task(params: dict[str, Any], _channel: Channel) -> dict[str, Any]:
    settings = PeerSettings.from_json(params["settings"])
    product_id = params["product_id"]
    raw_key = f"raw:{product_id}"
    client = redis.Redis.from_url(settings.redis_url)
    client.set(raw_key, json.dumps(params["value"]))

    def raw_read() -> str:
        json.loads(client.get(raw_key))  # type: ignore[arg-type]
        return "raw"

    if params["mode"] == "api":
        from bench.peers.ours_api import OursRuntime

        runtime = OursRuntime(settings)

        def read() -> str:
            return runtime.read(product_id).source

        return measure(read, raw_read, int(params["samples"]), after=runtime.end_invocation)

    peer = make_peer(params["peer"], settings)

    def peer_read() -> str:
        result = peer.read(product_id)
        if result.status != 200:
            raise RuntimeError(f"{params['peer']}: read returned {result.status}")
        return result.source

    return measure(peer_read, raw_read, int(params["samples"]))


if __name__ == "__main__":
    serve(task)
