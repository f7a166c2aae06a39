"""Scenario 1, hit path: what one cached read costs, beside the floors it cannot go below.

ours is measured in one worker, every figure interleaved read by read (the order rotating),
so background load falls on all of them alike:
- `bare_resolver`: a bare Powertools APIGatewayRestResolver answering a constant body;
- `floor` ("Powertools floor"): that resolver wrapped by `api_entry`, the Logger/Metrics
  wiring of the read handler itself, answering the same constant body;
- `l1_hit_handler` / `l2_hit_handler`: the read handler serving an L1 hit, and an L2 hit
  (the runtime with the L1 layer removed from the item policy);
- `l1_hit_api` / `l2_hit_api`: the same two at the cache API (`runtime.items.read`);
- `raw`: redis-py GET + json.loads of the same product JSON.
Targets (judged with a tolerance of two standard errors of each statistic from a block
bootstrap of the rounds, so a verdict near its limit does not flip on sampling noise):
handler L1 hit p50 <= 1.25x the floor; handler L2 hit p50 <= floor + 1.3x raw; cache API L2
hit p50 <= 1.3x raw, p99 <= 2x raw, L1 hit p50 < 0.1x the L2 hit. naive and dogpile: their
Redis hit, each read paired with the raw GET in its own worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.stats import TOLERANCE_STANDARD_ERRORS, judge, paired_bootstrap, ratio
from bench.workers import WorkerError, run_worker

WORKER = "bench.scenarios.hit_path_worker"
PRODUCT_ID = "hit-path"


def _p(q: float) -> Callable[[np.ndarray], float]:
    return lambda values: float(np.percentile(values, q))


P50, P99 = _p(50), _p(99)

# name: (statistic over the paired series, target, strict)
STATISTICS: dict[str, tuple[Callable[[dict[str, np.ndarray]], float], float | None, bool]] = {
    "floor_vs_bare_resolver": (lambda s: P50(s["floor"]) / P50(s["bare_resolver"]), None, False),
    "handler_l1_vs_floor": (lambda s: P50(s["l1_hit_handler"]) / P50(s["floor"]), 1.25, False),
    "handler_l2_vs_floor_plus_raw": (
        lambda s: P50(s["l2_hit_handler"]) / (P50(s["floor"]) + 1.3 * P50(s["raw"])),
        1.0,
        False,
    ),
    "l2_p50_vs_raw": (lambda s: P50(s["l2_hit_api"]) / P50(s["raw"]), 1.3, False),
    "l2_p99_vs_raw": (lambda s: P99(s["l2_hit_api"]) / P99(s["raw"]), 2.0, False),
    "l1_p50_vs_l2_p50": (lambda s: P50(s["l1_hit_api"]) / P50(s["l2_hit_api"]), 0.1, True),
}


def _ours(ctx: BenchContext) -> dict[str, Any]:
    params = {
        "mode": "ours",
        "product_id": PRODUCT_ID,
        "samples": ctx.sizes.hit_samples,
        "settings": ctx.settings().to_json(),
        "settings_without_l1": ctx.settings(without_l1=True).to_json(),
        "value": product(PRODUCT_ID, 1),
    }
    try:
        series = dict(run_worker(WORKER, params))
    except WorkerError as exc:
        return {"error": str(exc)}
    timings = {name: figures.pop("_s") for name, figures in series.items()}
    figures: dict[str, Any] = dict(series)
    raw = figures.pop("raw")
    for measurement in figures.values():
        measurement["raw"] = raw  # the same interleaved raw series for every figure
        measurement["p50_vs_raw"] = ratio(measurement.get("p50_ms"), raw.get("p50_ms"))
        measurement["p99_vs_raw"] = ratio(measurement.get("p99_ms"), raw.get("p99_ms"))
    judged: dict[str, Any] = {}
    for name, (statistic, target, strict) in STATISTICS.items():
        estimate, standard_error = paired_bootstrap(timings, statistic)
        judged[name] = {
            "value": round(estimate, 3),
            "tolerance": round(TOLERANCE_STANDARD_ERRORS * standard_error, 3),
            "target": target,
            "met": judge(estimate, standard_error, target, strict),
        }
    figures["judged"] = judged
    figures["raw"] = raw
    for name in STATISTICS:
        figures[name] = judged[name]["value"]
    return figures


def _peer(ctx: BenchContext, peer: str) -> dict[str, Any]:
    params = {
        "mode": "peer",
        "peer": peer,
        "product_id": PRODUCT_ID,
        "samples": ctx.sizes.hit_samples,
        "settings": ctx.settings().to_json(),
        "value": product(PRODUCT_ID, 1),
    }
    try:
        measurement = dict(run_worker(WORKER, params))
    except WorkerError as exc:
        return {"l2_hit": {"error": str(exc)}}
    raw = measurement.get("raw") or {}
    measurement["p50_vs_raw"] = ratio(measurement.get("p50_ms"), raw.get("p50_ms"))
    measurement["p99_vs_raw"] = ratio(measurement.get("p99_ms"), raw.get("p99_ms"))
    return {
        "l2_hit": measurement,
        "l2_p50_vs_raw": measurement["p50_vs_raw"],
        "l2_p99_vs_raw": measurement["p99_vs_raw"],
    }


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    ctx.flush_redis()
    seed(ctx.origin.client(), [product(PRODUCT_ID, 1)])
    peers: dict[str, Any] = {}
    if "ours" in ctx.peers:
        peers["ours"] = _ours(ctx)
    for name in ctx.peers:
        if name != "ours":
            peers[name] = _peer(ctx, name)
    return {
        "peers": peers,
        "samples": ctx.sizes.hit_samples,
        "raw": "redis-py GET + json.loads of the same product JSON, interleaved with every "
        "measured read in the same process",
        "floor": "Powertools floor: a bare APIGatewayRestResolver answering a constant body, "
        "wrapped by api_entry (the read handler's own Logger and Metrics wiring); events carry "
        "the headers API Gateway REST passes on",
        "tolerance": f"{TOLERANCE_STANDARD_ERRORS:g} standard errors of each statistic "
        "(moving-block bootstrap of the paired rounds: 20 blocks of consecutive rounds, 200 "
        "resamples, so bursts of load count): a target is missed only beyond it",
    }
