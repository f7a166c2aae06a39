"""Smoke tests of `make bench`: every scenario runs at a tiny size and reports its figures.

Each scenario runs against a real origin process and redis-server with one peer (a
different one per scenario, so all three are exercised); the figures are checked for shape
and for the few facts that hold at any size. The numbers themselves are `make bench`'s job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_servers import standalone

from bench import chart, report, targets
from bench.context import BenchContext, base_policy
from bench.items import ITEM_PK_PREFIX, ITEM_SK, product_pk
from bench.origin import running_origin
from bench.scenarios import cold_start, hit_path, redis_outage, stale_reads, stampede, synth, zipf
from bench.sizes import TINY
from bench.workload import lru_hit_ratio, zipf_trace
from cache_constructs import product_table_schema


@pytest.fixture(scope="module")
def bench_context() -> Iterator[BenchContext]:
    with running_origin() as origin, standalone() as redis_server:
        yield BenchContext(origin, redis_server, base_policy(), TINY)


def with_peers(ctx: BenchContext, *peers: str) -> BenchContext:
    return BenchContext(ctx.origin, ctx.redis_server, ctx.policy, ctx.sizes, peers=peers)


def assert_no_error(figures: dict) -> None:
    assert "error" not in figures, figures.get("error")


def test_item_layout_matches_the_table_schema() -> None:
    assert ITEM_PK_PREFIX == product_table_schema.ITEM_PK_PREFIX
    assert ITEM_SK == product_table_schema.ITEM_SK
    assert {"PK": product_pk("p1"), "SK": ITEM_SK} == product_table_schema.item_key("p1")


def test_lru_reference_counts_hits_of_an_exact_lru() -> None:
    trace = zipf_trace(keys=50, requests=2000, seed=3)
    assert lru_hit_ratio(trace, capacity=50) > 0.95  # everything fits: only cold misses
    assert 0 < lru_hit_ratio(trace, capacity=5) < lru_hit_ratio(trace, capacity=25)


def test_hit_path(bench_context: BenchContext) -> None:
    result = hit_path.run(with_peers(bench_context, "ours"))
    ours = result["peers"]["ours"]
    for key in ("l2_hit_api", "l1_hit_api", "l2_hit_handler", "l1_hit_handler"):
        assert_no_error(ours[key])
        assert ours[key]["p50_ms"] > 0 and ours[key]["p99_ms"] >= ours[key]["p50_ms"]
        assert ours[key]["raw"]["n"] == TINY.hit_samples and ours[key]["p50_vs_raw"] > 0
    assert ours["l2_hit_api"]["sources"] == {"HIT-L2": TINY.hit_samples}
    assert ours["l1_hit_api"]["sources"] == {"HIT-L1": TINY.hit_samples}
    assert ours["l2_p50_vs_raw"] > 0 and ours["l1_p50_vs_l2_p50"] > 0


def test_cold_start(bench_context: BenchContext) -> None:
    result = cold_start.run(with_peers(bench_context, "dogpile"))
    assert result["floor_median_ms"] > 0
    dogpile = result["peers"]["dogpile"]
    assert_no_error(dogpile)
    assert dogpile["runs"] == TINY.cold_runs and dogpile["vs_floor"] > 0


def test_stampede(bench_context: BenchContext) -> None:
    result = stampede.run(with_peers(bench_context, "naive"))
    case = result["peers"]["naive"]["threads_absent"]
    assert_no_error(case)
    assert case["callers"] == TINY.stampede_threads and case["non_200"] == 0
    # the naive peer has no lock: every caller that finds the key absent reads the origin
    assert 1 <= case["origin_reads"] <= TINY.stampede_threads


def test_zipf(bench_context: BenchContext) -> None:
    result = zipf.run(with_peers(bench_context, "dogpile"))
    dogpile = result["peers"]["dogpile"]
    assert_no_error(dogpile)
    assert 0 < result["lru_reference_hit_ratio"] < 1
    assert dogpile["reads"] + dogpile["origin_reads"] > 0 and 0 <= dogpile["hit_ratio"] <= 1
    assert dogpile["errors"] >= 0 and dogpile["write_errors"] >= 0
    assert dogpile["l2_maxmemory_bytes"] > 0


def test_stale_reads(bench_context: BenchContext) -> None:
    result = stale_reads.run(with_peers(bench_context, "naive"))
    naive = result["peers"]["naive"]
    assert_no_error(naive)
    assert naive["interleavings"] == TINY.stale_interleavings
    assert naive["reader_skipped_origin"] == 0
    assert sum(naive["runs_by_order"].values()) == naive["interleavings"]
    assert 0 <= naive["stale_reads"] <= naive["interleavings"]


def test_redis_outage(bench_context: BenchContext) -> None:
    result = redis_outage.run(with_peers(bench_context, "ours"))
    for variant in ("ours", "ours_l1_off"):
        figures = result["peers"][variant]
        assert_no_error(figures)
        assert figures["requests"] > 0
        assert sum(figures["status_counts"].values()) == figures["requests"]
        assert 0 <= figures["5xx"] <= figures["requests"]


FAKE_APP = """
import os, pathlib, sys
pathlib.Path(os.environ["CDK_OUTDIR"], "Fake.template.json").write_text("{}")
assert os.environ["CDK_CONTEXT_JSON"]
"""


def test_synth_times_both_apps_and_reports_a_missing_one(
    bench_context: BenchContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Stand-in apps that write a template as `cdk synth` would: the real ones take ~10 s
    # each and run in `make bench`; this checks the harness (env, timing, ratio, errors).
    app = tmp_path / "fake_app.py"
    app.write_text(FAKE_APP)
    monkeypatch.setitem(synth.APPS, "product_stack", app)
    monkeypatch.setitem(synth.APPS, "one_function", app)
    result = synth.run(bench_context)
    assert result["errors"] == {}
    assert result["product_stack_s"] > 0 and result["ratio"] > 0

    monkeypatch.setitem(synth.APPS, "product_stack", tmp_path / "missing_app.py")
    result = synth.run(bench_context)
    assert "does not exist" in result["errors"]["product_stack"]
    assert result["product_stack_s"] is None and result["ratio"] is None


def test_report_and_chart_render_every_scenario(tmp_path: Path) -> None:
    results = {
        "mode": "tiny",
        "command": "test",
        "origin": "test",
        "machine": {"date": "d", "cores": 2, "python": "3", "platform": "p", "redis_server": "r"},
        "scenarios": {
            "hit_path": {"peers": {"ours": {"l2_p50_vs_raw": 1.1, "l2_p99_vs_raw": 2.5}}},
            "stale_reads": {"peers": {"ours": {"stale_reads": 0}}},
            "zipf": {"scenario_error": "Traceback: boom"},
        },
    }
    markdown = report.render(results)
    assert "| L2 hit p50 <= 1.3x raw GET + decode (cache API) | 1.1x | met |" in markdown
    assert "| L2 hit p99 <= 2x raw GET + decode (cache API) | 2.5x | **MISSED** |" in markdown
    assert "zipf: did not run" in markdown and "boom" in markdown
    verdicts = {check.target: check.met for check in targets.checks(results)}
    assert verdicts["Stale reads beyond the promise: 0"] is True
    assert verdicts["5xx during a Redis outage: 0 (L1 on + L1 off)"] is None
    chart.render(results, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
    json.dumps(results)
