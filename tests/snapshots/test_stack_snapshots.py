"""Snapshots of the full stack for dev and prod (bundling skipped, machine-specific parts masked).

After an intended change: `make snapshot-update`, review the diff, commit it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

import app as cdk_app

ROOT = Path(__file__).resolve().parents[2]
# Asset hashes depend on the source tree (and, for bundled assets, on this machine).
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
_ASSET_PATH = re.compile(r"asset\.<asset-hash>[^\"]*")

pytestmark = pytest.mark.synth


def synth_template(env: str) -> dict[str, Any]:
    """The stack template of app.py for `env`, with the cdk.json context, bundling skipped."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = cdk_app.build_app(cdk.App(context={**context, "env": env, "aws:cdk:bundling-stacks": []}))
    (stack,) = [c for c in app.node.children if isinstance(c, cdk.Stack)]
    return app.synth().get_stack_by_name(stack.stack_name).template


def masked(template: dict[str, Any]) -> dict[str, Any]:
    """`template` with asset hashes, asset paths and API key expiries replaced by placeholders.

    An AppSync API key expires a fixed time after each synth (InvalidationChannel), so its
    `Expires` differs from one run to the next; its bounds are tested in the construct tests.
    """
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    result: dict[str, Any] = json.loads(_ASSET_PATH.sub("asset.<asset-hash>", text))
    for resource in result.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::AppSync::ApiKey" and "Expires" in properties:
            properties["Expires"] = "<synth time + key lifetime>"
    return result


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_stack_snapshot(env: str, snapshot: SnapshotAssertion) -> None:
    assert masked(synth_template(env)) == snapshot(extension_class=JSONSnapshotExtension)


def test_masking_removes_every_asset_hash_and_the_api_key_expiry() -> None:
    template = {
        "Code": {"S3Key": "a" * 64 + ".zip"},
        "Metadata": {"aws:asset:path": "asset." + "b" * 64},
        "Resources": {
            "Key": {"Type": "AWS::AppSync::ApiKey", "Properties": {"Expires": 1796000000}},
            "Other": {"Type": "AWS::SQS::Queue", "Properties": {"Expires": 1}},
        },
    }
    assert masked(template) == {
        "Code": {"S3Key": "<asset-hash>.zip"},
        "Metadata": {"aws:asset:path": "asset.<asset-hash>"},
        "Resources": {
            "Key": {
                "Type": "AWS::AppSync::ApiKey",
                "Properties": {"Expires": "<synth time + key lifetime>"},
            },
            "Other": {"Type": "AWS::SQS::Queue", "Properties": {"Expires": 1}},
        },
    }
