"""Runs the scenarios against one origin and one redis-server and assembles the results."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from redis_servers import standalone

from bench.context import BenchContext, base_policy
from bench.machine import describe
from bench.origin import running_origin
from bench.scenarios import (
    cold_start,
    convergence,
    hit_path,
    list_stampede,
    redis_outage,
    stale_reads,
    stale_reads_blips,
    stale_reads_eviction,
    stampede,
    synth,
    zipf,
)
from bench.sizes import Sizes

SCENARIOS: dict[str, Callable[[BenchContext], dict[str, Any]]] = {
    "hit_path": hit_path.run,
    "cold_start": cold_start.run,
    "stampede": stampede.run,
    "list_stampede": list_stampede.run,
    "zipf": zipf.run,
    "stale_reads": stale_reads.run,
    "stale_reads_eviction": stale_reads_eviction.run,
    "stale_reads_blips": stale_reads_blips.run,
    "redis_outage": redis_outage.run,
    "convergence": convergence.run,
    "synth": synth.run,
}

ORIGIN = (
    "moto's DynamoDB emulator (moto server in its own process, shared by all three peers, "
    "over HTTP with boto3), behind a bench layer that counts reads, can add latency and can "
    "park a GetItem to force interleavings; added latency 0 ms unless a scenario says "
    "otherwise (moto itself answers a GetItem in a few ms here)"
)


def run(
    sizes: Sizes,
    names: Iterable[str] = SCENARIOS,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the named scenarios; a scenario that crashes is recorded, the rest still run."""
    results: dict[str, Any] = {
        "mode": sizes.name,
        "machine": describe(),
        "origin": ORIGIN,
        "scenarios": {},
        "seconds": {},
    }
    policy = base_policy()
    with running_origin() as origin, standalone() as redis_server:
        ctx = BenchContext(origin=origin, redis_server=redis_server, policy=policy, sizes=sizes)
        for name in names:
            log(f"bench: {name} ...")
            start = time.perf_counter()
            try:
                results["scenarios"][name] = SCENARIOS[name](ctx)
            except Exception:
                results["scenarios"][name] = {"scenario_error": traceback.format_exc()}
            results["seconds"][name] = round(time.perf_counter() - start, 1)
            log(f"bench: {name} done in {results['seconds'][name]} s")
    results["policy"] = policy
    return results
