"""checkov (CloudFormation) on the freshly synthesized dev and prod templates: nothing fails.

Every check checkov skips is skipped by the resource's own metadata (``checkov.skip``: id and
comment), written by the construct that builds the resource, with a reason a reviewer can
judge. checkov lives in its own venv (.build/checkov, ``make setup``): its pins clash with
the dev venv's (requirements-checkov.txt).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

import app as cdk_app

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".build" / "checkov" / "bin" / "checkov"))

pytestmark = pytest.mark.synth


def _checkov(*templates: Path) -> list[dict[str, Any]]:
    """checkov's JSON report, passed and skipped checks included (offline: no download)."""
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: run `make setup`"
    files = [arg for path in templates for arg in ("-f", str(path))]
    result = subprocess.run(
        [
            str(CHECKOV),
            *files,
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    # Exit code 1 means "checks failed"; anything else with no JSON is a broken run.
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    found = {}
    for env in ("dev", "prod"):
        outdir = tmp_path_factory.mktemp(env)
        app = cdk_app.build_app(
            cdk.App(
                outdir=str(outdir),
                context={**CONTEXT, "env": env, "aws:cdk:bundling-stacks": []},
            )
        )
        app.synth()
        (found[env],) = outdir.glob("*.template.json")
    return found


@pytest.fixture(scope="module")
def reports(templates: dict[str, Path]) -> dict[str, dict[str, Any]]:
    results = _checkov(*templates.values())
    assert len(results) == 1  # one framework: one report for both files
    (report,) = results
    return {"both": report}


def test_no_check_fails_on_the_dev_and_prod_templates(reports: dict[str, dict[str, Any]]) -> None:
    report = reports["both"]
    failed = [
        f"{c['check_id']} {c['resource']} ({Path(c['file_path']).name}): {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["passed"] > 400
    assert report["summary"]["parsing_errors"] == 0


def test_every_skip_is_in_the_resource_metadata_with_a_reason(
    reports: dict[str, dict[str, Any]], templates: dict[str, Path]
) -> None:
    resources = {env: json.loads(path.read_text())["Resources"] for env, path in templates.items()}
    skipped = reports["both"]["results"]["skipped_checks"]
    assert skipped, "the templates hold skips: checkov must have read them"
    for check in skipped:
        env = "dev" if Path(check["file_path"]).name.endswith("-dev.template.json") else "prod"
        logical_id = check["resource"].split(".", 1)[1]
        metadata = resources[env][logical_id].get("Metadata", {}).get("checkov", {})
        (skip,) = [s for s in metadata.get("skip", []) if s["id"] == check["check_id"]]
        assert len(skip["comment"]) >= 40, skip


def test_the_harness_reports_a_failing_check(tmp_path: Path) -> None:
    """Guards the harness: an unencrypted queue is not reported clean."""
    template = tmp_path / "bad.template.json"
    template.write_text(
        json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}}})
    )
    (report,) = _checkov(template)
    assert "CKV_AWS_27" in {c["check_id"] for c in report["results"]["failed_checks"]}
