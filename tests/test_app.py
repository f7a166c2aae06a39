"""app.py: builds the selected environment, with the AwsSolutions checks on and clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

import app as cdk_app

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]

pytestmark = pytest.mark.synth


def _app(tmp_path: Path, **context: Any) -> cdk.App:
    return cdk.App(
        outdir=str(tmp_path),
        context={**CONTEXT, "aws:cdk:bundling-stacks": [], **context},
    )


def _report(outdir: Path) -> dict[str, Any]:
    (plugin,) = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    return plugin


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_synthesizes_with_no_unacknowledged_findings(env: str, tmp_path: Path) -> None:
    app = cdk_app.build_app(_app(tmp_path, env=env))
    assembly = app.synth()
    (stack,) = assembly.stacks
    assert stack.stack_name == f"CachedProductService-{env}"
    report = _report(tmp_path)
    assert report["pluginName"] == "AwsSolutions"
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    # Every acknowledgement carries a specific reason a reviewer can judge.
    for suppressed in report["suppressedViolations"]:
        assert len(suppressed["reason"]) > 40, suppressed


def test_default_environment_is_dev(tmp_path: Path) -> None:
    app = cdk_app.build_app(_app(tmp_path))
    assert [c.node.id for c in app.node.children if isinstance(c, cdk.Stack)] == [
        "CachedProductService-dev"
    ]


def test_environments_differ_as_configured(tmp_path: Path) -> None:
    dev = cdk_app.build_app(_app(tmp_path / "dev", env="dev")).synth().stacks[0].template
    prod = cdk_app.build_app(_app(tmp_path / "prod", env="prod")).synth().stacks[0].template

    def types(template: dict[str, Any]) -> set[str]:
        return {r["Type"] for r in template["Resources"].values()}

    assert "AWS::ElastiCache::ServerlessCache" in types(dev)
    assert "AWS::ElastiCache::ReplicationGroup" not in types(dev)
    (group,) = [
        r for r in prod["Resources"].values() if r["Type"] == "AWS::ElastiCache::ReplicationGroup"
    ]
    assert group["Properties"]["MultiAZEnabled"] is True
    assert group["Properties"]["AutomaticFailoverEnabled"] is True

    def dax_nodes(template: dict[str, Any]) -> list[int]:
        return [
            r["Properties"]["ReplicationFactor"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::DAX::Cluster"
        ]

    assert dax_nodes(dev) == [1]
    assert dax_nodes(prod) == [3]
    for template in (dev, prod):
        assert "AWS::EC2::NatGateway" not in types(template)
        assert "AWS::EC2::FlowLog" in types(template)


def test_unknown_environment_is_a_value_error_naming_env(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="env must be one of"):
        cdk_app.build_app(_app(tmp_path, env="staging"))


def test_an_unacknowledged_finding_fails_synth(tmp_path: Path) -> None:
    app = cdk_app.build_app(_app(tmp_path, env="dev"))
    (stack,) = [c for c in app.node.children if isinstance(c, cdk.Stack)]
    sqs.Queue(stack, "QueueWithoutDlqOrSsl")
    with pytest.raises(Exception, match="AwsSolutions-SQS"):
        app.synth()


def test_app_py_runs_as_the_cli_runs_it(tmp_path: Path) -> None:
    """The real entry point, given context and an output dir the way the CDK CLI does."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**CONTEXT, "env": "dev", "aws:cdk:bundling-stacks": []}),
        "CDK_OUTDIR": str(tmp_path),
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "CachedProductService-dev.template.json").is_file()
    assert _report(tmp_path)["violations"] == []


