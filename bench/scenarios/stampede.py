"""Scenario 3, stampede: concurrent callers on one expired hot key; count origin reads.

The hot key is cached by a separate process (so no caller has it in L1), then left to expire
for real: the policy's L1 and L2 TTLs are cut to 1 s (each peer's own expiry applies: naive's
SETEX key vanishes, dogpile's value passes its expiration time, ours' envelope passes its
fresh-until and enters the stale-while-revalidate window). Callers are released together:
threads of one process behind a barrier, or processes (fresh interpreters, like separate
Lambda environments) that all said "ready" before "go". The origin answers after an added
latency, so the race window is as wide as a real origin read.
A second case, `absent`, flushes Redis instead (evicted or past any stale window).
For ours the process case is run `stampede_process_runs` times (5 in the quick and full runs),
each on its own hot key: one origin read in every run is the target, so a verdict cannot
rest on one lucky run (the peers run it once, for comparison).
"""

from __future__ import annotations

import time
from typing import Any

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.workers import Worker, WorkerError

WORKER = "bench.scenarios.stampede_worker"
TTL_S = 1


def _case(ctx: BenchContext, peer: str, mode: str, state: str, runs: int = 1) -> dict[str, Any]:
    """`runs` stampedes, each on its own hot key, by the same callers (processes stay up)."""
    product_ids = [f"stampede-{peer}-{mode}-{state}-{run}" for run in range(runs)]
    seed(ctx.origin.client(), [product(product_id, 1) for product_id in product_ids])
    settings = ctx.settings(l1_ttl_seconds=TTL_S, l2_ttl_seconds=TTL_S, negative_ttl_seconds=TTL_S)
    params = {"peer": peer, "settings": settings.to_json(), "product_ids": product_ids}
    if mode == "threads":
        callers = ctx.sizes.stampede_threads
        workers = [Worker(WORKER, {**params, "mode": "threads", "callers": callers, "fill": True})]
    else:
        callers = ctx.sizes.stampede_processes
        workers = [
            Worker(WORKER, {**params, "mode": "caller", "fill": i == 0}) for i in range(callers)
        ]
    per_run = []
    try:
        for product_id in product_ids:
            per_run.append(_one_run(ctx, workers, product_id, settings.policy, state))
        for worker in workers:
            worker.result()
    finally:
        for worker in workers:
            worker.close()
    answers = [a for run in per_run for a in run["answers"]]
    figures: dict[str, Any] = {
        "callers": len(per_run[0]["answers"]),
        "origin_reads": max(run["origin_reads"] for run in per_run),
        "statuses": sorted({a["status"] for a in answers}),
        "non_200": sum(1 for a in answers if a["status"] != 200),
        "sources": sorted({a["source"] for a in answers}),
        "max_wait_ms": round(max(a["seconds"] for a in answers) * 1000, 1),
    }
    if runs > 1:
        figures["runs"] = runs
        figures["origin_reads_per_run"] = [run["origin_reads"] for run in per_run]
    return figures


def _one_run(
    ctx: BenchContext, workers: list[Worker], product_id: str, policy: dict[str, Any], state: str
) -> dict[str, Any]:
    workers[0].recv()  # ready: the hot key is cached
    filled_at = time.monotonic()
    for worker in workers[1:]:
        worker.recv()
    # Real expiry (L1 and L2): the TTL plus the largest jitter the policy allows, and a margin.
    expires_at = filled_at + TTL_S * (1 + float(policy.get("jitter", 0))) + 0.3
    time.sleep(max(0.0, expires_at - time.monotonic()))
    if state == "absent":
        ctx.flush_redis()
    before = ctx.origin.reads_of(product_id)
    for worker in workers:
        worker.send({"go": True})
    answers: list[dict[str, Any]] = []
    for worker in workers:
        answers.extend(worker.recv()["answers"])
    return {"answers": answers, "origin_reads": ctx.origin.reads_of(product_id) - before}


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset(latency_ms=ctx.sizes.stampede_origin_latency_ms)
    ctx.flush_redis()
    peers: dict[str, Any] = {}
    try:
        for peer in ctx.peers:
            peers[peer] = {}
            for case in ctx.sizes.stampede_cases:
                mode, state = case.split("_")
                try:
                    # ours' process case is judged on several runs; the peers run it once
                    runs = ctx.sizes.stampede_process_runs
                    judged = mode == "processes" and peer == "ours"
                    peers[peer][case] = _case(ctx, peer, mode, state, runs if judged else 1)
                except WorkerError as exc:
                    peers[peer][case] = {"error": str(exc)}
    finally:
        ctx.origin.reset()
    return {
        "peers": peers,
        "origin_latency_ms": ctx.sizes.stampede_origin_latency_ms,
        "ttl_s": TTL_S,
    }
