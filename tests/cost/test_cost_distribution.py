"""The distribution ships `cache-cost`: its console script, price snapshot and plot extra.

And the cost package itself imports nothing heavy (no aws_cdk, boto3, redis), so a user can
price a template without a CDK app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = sorted(p.name for p in (ROOT / "cache_constructs" / "cost" / "prices").glob("*.json"))


def test_the_wheel_carries_the_price_snapshot(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert len(SNAPSHOT) == 5
    for name in SNAPSHOT:
        assert f"cache_constructs/cost/prices/{name}" in names
    assert "cache_constructs/cost/cli.py" in names


def test_the_wheel_declares_the_console_script_and_the_plot_extra(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "cache-cost = cache_constructs.cost.cli:main" in archive.read(entry_points).decode()
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    text = archive.read(metadata).decode()
    assert "Provides-Extra: cost-plot" in text
    assert any(
        line.startswith("Requires-Dist: matplotlib") and 'extra == "cost-plot"' in line
        for line in text.splitlines()
    )
    assert any(line.startswith("Requires-Dist: ijson") for line in text.splitlines())


def test_an_installed_copy_prices_from_its_packaged_snapshot(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import json\n"
        "from cache_constructs.cost.prices import load_price_book, dax_node_hour\n"
        "book = load_price_book('us-east-1')\n"
        "print(json.dumps([book.usd(dax_node_hour('dax.t3.small')), list(book.offers)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    usd, offers = json.loads(result.stdout)
    assert usd == 0.04
    assert len(offers) == 5


def test_the_cost_package_imports_nothing_heavy() -> None:
    code = (
        "import json, sys\n"
        "import cache_constructs.cost.cli, cache_constructs.cost.model\n"
        "import cache_constructs.cost.plot, cache_constructs.cost.report\n"
        "from cache_constructs.cost.cli import main\n"
        "main(['seed'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'aws_cdk', 'constructs', 'jsii',"
        " 'boto3', 'botocore', 'redis', 'matplotlib'})\n"
        "print(json.dumps(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
