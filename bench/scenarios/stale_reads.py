"""Scenario 5, stale reads: forced interleavings of a reader, a writer and an invalidation.

Counts reads that return a version older than the consistency promise allows, and the
longest staleness seen: for a stale check, the time since the write was acknowledged plus
how long the stale entry would still be served (its remaining TTL in Redis; dogpile: until
its expiration time). The promise: a read that starts more than max_staleness (L1 TTL +
stream lag) after an acknowledged write returns that version or newer. L1 is switched off
for ours here, so the check looks at L2, which every other layer fills from (L1's coherence
by client tracking is judged by the read-your-writes convergence scenario). The peers have
no L1.
"""

from __future__ import annotations

from typing import Any

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.workers import WorkerError, run_worker

WORKER = "bench.scenarios.stale_reads_worker"
SEED = 11


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    ctx.flush_redis()
    count = ctx.sizes.stale_interleavings
    peers: dict[str, Any] = {}
    for name in ctx.peers:
        prefix = f"stale-{name}-"
        seed(ctx.origin.client(), (product(f"{prefix}{i}", 1) for i in range(count)))
        params = {
            "peer": name,
            "settings": ctx.settings(without_l1=True).to_json(),
            "origin_endpoint": ctx.origin.endpoint,
            "prefix": prefix,
            "interleavings": count,
            "seed": SEED,
        }
        try:
            peers[name] = run_worker(WORKER, params)
        except WorkerError as exc:
            peers[name] = {"error": str(exc)}
    return {
        "interleavings": count,
        "orders": "R=reader's origin read, F=its answer returns (fill), W=write acknowledged, "
        "I=invalidation delivered",
        "peers": peers,
    }