def test_nat_gateways_put_the_functions_in_egress_subnets(tmp_path: Path) -> None:
    environments = json.loads(json.dumps(CONTEXT["environments"]))
    environments["dev"]["natGateways"] = 1
    app = cdk_app.build_app(_app(tmp_path, env="dev", environments=environments))
    template = app.synth().stacks[0].template
    resources = template["Resources"]
    assert [r for r in resources.values() if r["Type"] == "AWS::EC2::NatGateway"]
    egress_subnets = {
        key
        for key, r in resources.items()
        if r["Type"] == "AWS::EC2::Subnet" and key.startswith("Vpcprivate")
    }
    assert len(egress_subnets) == 2
    for key, r in resources.items():
        if r["Type"] != "AWS::Lambda::Function" or not key.startswith("ProductService"):
            continue
        if "Publisher" in key:  # the push publisher runs outside the VPC on purpose
            assert "VpcConfig" not in r["Properties"], key
            continue
        subnets = {ref["Ref"] for ref in r["Properties"]["VpcConfig"]["SubnetIds"]}
        assert subnets == egress_subnets, key


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"bogus": 1}, "unknown keys"),
        ({"removalPolicy": "snapshot"}, "removalPolicy"),
        ({"natGateways": 3}, "natGateways"),
        ({"natGateways": True}, "natGateways"),
        ({"pushInvalidation": "yes"}, "pushInvalidation must be true or false"),
        ({"pushInvalidation": 1}, "pushInvalidation must be true or false"),
        ({"logRetentionDays": 0}, "logRetentionDays"),
        ({"logRetentionDays": 31}, "logRetentionDays"),
        ({"stackName": ""}, "stackName"),
        ({"valkey": "serverless"}, "environments.dev.valkey must hold exactly one of"),
        ({"valkey": {"mode": "serverless"}}, "environments.dev.valkey must hold exactly one of"),
        ({"functions": {"memorySizeMb": 64}}, "memory_size_mb"),
        ({"functions": {"memorySize": 512}}, "environments.dev.functions.memorySize is not a prop"),
        (
            {"valkey": {"serverless": {"nodes": 2}}},
            "environments.dev.valkey.serverless.nodes is not a prop",
        ),
        (
            {"valkey": {"serverless": {"maxDataStorgeGb": 5}}},
            r"environments.dev.valkey.serverless.maxDataStorgeGb is not a prop "
            r"\(did you mean 'maxDataStorageGb'\?\)",
        ),
        (
            {"valkey": {"replicated": {"replicasPerShard": 9}}},
            r"environments.dev.valkey.replicated: "
            r"ReplicatedValkeyCacheProps.replicas_per_shard must be between 0 and 5",
        ),
        ({"dax": {"nodes": 3}}, "environments.dev.dax.nodes is not a prop"),
        ({"api": {"stageName": "v 1"}}, "environments.dev.api: CachedRestApiProps.stage_name"),
        ({"alarms": {"maxLatency": 2}}, "environments.dev.alarms.maxLatency is not a prop"),
        (
            {"alarms": {"maxIteratorAgeSeconds": {"warning": "soon"}}},
            "environments.dev.alarms.maxIteratorAgeSeconds.warning must be a number",
        ),
        (
            {"alarms": {"minL2HitRatePercent": {"warning": 10, "critical": 20}}},
            r"CacheAlarmsProps.min_l2_hit_rate_percent.warning \(10\) must be above",
        ),
        ({"alarmTopicArn": "pager"}, "environments.dev.alarmTopicArn must be an SNS topic ARN"),
    ],
)
def test_bad_settings_fail_synth_naming_the_setting(
    change: dict[str, Any], named: str, tmp_path: Path
) -> None:
    environments = json.loads(json.dumps(CONTEXT["environments"]))
    environments["dev"].update(change)
    with pytest.raises(ValueError, match=named):
        cdk_app.build_app(_app(tmp_path, env="dev", environments=environments))


def test_cdk_cli_synth_prints_no_warning(tmp_path: Path) -> None:
    """What `make synth` runs: no feature-flag, deprecation, nag or Node end-of-life output."""
    env = {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(ROOT / ".build" / "wheelhouse"),
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        ["cdk", "synth", "--quiet", "-c", "env=dev", "--output", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for marker in ("warn", "deprecat", "end-of-life", "feature flag", "AwsSolutions-"):
        assert marker.lower() not in output.lower(), output[-4000:]
    assert (tmp_path / "CachedProductService-dev.template.json").is_file()


def test_an_existing_alarm_topic_from_the_settings_takes_every_alarm(tmp_path: Path) -> None:
    environments = json.loads(json.dumps(CONTEXT["environments"]))
    arn = "arn:aws:sns:eu-west-1:123456789012:pager"
    environments["dev"]["alarmTopicArn"] = arn
    app = cdk_app.build_app(_app(tmp_path, env="dev", environments=environments))
    resources = app.synth().stacks[0].template["Resources"]
    assert not [r for r in resources.values() if r["Type"] == "AWS::SNS::Topic"]
    alarms = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms and all(a["Properties"]["AlarmActions"] == [arn] for a in alarms)


def test_alarm_thresholds_come_from_the_settings_per_kind_and_level(tmp_path: Path) -> None:
    template = cdk_app.build_app(_app(tmp_path, env="prod")).synth().stacks[0].template
    thresholds = {
        r["Properties"]["AlarmName"]: r["Properties"]["Threshold"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert thresholds["product-service-prod-L2HitRateWarning"] == 80
    assert thresholds["product-service-prod-L2HitRateCritical"] == 50
    assert thresholds["product-service-prod-IteratorAgeWarning"] == 30_000
    assert thresholds["product-service-prod-IteratorAgeCritical"] == 120_000
    assert thresholds["product-service-prod-ApiLatencyP95Critical"] == 3_000
