"""`cache-cost seed`: the guide's analyzeCacheCost, exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cache_constructs.cost.errors import InputError
from cache_constructs.cost.seed import analyze_cache_cost

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ["seed", "--hit-rate", "0.8", "--dynamo-read-cost", "0.25", "--cache-cost", "15"]


def test_ten_million_requests_lose_thirteen_dollars(cli) -> None:
    run = cli(*GUIDE, "--requests", "10000000")
    assert run.status == 0
    # 10,000,000 x 0.8 = 8,000,000 hits; 8 x $0.25 = $2.00; $2.00 - $15 = $-13.00
    assert run.out.splitlines()[-1] == "Net monthly savings: $-13.00"
    assert "Cache hits: 8,000,000" in run.out


def test_a_hundred_million_requests_save_five_dollars(cli) -> None:
    run = cli(*GUIDE, "--requests", "100000000")
    assert run.status == 0
    # 80,000,000 hits; 80 x $0.25 = $20.00; $20.00 - $15 = $5.00
    assert run.out.splitlines()[-1] == "Net monthly savings: $5.00"


def test_the_guide_values_are_the_defaults(cli) -> None:
    assert cli("seed").out.splitlines()[-1] == "Net monthly savings: $-13.00"


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cache_constructs.cost", *GUIDE, "--requests", "100000000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "Net monthly savings: $5.00"


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--hit-rate", "1.5"),
        ("--hit-rate", "-0.1"),
        ("--requests", "-1"),
        ("--dynamo-read-cost", "-0.25"),
        ("--cache-cost", "-15"),
        ("--requests", "lots"),
    ],
)
def test_bad_seed_input_exits_2_naming_the_flag(cli, flag: str, value: str) -> None:
    run = cli("seed", flag, value)
    assert run.status == 2
    assert flag in run.err
    assert "Traceback" not in run.err


def test_the_function_names_the_field_too() -> None:
    with pytest.raises(InputError, match="--hit-rate"):
        analyze_cache_cost(hit_rate=2.0)
    with pytest.raises(InputError, match="--cache-cost"):
        analyze_cache_cost(cache_cost=-1)
