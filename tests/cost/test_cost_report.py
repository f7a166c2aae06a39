"""Recommendations in the guide's terms, the number formats, and the traffic inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cache_constructs.cost.errors import InputError
from cache_constructs.cost.model import analyse
from cache_constructs.cost.prices import load_price_book
from cache_constructs.cost.report import break_even_text, count, money, recommendation
from cache_constructs.cost.template import (
    DaxConfig,
    FunctionConfig,
    ServerlessCacheConfig,
    StackConfig,
    TableConfig,
)
from cache_constructs.cost.traffic import HitRatios, Traffic, read_bench

ROOT = Path(__file__).resolve().parents[2]
ROUND = sorted((Path(__file__).resolve().parent / "fixtures" / "round_prices").glob("*.json"))
GB = FunctionConfig(memory_mb=1024, architecture="arm64")


MONTH_SECONDS = 2_628_000


def _traffic(**hits: float) -> Traffic:
    """test_cost_model's Valkey case: one read a second, every miss on a new fence, one
    environment per read function."""
    ratios = {"api": 0.0, "l1": 0.0, "l2": 0.0, "dax": 0.0, **hits}
    return Traffic(
        requests=MONTH_SECONDS,
        reads_per_write=math.inf,
        item_kb=1.0,
        hits=HitRatios(**ratios),
        list_share=0.0,
        consistent_read_share=1.0,
        environments=1.0,
    )


def _stack(**parts: object) -> StackConfig:
    return StackConfig(
        source="test",
        read_function=GB,
        list_function=GB,
        write_function=GB,
        table=TableConfig(on_demand=True),
        **parts,  # type: ignore[arg-type]
    )


def test_valkey_recommendation_names_the_break_even_and_what_goes_with_it() -> None:
    stack = _stack(valkey=ServerlessCacheConfig("valkey", None))
    traffic = _traffic(l2=0.8)
    analysis = analyse(stack, traffic, load_price_book("us-east-1", ROUND))
    (l2,) = [r for r in analysis.layers if r.layer == "l2"]
    # test_cost_model computes this case by hand: break-even 28,362,469, net $-6.6366928.
    assert recommendation(stack, traffic, l2) == (
        "Valkey serverless does not pay below 28,400,000 requests a month at 1 KB items and a "
        "hit ratio of 0.80 behind L1; at 2,628,000 it costs $6.64 a month more than it saves. "
        "These figures count L1 in-process with it: L1 cannot run without Valkey here: client "
        "tracking, write-through and stream invalidation reach L1 only through Valkey."
    )


def test_dax_and_l1_say_they_cannot_run_without_valkey() -> None:
    stack = _stack(valkey=ServerlessCacheConfig("valkey", None), dax=DaxConfig("dax.t3.small", 1))
    traffic = _traffic(l1=0.5, l2=0.8, dax=0.0)
    analysis = analyse(stack, traffic, load_price_book("us-east-1", ROUND))
    by_layer = {r.layer: recommendation(stack, traffic, r) for r in analysis.layers}
    assert "absorbs no requests" in by_layer["dax"]
    assert by_layer["dax"].endswith(
        "DAX cannot run without Valkey here: the fence that vouches for DAX lives in Valkey."
    )
    # Nothing is said about DAX without Valkey: that stack cannot be deployed.
    assert "without Valkey serverless" not in by_layer["dax"]
    assert "These figures count L1 in-process and DAX 1 x dax.t3.small with it" in by_layer["l2"]
    assert (
        "Without DAX 1 x dax.t3.small, Valkey serverless and L1 would pay above" in (by_layer["l2"])
    )
    assert "keep it on" in by_layer["l1"]
    assert by_layer["l1"].endswith(
        "L1 cannot run without Valkey here: client tracking, write-through and stream "
        "invalidation reach L1 only through Valkey."
    )


def test_number_formats() -> None:
    assert money(-13) == "$-13.00"
    assert money(5) == "$5.00"
    assert money(1234.5) == "$1,234.50"
    assert count(45_625_000) == "45,600,000"
    assert count(268_579_152.7) == "269,000,000"
    assert break_even_text(None) == "never"
    assert break_even_text(0.0) == "from the first"


def test_the_repositorys_bench_result() -> None:
    latest = ROOT / "bench" / "results" / "latest.json"
    ours = json.loads(latest.read_text())["scenarios"]["zipf"]["peers"]["ours"]
    figures = read_bench(latest)
    sources = ours["sources"]
    assert figures.l1 == pytest.approx(sources["HIT-L1"] / ours["reads"])
    l2_hits = sources.get("HIT-L2", 0) + sources.get("STALE", 0)
    assert figures.l2 == pytest.approx(l2_hits / (ours["reads"] - sources["HIT-L1"]))
    if "consistent_origin_reads" in ours:  # runs since the fences count them
        share = ours["consistent_origin_reads"] / ours["origin_reads"]
        assert figures.consistent_read_share == pytest.approx(share)
    else:
        assert figures.consistent_read_share is None


def _bench(ours: dict[str, object]) -> dict[str, object]:
    return {
        "scenarios": {
            "zipf": {"peers": {"ours": ours, "ours_l1_off": {"hit_ratio": 0.6}}},
        }
    }


def test_the_bench_counts_give_the_consistent_read_share(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    ours = {"reads": 100, "sources": {"HIT-L1": 50, "HIT-L2": 20, "MISS": 30}}
    path.write_text(json.dumps(_bench({**ours, "origin_reads": 40, "consistent_origin_reads": 36})))
    assert read_bench(path).consistent_read_share == pytest.approx(0.9)  # 36 / 40
    path.write_text(json.dumps(_bench(ours)))  # a run before the fences counted nothing
    assert read_bench(path).consistent_read_share is None
    path.write_text(json.dumps(_bench({**ours, "origin_reads": 40, "consistent_origin_reads": 41})))
    with pytest.raises(InputError) as error:
        read_bench(path)
    assert error.value.field == "--bench"
    assert "consistent_origin_reads (41) is more than" in error.value.message


def test_a_bench_file_without_the_zipf_scenario_names_bench(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"scenarios": {"stampede": {}}}))
    with pytest.raises(InputError) as error:
        read_bench(path)
    assert error.value.field == "--bench"
    assert "scenarios.zipf" in error.value.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"requests": -1}, "--requests"),
        ({"reads_per_write": 0}, "--read-write-ratio"),
        ({"item_kb": 0}, "--item-kb"),
        ({"list_share": 1.5}, "--list-share"),
        ({"page_items": 0}, "--page-items"),
        ({"consistent_read_share": 1.5}, "--consistent-read-share"),
        ({"consistent_read_share": -0.1}, "--consistent-read-share"),
        ({"environments": 0.5}, "--environments"),
        ({"handler_ms": -1}, "--handler-ms"),
    ],
)
def test_traffic_names_the_bad_field(change: dict[str, float], field: str) -> None:
    values = dict(requests=1.0, reads_per_write=9.0, item_kb=1.0, hits=HitRatios(0, 0, 0, 0))
    values.update(change)
    with pytest.raises(InputError) as error:
        Traffic(**values)  # type: ignore[arg-type]
    assert error.value.field == field


def test_a_hit_ratio_over_one_names_its_flag() -> None:
    with pytest.raises(InputError, match="--l2-hit-ratio"):
        HitRatios(api=0.5, l1=0.5, l2=1.2, dax=0.0)


def test_read_write_ratio_accepts_a_ratio() -> None:
    from cache_constructs.cost.cli import _read_write_ratio

    assert _read_write_ratio("99") == 99
    assert _read_write_ratio("4:1") == 4
    assert _read_write_ratio("9:3") == 3
    assert _read_write_ratio("1:0") == math.inf
