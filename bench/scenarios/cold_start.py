"""Scenario 2, cold start: a fresh interpreter that imports a read path and serves one L2 hit.

The wall time runs from spawning `python` to the child printing its response (interpreter
teardown is not counted). The floor is a fresh interpreter that imports boto3 and redis-py
and does one raw GET + JSON decode. Runs of the peers and the floor are interleaved (round
robin) so background noise falls on all of them alike; the figure is the median, and the
target (ours <= 1.0x the floor) is judged with a tolerance of two bootstrap standard errors
of that ratio over the paired rounds (a fresh interpreter's start varies by tens of ms).
The L2 entry is filled by one untimed run of each peer first, so every timed run is an L2 hit.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench import paths
from bench.context import BenchContext
from bench.items import product
from bench.origin import seed
from bench.peers.ours import handler_environment, rest_event
from bench.stats import TOLERANCE_STANDARD_ERRORS, judge, paired_bootstrap, ratio

PRODUCT_ID = "cold-start"
ANSWER = "BENCH-ANSWER "

FLOOR = """
import json, sys
import boto3, redis
value = json.loads(redis.Redis.from_url(sys.argv[1]).get(sys.argv[2]))
print("BENCH-ANSWER", json.dumps({"version": value["version"], "source": "raw"}), flush=True)
"""

OURS = """
import json, sys, types
from cache_constructs.product.handlers.read_handler import handler
context = types.SimpleNamespace(function_name="read", function_version="$LATEST",
    memory_limit_in_mb=1024, aws_request_id="cold-start", log_group_name="/aws/lambda/read",
    log_stream_name="bench", get_remaining_time_in_millis=lambda: 10000,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:read")
response = handler(json.loads(sys.argv[1]), context)
headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
headers.update({k.lower(): v[0] for k, v in (response.get("multiValueHeaders") or {}).items()})
answer = {"status": response["statusCode"], "source": headers.get("x-cache", "")}
print("BENCH-ANSWER", json.dumps(answer), flush=True)
"""

PEER = """
import json, sys
from bench.peers.base import PeerSettings
from bench.peers.{module} import {cls}
result = {cls}(PeerSettings.from_json(json.loads(sys.argv[1]))).read(sys.argv[2])
print("BENCH-ANSWER", json.dumps({{"status": result.status, "source": result.source}}), flush=True)
"""


def _timed_run(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    # stderr goes to a file: a pipe nobody reads while the child runs would block a child
    # that logs more than the pipe buffer (~64 KB).
    with tempfile.TemporaryFile(prefix="bench-cold-start-stderr-") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=paths.ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        assert proc.stdout is not None
        # The code under test may print (logs, EMF metrics): the answer is the marked line.
        for line in proc.stdout:
            if line.startswith(ANSWER):
                elapsed = time.perf_counter() - start
                proc.communicate(timeout=60)
                return elapsed, dict(json.loads(line[len(ANSWER) :]))
        proc.communicate(timeout=60)
        stderr.seek(0, os.SEEK_END)
        stderr.seek(max(0, stderr.tell() - 2000))
        tail = stderr.read().decode(errors="replace")
        raise RuntimeError(f"cold-start child failed ({proc.returncode}): {tail}")


def run(ctx: BenchContext) -> dict[str, Any]:
    ctx.origin.reset()
    ctx.flush_redis()
    seed(ctx.origin.client(), [product(PRODUCT_ID, 1)])
    settings = ctx.settings()
    base_env = {**os.environ, "PYTHONPATH": paths.python_path()}
    raw_key = f"raw:{PRODUCT_ID}"
    import redis

    with redis.Redis.from_url(settings.redis_url) as client:
        client.set(raw_key, json.dumps(product(PRODUCT_ID, 1)))
    settings_json = json.dumps(settings.to_json())
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "floor": ([sys.executable, "-c", FLOOR, settings.redis_url, raw_key], base_env),
        "ours": (
            [sys.executable, "-c", OURS, json.dumps(rest_event("GET", PRODUCT_ID))],
            {**base_env, **handler_environment(settings)},
        ),
        "naive": (
            [
                sys.executable,
                "-c",
                PEER.format(module="naive", cls="NaivePeer"),
                settings_json,
                PRODUCT_ID,
            ],
            base_env,
        ),
        "dogpile": (
            [
                sys.executable,
                "-c",
                PEER.format(module="dogpile_peer", cls="DogpilePeer"),
                settings_json,
                PRODUCT_ID,
            ],
            base_env,
        ),
    }
    commands = {name: cmd for name, cmd in commands.items() if name in ("floor", *ctx.peers)}
    timings: dict[str, list[float]] = {name: [] for name in commands}
    sources: dict[str, list[str]] = {name: [] for name in commands}
    errors: dict[str, str] = {}
    for name, (argv, env) in commands.items():  # untimed: fills each peer's L2 entry
        try:
            _timed_run(argv, env)
        except RuntimeError as exc:
            errors[name] = str(exc)
    for _ in range(ctx.sizes.cold_runs):
        for name, (argv, env) in commands.items():
            if name in errors:
                continue
            try:
                elapsed, answer = _timed_run(argv, env)
            except RuntimeError as exc:
                errors[name] = str(exc)
                continue
            timings[name].append(elapsed)
            sources[name].append(str(answer.get("source", "")))
    medians = {
        name: round(statistics.median(values) * 1000, 1) if values else None
        for name, values in timings.items()
    }
    floor = medians["floor"]
    peers: dict[str, Any] = {}
    for name in ctx.peers:
        peers[name] = {
            "median_ms": medians[name],
            "vs_floor": ratio(medians[name], floor),
            "runs": len(timings[name]),
            "sources": sorted(set(sources[name])),
        }
        if name in errors:
            peers[name]["error"] = errors[name]
    if "ours" in peers and timings["ours"] and timings["floor"]:
        peers["ours"]["judged"] = _judged_vs_floor(timings["ours"], timings["floor"])
    if "ours" in peers and "naive" in peers:
        peers["ours"]["vs_naive"] = ratio(medians["ours"], medians["naive"])
    return {
        "floor_median_ms": floor,
        "floor_error": errors.get("floor"),
        "peers": peers,
        "runs": ctx.sizes.cold_runs,
        "measured": "spawn of a fresh python to its first response line, L2 hit; median",
    }


def _judged_vs_floor(ours: list[float], floor: list[float]) -> dict[str, Any]:
    """ours' median / the floor's median, its tolerance and the verdict against 1.0x."""
    estimate, standard_error = paired_bootstrap(
        {"ours": ours, "floor": floor},
        lambda s: statistics.median(s["ours"]) / statistics.median(s["floor"]),
    )
    return {
        "value": round(estimate, 3),
        "tolerance": round(TOLERANCE_STANDARD_ERRORS * standard_error, 3),
        "target": 1.0,
        "met": judge(estimate, standard_error, 1.0, strict=False),
    }
