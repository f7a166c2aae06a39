"""Scenario 7, synth: the product stack's app vs an app with one function, same machine.

Both apps are run the way the CDK CLI runs them, `python <app>.py` with CDK_OUTDIR and
CDK_CONTEXT_JSON (cdk.json's context, env=dev), minus the CLI itself, and with asset
bundling skipped for both (`aws:cdk:bundling-stacks` = []): the figure is the cost of our
constructs, cdk-nag and the template, not of pip. Runs alternate between the two apps; the
figure is the median wall time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import paths
from bench.context import BenchContext
from bench.stats import ratio

APPS = {
    "product_stack": paths.ROOT / "app.py",
    "one_function": paths.ROOT / "bench" / "synth_baseline" / "app.py",
}


def _context() -> dict[str, Any]:
    cdk_json = paths.ROOT / "cdk.json"
    context = json.loads(cdk_json.read_text()).get("context", {}) if cdk_json.exists() else {}
    return {**context, "env": "dev", "aws:cdk:bundling-stacks": []}


def _synth_once(app: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        env = {
            **os.environ,
            "CDK_OUTDIR": outdir,
            "CDK_CONTEXT_JSON": json.dumps(_context()),
            "PYTHONPATH": str(paths.ROOT),
            # jsii needs a supported node first on PATH (the Makefile does the same).
            "PATH": f"{paths.ROOT / 'node_modules' / '.bin'}:{os.environ.get('PATH', '')}",
        }
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(app)],
            cwd=paths.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(
                f"{app.name} synth failed ({proc.returncode}): {proc.stderr[-1500:]}"
            )
        if not list(Path(outdir).glob("*.template.json")):
            raise RuntimeError(f"{app.name} synth wrote no template")
        return elapsed


def run(ctx: BenchContext) -> dict[str, Any]:
    timings: dict[str, list[float]] = {name: [] for name in APPS}
    errors: dict[str, str] = {}
    for _ in range(ctx.sizes.synth_runs):
        for name, app in APPS.items():
            if name in errors:
                continue
            if not app.exists():
                errors[name] = f"{app} does not exist"
                continue
            try:
                timings[name].append(_synth_once(app))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                errors[name] = str(exc)
    medians = {
        name: round(statistics.median(values), 2) if values else None
        for name, values in timings.items()
    }
    return {
        "method": "python app.py synth, bundling skipped, no CLI: each app run as "
        "`python <app>.py` with CDK_OUTDIR/CDK_CONTEXT_JSON as the CDK CLI would set them, "
        "asset bundling skipped for both, the CLI itself (and its template processing) not run",
        "product_stack_s": medians["product_stack"],
        "one_function_s": medians["one_function"],
        "ratio": ratio(medians["product_stack"], medians["one_function"]),
        "runs": ctx.sizes.synth_runs,
        "errors": errors,
    }
