"""`python -m bench` (make bench): run every scenario, write bench/results/latest.{json,md,png}.

BENCH_QUICK=1: the same scenarios at smaller sizes (under two minutes).
BENCH_SCENARIOS=hit_path,zipf: run only those (the latest.* files are still rewritten).
BENCH_RESULTS_DIR=<dir>: write there instead of bench/results/ (bench/results/tmp is ignored
by git, for trial runs).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from bench import chart, paths, report, runner
from bench.sizes import from_environment


def main() -> int:
    sizes = from_environment()
    names = [n for n in os.environ.get("BENCH_SCENARIOS", "").split(",") if n]
    unknown = sorted(set(names) - set(runner.SCENARIOS))
    if unknown:
        print(f"BENCH_SCENARIOS: unknown {unknown}; known: {list(runner.SCENARIOS)}")
        return 2
    start = time.perf_counter()
    results = runner.run(sizes, names or list(runner.SCENARIOS))
    results["total_seconds"] = round(time.perf_counter() - start, 1)
    results["command"] = "BENCH_QUICK=1 make bench" if sizes.name == "quick" else "make bench"
    out = Path(os.environ.get("BENCH_RESULTS_DIR") or paths.RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (out / "latest.md").write_text(report.render(results))
    chart.render(results, out / "latest.png")
    print(f"bench: {results['total_seconds']} s; wrote {out}/latest.json, .md, .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
