"""Smoke tests of the bench rows that judge the runtime's consistency and stampede fixes: the
list stampede, stale reads under eviction pressure and under Redis blips, and the
multi-process stampede judged on several runs, each at a tiny size. The facts checked hold at
any size (one query per page per generation, no stale read); targets.py turns them into rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis_servers import standalone

from bench import report, targets
from bench.context import BenchContext, base_policy
from bench.origin import running_origin
from bench.scenarios import list_stampede, stale_reads_blips, stale_reads_eviction, stampede
from bench.sizes import TINY


@pytest.fixture(scope="module")
def bench_context() -> Iterator[BenchContext]:
    with running_origin() as origin, standalone() as redis_server:
        yield BenchContext(origin, redis_server, base_policy(), TINY, peers=("ours",))


def test_list_stampede_makes_one_query_per_generation(bench_context: BenchContext) -> None:
    result = list_stampede.run(bench_context)
    ours = result["peers"]["ours"]
    assert "error" not in ours, ours.get("error")
    assert ours["queries_per_generation"] == [1] * TINY.list_stampede_generations
    assert ours["non_200"] == 0
    assert ours["callers"] == TINY.list_stampede_processes * TINY.list_stampede_threads
    check = targets._list_stampede_check(ours)
    assert check.met is True and check.measured.startswith("1, 1")


def test_no_stale_read_under_eviction_pressure(bench_context: BenchContext) -> None:
    result = stale_reads_eviction.run(bench_context)
    for policy in ("volatile-lru", "allkeys-lru"):
        figures = result["policies"][policy]
        assert "error" not in figures, figures.get("error")
        assert figures["interleavings"] == TINY.eviction_interleavings
        assert figures["stale_reads"] == 0
        assert figures["evicted_keys"] > 0  # Redis itself evicted, under that policy
    assert result["peers"]["ours"]["stale_reads"] == 0


def test_stale_reads_under_redis_blips_are_counted(bench_context: BenchContext) -> None:
    result = stale_reads_blips.run(bench_context)
    ours = result["peers"]["ours"]
    assert "error" not in ours, ours.get("error")
    assert ours["interleavings"] == TINY.blip_interleavings
    assert isinstance(ours["stale_reads"], int)
    assert ours["invalidations_dead_lettered"] >= 0


def test_the_process_stampede_is_judged_on_every_run(bench_context: BenchContext) -> None:
    small = BenchContext(
        bench_context.origin,
        bench_context.redis_server,
        bench_context.policy,
        bench_context.sizes.__class__(
            **{**TINY.__dict__, "stampede_cases": ("processes_expired",)}
        ),
        peers=("ours",),
    )
    result = stampede.run(small)
    figures = result["peers"]["ours"]["processes_expired"]
    assert "error" not in figures, figures.get("error")
    assert figures["origin_reads_per_run"] == [1] * TINY.stampede_process_runs
    check = targets._stampede_check("processes_expired", figures)
    assert check.met is True and f"each of {TINY.stampede_process_runs} runs" in check.target
    rendered = report.render(
        {
            "mode": "tiny",
            "machine": {
                "date": "-",
                "cores": 2,
                "python": "3",
                "redis_server": "7",
                "platform": "-",
            },
            "command": "test",
            "origin": "-",
            "scenarios": {"stampede": result},
        }
    )
    assert "origin_reads_per_run" in rendered
