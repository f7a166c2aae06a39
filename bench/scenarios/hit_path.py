"""Scenario 1, hit path: p50/p99 of an L2 hit and an L1 hit beside a raw GET + JSON decode.

Every measured read is paired with a raw redis-py GET + json.loads of the same product JSON,
timed alternately in the same worker, and compared with it. Ours is measured twice: at the
cache API (runtime.items.read) and through the read handler (event parsing, ETag, headers,
EMF metrics flush included); the issue's targets are judged on both. At the cache API the
per-invocation metrics flush runs untimed after each read, so those figures exclude it.
An "L2 hit" for ours is a read with the L1 layer switched off in the item policy, so every read
goes to Redis; an "L1 hit" is a repeated read with L1 on. naive and dogpile have no L1: all
their hits are Redis hits.
"""

from __future__ import annotations

from typing import Any

from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.stats import ratio
from bench.workers import WorkerError, run_worker

WORKER = "bench.scenarios.hit_path_worker"
PRODUCT_ID = "hit-path"


def _measure(ctx: BenchContext, mode: str, peer: str, **settings: Any) -> dict[str, Any]:
    params = {
        "mode": mode,
        "peer": peer,
        "product_id": PRODUCT_ID,
        "samples": ctx.sizes.hit_samples,
        "settings": ctx.settings(**settings).to_json(),
        "value": product(PRODUCT_ID, 1),
    }
    try:
        return dict(run_worker(WORKER, params))
    except WorkerError as exc:
        return {"error": str(exc)}


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    ctx.flush_redis()
    seed(ctx.origin.client(), [product(PRODUCT_ID, 1)])
    peers: dict[str, Any] = {}
    if "ours" in ctx.peers:
        peers["ours"] = {
            "l2_hit_api": _measure(ctx, "api", "ours", without_l1=True),
            "l1_hit_api": _measure(ctx, "api", "ours"),
            "l2_hit_handler": _measure(ctx, "peer", "ours", without_l1=True),
            "l1_hit_handler": _measure(ctx, "peer", "ours"),
        }
    for name in ctx.peers:
        if name != "ours":
            peers[name] = {"l2_hit": _measure(ctx, "peer", name)}
    for figures in peers.values():
        for measurement in list(figures.values()):
            raw = measurement.get("raw") or {}
            measurement["p50_vs_raw"] = ratio(measurement.get("p50_ms"), raw.get("p50_ms"))
            measurement["p99_vs_raw"] = ratio(measurement.get("p99_ms"), raw.get("p99_ms"))
        l2 = figures.get("l2_hit_api") or figures.get("l2_hit") or {}
        figures["l2_p50_vs_raw"] = l2.get("p50_vs_raw")
        figures["l2_p99_vs_raw"] = l2.get("p99_vs_raw")
    if "ours" in peers:
        ours = peers["ours"]
        l1, l2 = ours["l1_hit_api"], ours["l2_hit_api"]
        ours["l1_p50_vs_l2_p50"] = ratio(l1.get("p50_ms"), l2.get("p50_ms"))
        l1_handler, l2_handler = ours["l1_hit_handler"], ours["l2_hit_handler"]
        ours["handler_l2_p50_vs_raw"] = l2_handler.get("p50_vs_raw")
        ours["handler_l2_p99_vs_raw"] = l2_handler.get("p99_vs_raw")
        ours["handler_l1_p50_vs_l2_p50"] = ratio(l1_handler.get("p50_ms"), l2_handler.get("p50_ms"))
    return {
        "peers": peers,
        "samples": ctx.sizes.hit_samples,
        "raw": "redis-py GET + json.loads of the same product JSON, timed alternately with "
        "each measured read in the same process (p50_vs_raw / p99_vs_raw use that pairing)",
        "target_applies_to": "ours at two levels, each judged: the cache API "
        "(runtime.items.read; its timing excludes the per-invocation EMF metrics flush, run "
        "untimed after each read) and the read handler (product read_handler, flush "
        "included); L2 hit = L1 layer off so every read goes to Redis",
    }
