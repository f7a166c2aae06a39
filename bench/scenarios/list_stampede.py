"""Scenario: list stampede. After each bump of a category's generation (a write through the
API), processes x threads read the same page at once; count the GSI queries.

Target: one query per page per generation (the page lease, defect 6). The callers run ours
with the l1 layer removed: an L1 of another environment cannot be invalidated by the bump
(client tracking does that, and is judged apart); what is measured here is L2's protection
of the index. Every caller is its own process (a Lambda environment) with several threads.
The bump just happened when the callers read, so the page is filled under the GSI settle
window (kept 1 s): the next generation's round starts after the next write.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.workers import Worker, WorkerError

WORKER = "bench.scenarios.list_stampede_worker"
CATEGORY = "list-stampede"
PRODUCTS = 10


def _queries(ctx: BenchContext) -> int:
    return int(ctx.origin.counts()["ops"].get("Query", 0))


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    ctx.flush_redis()
    seed(ctx.origin.client(), (product(f"ls-{i}", 1, category=CATEGORY) for i in range(PRODUCTS)))
    settings = ctx.settings(without_l1=True).to_json()
    base = {"settings": settings, "category": CATEGORY, "limit": 20}
    sizes = ctx.sizes
    workers: list[Worker] = []
    try:
        writer = Worker(WORKER, {**base, "role": "writer"})
        workers.append(writer)
        readers = [
            Worker(WORKER, {**base, "role": "reader", "threads": sizes.list_stampede_threads})
            for _ in range(sizes.list_stampede_processes)
        ]
        workers += readers
        for worker in workers:
            worker.recv()  # ready (handlers imported, configuration read)
        per_generation: list[int] = []
        sources: Counter[str] = Counter()
        non_200 = 0
        first_error = ""
        max_wait_ms = 0.0
        for generation in range(sizes.list_stampede_generations):
            writer.send({"write": f"ls-new-{generation}"})
            writer.recv()  # the write is acknowledged: the generation moved
            before = _queries(ctx)
            for reader in readers:
                reader.send({"go": True})
            for reader in readers:
                for answer in reader.recv()["answers"]:
                    sources[answer["source"]] += 1
                    non_200 += answer["status"] != 200
                    first_error = first_error or answer.get("error", "")
                    max_wait_ms = max(max_wait_ms, answer["seconds"] * 1000)
            per_generation.append(_queries(ctx) - before)
        for worker in workers:
            worker.send({"stop": True})
            worker.result()
    except WorkerError as exc:
        for worker in workers:
            worker.close()
        return {"peers": {"ours": {"error": str(exc)}}}
    return {
        "peers": {
            "ours": {
                "generations": len(per_generation),
                "callers": sizes.list_stampede_processes * sizes.list_stampede_threads,
                "processes": sizes.list_stampede_processes,
                "queries_per_generation": per_generation,
                "max_queries_per_generation": max(per_generation),
                "sources": dict(sources),
                "non_200": non_200,
                "first_error": first_error,
                "max_wait_ms": round(max_wait_ms, 1),
            }
        }
    }
