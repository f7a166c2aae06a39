"""Scenario 8, read-your-writes convergence: a write through one process, then the time until
every other process's reads return it.

One writer process and `convergence_readers` reader processes (fresh interpreters, like
separate Lambda environments) per peer. Readers read one product in a loop, a short pause
between reads; for ours through the read handler with the item route's policy, so the
product is served from L1 (HIT-L1) until an invalidation arrives. The writer writes a new
version through the peer's write path `convergence_writes` times, `convergence_interval_s`
apart. For each write the figure is the longest, over the readers, of the time from its
acknowledgement to the end of a reader's first read that started after the acknowledgement
and returned that version (or newer); reads that started after an acknowledgement and still
returned an older version are counted too. naive has no L1: its readers meet the SETEX.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.workers import Worker, WorkerError

WORKER = "bench.scenarios.convergence_worker"
PEERS = ("ours", "naive")
"""ours beside the naive peer (dogpile has no L1 either: it would say what naive says)."""
TARGET_S = 1.0


def _peer(ctx: BenchContext, peer: str) -> dict[str, Any]:
    product_id = f"convergence-{peer}"
    seed(ctx.origin.client(), [product(product_id, 1)])
    sizes = ctx.sizes
    params = {
        "peer": peer,
        "settings": ctx.settings().to_json(),
        "product_id": product_id,
        "pace_ms": sizes.convergence_pace_ms,
    }
    writer = Worker(WORKER, {**params, "mode": "writer", "version": 1})
    readers = [
        Worker(WORKER, {**params, "mode": "reader"}) for _ in range(sizes.convergence_readers)
    ]
    try:
        for worker in [writer, *readers]:
            worker.recv()  # ready (readers: warmed)
        trials: list[dict[str, Any]] = []
        for _ in range(sizes.convergence_writes):
            writer.send({"write": True})
            trials.append(writer.recv())
            time.sleep(sizes.convergence_interval_s)  # pacing between writes, not a wait
        writer.send({"stop": True})
        writer.result()
        for reader in readers:
            reader.send({"trials": trials})
        results = [reader.result() for reader in readers]
    except WorkerError as exc:
        return {"error": str(exc)}
    finally:
        for worker in [writer, *readers]:
            worker.close()
    per_write = [
        None if None in seen else max(seen)
        for seen in zip(*(r["convergence_s"] for r in results), strict=True)
    ]
    converged = [s for s in per_write if s is not None]
    sources: dict[str, int] = {}
    for result in results:
        for source, count in result["sources"].items():
            sources[source] = sources.get(source, 0) + count
    return {
        "writes": len(trials),
        "readers": len(readers),
        "never_converged": len(per_write) - len(converged),
        "p50_ms": round(float(np.percentile(converged, 50)) * 1000, 2) if converged else None,
        "p99_ms": round(float(np.percentile(converged, 99)) * 1000, 2) if converged else None,
        "max_ms": round(max(converged) * 1000, 2) if converged else None,
        "stale_reads_after_ack": sum(r["stale_after_ack"] for r in results),
        "reads": sum(r["reads"] for r in results),
        "sources": sources,
    }


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    ctx.flush_redis()
    peers = {peer: _peer(ctx, peer) for peer in PEERS if peer in ctx.peers}
    return {
        "peers": peers,
        "target_s": TARGET_S,
        "readers": ctx.sizes.convergence_readers,
        "writes": ctx.sizes.convergence_writes,
        "interval_s": ctx.sizes.convergence_interval_s,
        "pace_ms": ctx.sizes.convergence_pace_ms,
        "measured": "per write: the longest, over the reader processes, of acknowledgement to "
        "the end of the first read started after it that returned it (monotonic clock)",
    }
