"""Scenario 4, Zipf workload: alpha 0.99 over the product keys, 1% writes, cache = 10% of keys.

Every peer replays the same seeded trace against its own redis-server, sized (maxmemory,
allkeys-lru) to hold 10% of the keys in that peer's own representation. ours also has its
per-process L1, sized to 10% of the keys too (L1_MAX_ENTRIES); L1 and L2 may hold the same
products. Writes go through each peer's write path (write-through); ours additionally gets
the stream record of every write, as its invalidation function would. The first
`zipf_warmup` requests fill the caches and are not counted.
Hit ratio = 1 - origin reads of the read path / reads (origin reads counted at the origin;
reads made by a write path are excluded), beside an exact LRU of the same size on the same
trace.
"""

from __future__ import annotations

from typing import Any

from redis_servers import standalone

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.stats import ratio
from bench.workers import WorkerError, run_worker
from bench.workload import lru_hit_ratio, zipf_trace

WORKER = "bench.scenarios.zipf_worker"
PREFIX = "zipf-"
SEED = 7


def run(ctx: BenchContext) -> dict[str, Any]:
    sizes = ctx.sizes
    keys = sizes.zipf_keys
    cache_size = keys // 10
    ctx.origin.reset()
    seed(ctx.origin.client(), (product(f"{PREFIX}{k}", 1) for k in range(keys)))
    trace = zipf_trace(keys, sizes.zipf_requests, seed=SEED)
    lru = round(lru_hit_ratio(trace, cache_size, warmup=sizes.zipf_warmup), 4)
    peers: dict[str, Any] = {}
    for name in ctx.peers:
        with standalone() as server:
            settings = ctx.settings(redis_url=server.url, l1_max_entries=cache_size)
            params = {
                "peer": name,
                "settings": settings.to_json(),
                "origin_endpoint": ctx.origin.endpoint,
                "prefix": PREFIX,
                "keys": keys,
                "cache_size": cache_size,
                "requests": sizes.zipf_requests,
                "warmup": sizes.zipf_warmup,
                "seed": SEED,
            }
            try:
                peers[name] = run_worker(WORKER, params)
            except WorkerError as exc:
                peers[name] = {"error": str(exc)}
        peers[name]["hit_ratio_vs_lru"] = ratio(peers[name].get("hit_ratio"), lru)
    if "ours" in peers and "naive" in peers:
        ours_reads, naive_reads = (
            peers["ours"].get("origin_reads"),
            peers["naive"].get("origin_reads"),
        )
        peers["ours"]["origin_reads_vs_naive"] = ratio(ours_reads, naive_reads)
    return {
        "keys": keys,
        "requests": sizes.zipf_requests,
        "warmup": sizes.zipf_warmup,
        "alpha": 0.99,
        "write_fraction": 0.01,
        "cache_entries": cache_size,
        "lru_reference_hit_ratio": lru,
        "sizing": "L2: one redis-server per peer, maxmemory = its used memory once it holds "
        f"{cache_size} products cached through that peer, allkeys-lru "
        f"(maxmemory-samples 10); ours also has an L1 of {cache_size} entries (L1_MAX_ENTRIES)",
        "peers": peers,
    }
