"""`cache-cost estimate` end to end: real templates, bench defaults, JSON, plot, every error."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.synth

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_dev_estimate_prints_the_table_and_a_recommendation_per_layer(cli, templates) -> None:
    run = cli("estimate", "--template", templates["dev"], "--requests", "10000000")
    assert run.status == 0, run.err
    out = run.out
    for heading in ("monthly cost", "requests absorbed", "savings", "net", "break-even"):
        assert heading in out
    for row in (
        "API Gateway stage cache (0.5 GB)",
        "L1 in-process",
        "Valkey serverless (with L1 and DAX, which need it)",
        "of which stream invalidator",
        "DAX 1 x dax.t3.small",
        "Lambda (read, list, write)",
        "DynamoDB",
    ):
        assert row in out, row
    recommendations = out.split("Recommendations:")[1].split("\n\n")[0].strip().splitlines()
    assert len(recommendations) == 4
    assert any(
        "does not pay below" in line or "does not pay at any volume" in line
        for line in recommendations
    )
    assert recommendations[-1].endswith(
        "DAX cannot run without Valkey here: the fence that vouches for DAX lives in Valkey."
    )
    # 730 h x $0.02 (0.5 GB) and 730 h x $0.04 (dax.t3.small), straight from the snapshot.
    assert "$14.60" in out and "$29.20" in out
    assert "Not priced: 6 of the 16 layer combinations" in out


def test_prod_estimate_prices_the_replication_group_and_three_dax_nodes(cli, templates) -> None:
    run = cli("estimate", "--template", templates["prod"], "--json")
    assert run.status == 0, run.err
    report = json.loads(run.out)
    lines = report["bill"]["lines"]
    assert lines["valkey_nodes"] == pytest.approx(3 * 730 * 0.2016)
    assert lines["dax_nodes"] == pytest.approx(3 * 730 * 0.269)
    assert lines["api_cache"] == pytest.approx(730 * 0.038)
    assert [layer["layer"] for layer in report["layers"]] == ["api", "l1", "l2", "dax"]
    # 16 subsets of the four layers; the 6 with L1 or DAX but no Valkey are refused, not priced.
    assert len(report["combinations"]) == 10
    assert len(report["refused_combinations"]) == 6
    priced = [set(c["layers"]) for c in report["combinations"]]
    assert all("l2" in layers for layers in priced if layers & {"l1", "dax"})
    refused = [set(c["layers"]) for c in report["refused_combinations"]]
    assert {"dax"} in refused and {"l1"} in refused and {"api", "l1", "dax"} in refused
    assert all("l2" not in layers and layers & {"l1", "dax"} for layers in refused)
    assert all("cannot run without Valkey" in c["reason"] for c in report["refused_combinations"])
    (valkey,) = [layer for layer in report["layers"] if layer["layer"] == "l2"]
    assert valkey["removed_with"] == ["l1", "dax"]
    confirmations = {f["price"]: f["confirmation"] for f in report["prices"]["figures"]}
    assert confirmations["ElastiCache Valkey cache.r7g.large node-hour"] == "unconfirmed"
    assert confirmations["API Gateway REST request"] == "aws"


def test_json_stays_valid_without_writes(cli, templates) -> None:
    run = cli("estimate", "--template", templates["dev"], "--json", "--read-write-ratio", "1:0")
    assert run.status == 0, run.err
    report = json.loads(run.out)  # no Infinity in the output
    assert report["traffic"]["reads_per_write"] is None
    assert report["bill"]["flows"]["writes"] == 0


def test_json_matches_the_text_figures(cli, templates) -> None:
    args = ("estimate", "--template", templates["dev"], "--requests", "50000000", "--item-kb", "2")
    report = json.loads(cli(*args, "--json").out)
    text = cli(*args).out
    for layer in report["layers"]:
        assert f"${layer['monthly_cost']:,.2f}" in text
        assert layer["recommendation"] in text
    assert report["traffic"]["item_kb"] == 2.0
    assert report["net_monthly_savings"] == pytest.approx(
        report["no_cache_total"] - report["bill"]["total"]
    )


def test_hit_ratios_default_to_the_bench_result_in_the_current_directory(
    cli, templates, tmp_path, monkeypatch
) -> None:
    bench = {
        "machine": {"date": "2026-12-01T00:00:00+00:00"},
        "mode": "full",
        "scenarios": {
            "zipf": {
                "write_fraction": 0.05,
                "peers": {
                    "ours": {
                        "reads": 1000,
                        "sources": {"HIT-L1": 500, "HIT-L2": 300, "MISS": 200},
                        "origin_reads": 200,
                        "consistent_origin_reads": 180,
                    },
                    "ours_l1_off": {"hit_ratio": 0.7},
                },
            }
        },
    }
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "latest.json").write_text(json.dumps(bench))
    monkeypatch.chdir(tmp_path)
    report = json.loads(cli("estimate", "--template", templates["dev"], "--json").out)
    ratios = report["traffic"]["hit_ratios"]
    assert ratios["l1"]["value"] == pytest.approx(0.5)  # 500 / 1000
    assert ratios["l2"]["value"] == pytest.approx(0.6)  # 300 / (1000 - 500)
    assert ratios["api"]["value"] == pytest.approx(0.7)
    assert "bench/results/latest.json" in ratios["l2"]["source"]
    assert report["traffic"]["reads_per_write"] == pytest.approx(19)  # 0.95 / 0.05
    share = report["traffic"]["consistent_read_share"]
    assert share["value"] == pytest.approx(0.9)  # 180 of 200 origin reads strongly consistent
    assert "180 of 200 read-path origin reads strongly consistent" in share["source"]
    # A flag wins over the bench, and says so.
    report = json.loads(
        cli("estimate", "--template", templates["dev"], "--json", "--l2-hit-ratio", "0.9").out
    )
    assert report["traffic"]["hit_ratios"]["l2"] == {"value": 0.9, "source": "--l2-hit-ratio"}
    report = json.loads(
        cli(
            "estimate", "--template", templates["dev"], "--json", "--consistent-read-share", "0.5"
        ).out
    )
    assert report["traffic"]["consistent_read_share"] == {
        "value": 0.5,
        "source": "--consistent-read-share",
    }


def test_the_consistent_share_defaults_from_a_bench_result_in_the_bench_schema(
    cli, templates
) -> None:
    # A `make bench` result as bench/scenarios/zipf_worker.py writes it since the fences:
    # ours made 2,205 of its 2,316 read-path origin reads strongly consistent.
    fixture = FIXTURES / "bench_latest.json"
    args = ("estimate", "--template", templates["dev"], "--bench", fixture, "--json")
    report = json.loads(cli(*args).out)
    share = report["traffic"]["consistent_read_share"]
    assert share["value"] == pytest.approx(2205 / 2316)
    assert share["source"].startswith(f"{fixture}, full run of 2026-11-24: Zipf, 2205 of 2316")
    # The share prices the item misses' reads: Valkey's misses x (share x 1 + (1 - share) x
    # 0.5) units at 1 KB; the write path's consistent read is 1 unit per write.
    flows = report["bill"]["flows"]
    misses = flows["consistent_misses"] + flows["anchored_misses"]
    assert flows["consistent_misses"] == pytest.approx(misses * 2205 / 2316)
    lists = flows["dynamodb_queries"] * 0.5 * math.ceil(20 * 1.0 / 4)  # 20-item pages, 5 units
    items = flows["consistent_misses"] + 0.5 * (flows["anchored_misses"] - flows["dax_hits"])
    assert flows["read_units"] == pytest.approx(items + lists + flows["dynamodb_write_reads"])
    # Every miss consistent: DAX, behind Valkey, gets no request at all.
    everything = json.loads(cli(*args, "--consistent-read-share", "1").out)["bill"]["flows"]
    assert everything["dax_requests"] == 0 and everything["dax_hits"] == 0


def test_the_repositorys_bench_result_is_read_with_the_flag(cli, templates) -> None:
    latest = ROOT / "bench" / "results" / "latest.json"
    report = json.loads(
        cli("estimate", "--template", templates["dev"], "--bench", latest, "--json").out
    )
    data = json.loads(latest.read_text())["scenarios"]["zipf"]["peers"]["ours"]
    l1 = data["sources"]["HIT-L1"] / data["reads"]
    assert report["traffic"]["hit_ratios"]["l1"]["value"] == pytest.approx(l1)


def test_without_a_bench_result_the_built_in_figures_are_used(
    cli, templates, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = json.loads(cli("estimate", "--template", templates["dev"], "--json").out)
    assert "built-in" in report["traffic"]["hit_ratios"]["l1"]["source"]
    # The built-in run counted no consistent reads: the documented default, 262 of 263.
    share = report["traffic"]["consistent_read_share"]
    assert share["value"] == pytest.approx(262 / 263)
    assert share["source"].startswith("default: the quick Zipf run in docs/architecture.md")


def test_the_only_template_in_cdk_out_is_the_default(cli, templates, tmp_path, monkeypatch) -> None:
    (tmp_path / "cdk.out").mkdir()
    shutil.copy(templates["dev"], tmp_path / "cdk.out" / templates["dev"].name)
    monkeypatch.chdir(tmp_path)
    run = cli("estimate")
    assert run.status == 0, run.err
    assert "CachedProductService-dev.template.json" in run.out


def test_user_offer_files_replace_the_snapshot(cli, templates) -> None:
    args = ["estimate", "--template", templates["dev"], "--json"]
    for path in sorted((FIXTURES / "round_prices").glob("*.json")):
        args += ["--prices", str(path)]
    report = json.loads(cli(*args).out)
    assert report["bill"]["lines"]["dax_nodes"] == pytest.approx(730 * 0.04)
    assert report["bill"]["lines"]["valkey_storage"] == pytest.approx(0.1 * 730 * 0.10)
    assert all(f["published"] == "2026-11-01T00:00:00Z" for f in report["prices"]["figures"])


def test_plot_is_a_png_with_one_line_per_deployable_paid_combination(
    cli, templates, tmp_path, monkeypatch
) -> None:
    from cache_constructs.cost import plot
    from cache_constructs.cost.model import refusal
    from cache_constructs.cost.plot import plotted_combinations
    from cache_constructs.cost.template import read_template

    # Stage cache, Valkey and DAX on or off (2^3 - 1 lines beside "no cache"), L1 with Valkey;
    # DAX without Valkey (alone, or with the stage cache) cannot be deployed: 7 - 2 = 5 lines.
    combos = plotted_combinations(read_template(templates["dev"]))
    assert sorted(sorted(c) for c in combos) == [
        ["api"],
        ["api", "dax", "l1", "l2"],
        ["api", "l1", "l2"],
        ["dax", "l1", "l2"],
        ["l1", "l2"],
    ]
    assert all(refusal(c) is None for c in combos)
    # What the plot writes beside its lines: one legend label per drawn combination, none
    # with DAX or L1 but no Valkey, and a footnote naming what CachePolicy refuses.
    drawn: list[list[str]] = []
    write_plot = plot.write_plot
    monkeypatch.setattr(plot, "write_plot", lambda *a: drawn.append(write_plot(*a)) or drawn[-1])
    path = tmp_path / "savings.png"
    run = cli("estimate", "--template", templates["dev"], "--plot", path)
    assert run.status == 0, run.err
    assert f"Plot written: {path}" in run.err
    (texts,) = drawn
    *labels, note = texts
    assert [label.split(" (")[0] for label in labels] == [
        "stage cache",
        "L1 + Valkey",
        "stage cache + L1 + Valkey",
        "L1 + Valkey + DAX",
        "stage cache + L1 + Valkey + DAX",
    ]
    assert note == "Not drawn, refused by CachePolicy: L1 without Valkey, DAX without Valkey"
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] >= 800 and image.size[1] >= 500
        # Not a blank canvas: a chart of lines has many distinct colours.
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
        assert len(colours) > 50


def test_plot_without_matplotlib_exits_2_saying_how_to_install_it(
    cli, templates, tmp_path, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    path = tmp_path / "savings.png"
    run = cli("estimate", "--template", templates["dev"], "--plot", path)
    assert run.status == 2
    assert "--plot" in run.err
    assert "pip install 'cache-constructs[cost-plot]'" in run.err
    assert not path.exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--requests", "-5"], "--requests"),
        (["--requests", "many"], "--requests"),
        (["--l2-hit-ratio", "1.5"], "--l2-hit-ratio"),
        (["--api-hit-ratio", "-0.1"], "--api-hit-ratio"),
        (["--dax-hit-ratio", "2"], "--dax-hit-ratio"),
        (["--l1-hit-ratio", "1.01"], "--l1-hit-ratio"),
        (["--item-kb", "0"], "--item-kb"),
        (["--item-kb", "-1"], "--item-kb"),
        (["--read-write-ratio", "-1"], "--read-write-ratio"),
        (["--read-write-ratio", "0:1"], "--read-write-ratio"),
        (["--list-share", "1.2"], "--list-share"),
        (["--consistent-read-share", "1.5"], "--consistent-read-share"),
        (["--consistent-read-share", "-0.5"], "--consistent-read-share"),
        (["--consistent-read-share", "half"], "--consistent-read-share"),
        (["--environments", "0"], "--environments"),
        (["--environments", "many"], "--environments"),
        (["--cached-items", "-10"], "--cached-items"),
        (["--page-items", "2.5"], "--page-items"),
        (["--handler-ms", "-1"], "--handler-ms"),
        (["--region", "mars-1"], "--region"),
        (["--region", "eu-west-1"], "--prices"),  # the snapshot has no DynamoDB price there
        (["--prices", str(FIXTURES / "malformed_truncated.json")], "--prices"),
        (["--prices", str(FIXTURES / "malformed_price.json")], "pricePerUnit.USD"),
        (["--prices", str(FIXTURES / "malformed_no_products.json")], "--prices"),
        (["--prices", "/nonexistent/index.json"], "--prices"),
        (["--bench", str(FIXTURES / "malformed_truncated.json")], "--bench"),
        (["--bench", "/nonexistent/latest.json"], "--bench"),
        (["--plot", "/nonexistent/folder/savings.png"], "--plot"),
    ],
)
def test_every_bad_input_exits_2_naming_the_flag_or_field(
    cli, templates, args: list[str], named: str
) -> None:
    run = cli("estimate", "--template", templates["dev"], *args)
    assert run.status == 2, run.out
    assert named in run.err
    assert "Traceback" not in run.err
    assert run.out == ""


@pytest.mark.parametrize(
    ("content", "named"),
    [(None, "--template: cannot read"), ("{", "--template"), ('{"Resources": {}}', "--template")],
)
def test_an_unreadable_template_exits_2(cli, tmp_path, content: str | None, named: str) -> None:
    path = tmp_path / "Stack.template.json"
    if content is not None:
        path.write_text(content)
    run = cli("estimate", "--template", path)
    assert run.status == 2
    assert named in run.err


def test_no_template_and_no_cdk_out_names_template(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("estimate")
    assert run.status == 2
    assert "--template" in run.err and "make synth" in run.err


def _money(text: str) -> float:
    return float(text.replace("$", "").replace(",", "").replace("+", ""))


def test_the_guides_examples_in_docs_cost_md_are_what_the_model_says(cli, templates) -> None:
    # The table of docs/cost.md "The guide's two examples, recomputed": each row's flags, run
    # on the dev template with the shipped snapshot, give its figures.
    doc = (ROOT / "docs" / "cost.md").read_text()
    section = doc.split("## The guide's two examples, recomputed")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`--" in line]
    assert len(rows) == 4
    common = "--l1-hit-ratio 0 --l2-hit-ratio 0 --dax-hit-ratio 0 --api-hit-ratio 0 "
    common += "--read-write-ratio 99 --no-bench"
    assert " ".join(section.split()).count(common) == 1  # the flags every row follows
    layers = {"Valkey": ["l1", "l2"], "API Gateway": ["api"], "DAX": ["l1", "l2", "dax"]}
    previous: list[str] = []
    for row in rows:
        name, at_10m, at_100m, crossing, flags = (
            cell.strip() for cell in row.strip("|").split("|")
        )
        wanted = (
            previous
            if name.startswith("the same")
            else next(v for k, v in layers.items() if name.startswith(k))
        )
        previous = wanted
        nets = []
        for requests in ("10000000", "100000000"):
            args = ["estimate", "--template", templates["dev"], "--json", "--requests", requests]
            run = cli(*args, *common.split(), *flags.strip("`").split())
            assert run.status == 0, run.err
            (combo,) = [c for c in json.loads(run.out)["combinations"] if c["layers"] == wanted]
            nets.append(combo)
        assert round(nets[0]["net_vs_no_cache"], 2) == _money(at_10m), name
        assert round(nets[1]["net_vs_no_cache"], 2) == _money(at_100m), name
        found = nets[0]["break_even_requests_per_month"]
        if crossing == "never":
            assert found is None, name
        else:
            assert found == pytest.approx(float(crossing.replace(",", "")), rel=0.01), name
