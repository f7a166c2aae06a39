"""Scenario: stale reads under eviction pressure. The forced interleavings of the stale-read
scenario plus a step E, "memory pressure": on a redis-server with a small `maxmemory` (4 MB)
under `volatile-lru` (ElastiCache's default) and under `allkeys-lru`, filler keys are written
until Redis has evicted the item's value and fence. Mostly placed between the reader's origin
read and its fill, the case of defect 1 (a slow reader's fill after the fence was lost).

Ours only (through its handlers, L1 off as in the stale-read scenario): the peers have no
fence to lose. Target: 0 reads beyond the promise, under both policies.
"""

from __future__ import annotations

from typing import Any

import redis_servers

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.workers import WorkerError, run_worker

WORKER = "bench.scenarios.stale_reads_worker"
SEED = 13
ORDERS = ("RWIEF", "RWEIF", "REWIF", "WREIF", "RFWIE", "RWIFE")
"""R reader's origin read, F its fill, W write acknowledged, I invalidation, E eviction."""
MAXMEMORY = "4mb"


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    count = ctx.sizes.eviction_interleavings
    policies: dict[str, Any] = {}
    for policy in redis_servers.EVICTION_POLICIES:
        prefix = f"evict-{policy}-"
        seed(ctx.origin.client(), (product(f"{prefix}{i}", 1) for i in range(count)))
        with redis_servers.evicting(policy, maxmemory=MAXMEMORY) as server:
            params = {
                "peer": "ours",
                "settings": ctx.settings(redis_url=server.url, without_l1=True).to_json(),
                "origin_endpoint": ctx.origin.endpoint,
                "prefix": prefix,
                "interleavings": count,
                "seed": SEED,
                "orders": ORDERS,
                "evict": True,
            }
            try:
                policies[policy] = run_worker(WORKER, params)
            except WorkerError as exc:
                policies[policy] = {"error": str(exc)}
    stale = [p.get("stale_reads") for p in policies.values()]
    return {
        "interleavings_per_policy": count,
        "maxmemory": MAXMEMORY,
        "orders": "R=reader's origin read, F=its fill, W=write acknowledged, I=invalidation "
        "delivered, E=filler keys until Redis evicted the item's value and fence",
        "policies": policies,
        "peers": {
            "ours": {
                "stale_reads": None if None in stale else sum(s for s in stale if s is not None),
                **{f"{policy}": figures for policy, figures in policies.items()},
            }
        },
    }
