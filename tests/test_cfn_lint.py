"""cfn-lint on every synthesized template (dev and prod): zero errors and zero warnings."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint

import app as cdk_app

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
# The regions the stack is meant for: lint resource types and values against each.
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]

pytestmark = pytest.mark.synth


def _lint(template: dict[str, object]) -> list[str]:
    matches = lint(json.dumps(template), config=ManualArgs(regions=REGIONS))
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_template_is_lint_clean(env: str, tmp_path: Path) -> None:
    app = cdk_app.build_app(
        cdk.App(
            outdir=str(tmp_path),
            context={**CONTEXT, "env": env, "aws:cdk:bundling-stacks": []},
        )
    )
    assembly = app.synth()
    templates = list(tmp_path.glob("*.template.json"))
    assert len(templates) == len(assembly.stacks) >= 1
    for path in templates:
        assert _lint(json.loads(path.read_text())) == [], path.name


def test_the_linter_reports_warnings_and_errors() -> None:
    """Guards the harness: a template with a known problem is not reported clean."""
    template = {
        "Parameters": {"Unused": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Bogus": 1}}},
    }
    found = _lint(template)
    assert any(line.startswith("W2001") for line in found), found
    assert any(line.startswith("E3002") for line in found), found
