"""Scenario: stale reads under Redis blips. The forced interleavings of the stale-read
scenario with Redis not answering (`[`: its process frozen with SIGSTOP, so connections
hang until the client's timeout) and answering again with its data (`]`: SIGCONT) around
some of the steps, each blip lasting `blip_seconds` (2 s): writes
whose write-through fails, invalidations delivered while Redis is down (retried as the event
source mapping retries them: 5 retries, backoff from 50 ms doubling, then dead-lettered),
fills and reads that meet the outage (BYPASS, strongly consistent).

Ours only (through its handlers, L1 off); the check read runs in another environment of ours
(its own breaker: the worker's may still be open after the blip and would hide what L2
holds). Target: 0 reads beyond the promise.
"""

from __future__ import annotations

from typing import Any

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.workers import WorkerError, run_worker

WORKER = "bench.scenarios.stale_reads_worker"
SEED = 17
ORDERS = ("RF[WI]", "RF[W]I", "R[WI]F", "RW[I]F", "R[F]WI", "W[RF]I", "[W]RFI")
"""R reader's origin read, F its fill, W write acknowledged, I invalidation, [ ] Redis down."""


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    count = ctx.sizes.blip_interleavings
    prefix = "blip-"
    seed(ctx.origin.client(), (product(f"{prefix}{i}", 1) for i in range(count)))
    params = {
        "peer": "ours",
        "settings": ctx.settings(without_l1=True).to_json(),
        "origin_endpoint": ctx.origin.endpoint,
        "prefix": prefix,
        "interleavings": count,
        "seed": SEED,
        "orders": ORDERS,
        "blip": True,
        "blip_seconds": ctx.sizes.blip_seconds,
        "redeliver": True,
        "fresh_check": True,
    }
    try:
        ours = run_worker(WORKER, params)
    except WorkerError as exc:
        ours = {"error": str(exc)}
    return {
        "interleavings": count,
        "blip_seconds": ctx.sizes.blip_seconds,
        "orders": "R=reader's origin read, F=its fill, W=write acknowledged, I=invalidation "
        "delivered (retried like the event source mapping), [ ]=Redis down for the steps "
        "between",
        "peers": {"ours": ours},
    }
