"""Fixtures for the cost tool: the real dev and prod templates, round test prices, a runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROUND_PRICES = sorted((FIXTURES / "round_prices").glob("*.json"))
"""One offer file per service, round figures (e.g. $0.25 per million reads) for hand arithmetic."""


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`cdk.out/<Stack>.template.json` of app.py for dev and prod, as `make synth` writes them.

    Synthesized once per session the way tests/test_app.py does (cdk.json context, bundling
    skipped, which changes no property the cost model reads).
    """
    import aws_cdk as cdk

    import app as cdk_app

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    paths = {}
    for env in ("dev", "prod"):
        outdir = tmp_path_factory.mktemp(f"cdk-out-{env}")
        app = cdk_app.build_app(
            cdk.App(
                outdir=str(outdir),
                context={**context, "env": env, "aws:cdk:bundling-stacks": []},
            )
        )
        app.synth()
        paths[env] = outdir / f"CachedProductService-{env}.template.json"
        assert paths[env].is_file()
    return paths


@dataclass(frozen=True)
class Run:
    """One CLI run: exit status and what it printed."""

    status: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run `cache-cost` in-process with these arguments."""
    from cache_constructs.cost.cli import main

    def run(*args: str | Path) -> Run:
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors and parser.exit
            status = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    return run


@pytest.fixture
def round_price_args() -> list[str]:
    """`--prices FILE` for each round-price fixture."""
    args = []
    for path in ROUND_PRICES:
        args += ["--prices", str(path)]
    return args
