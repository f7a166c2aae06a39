"""ProductServiceStack: the storefront site in every environment; push invalidation wired when
the functions can reach AppSync (natGateways >= 1), nag and cfn-lint clean either way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint

import app as cdk_app

ROOT = Path(__file__).resolve().parent
CONTEXT = json.loads((ROOT.parent / "cdk.json").read_text())["context"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]

pytestmark = pytest.mark.synth


def _synth(env: str, tmp_path: Path, *, nat_gateways: int | None = None) -> dict[str, Any]:
    environments = json.loads(json.dumps(CONTEXT["environments"]))
    if nat_gateways is not None:
        environments[env]["natGateways"] = nat_gateways
    app = cdk_app.build_app(
        cdk.App(
            outdir=str(tmp_path),
            context={
                **CONTEXT,
                "environments": environments,
                "env": env,
                "aws:cdk:bundling-stacks": [],
            },
        )
    )
    (stack,) = app.synth().stacks
    report = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"][0]
    assert report["violations"] == []
    return stack.template


def _of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _invalidation_function(template: dict[str, Any]) -> dict[str, Any]:
    (function,) = [
        v
        for k, v in _of_type(template, "AWS::Lambda::Function").items()
        if k.startswith("ProductServiceInvalidationFunction")
    ]
    return function


def _csp(template: dict[str, Any]) -> str:
    (policy,) = _of_type(template, "AWS::CloudFront::ResponseHeadersPolicy").values()
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    return json.dumps(config["SecurityHeadersConfig"]["ContentSecurityPolicy"])


def _page_markers(template: dict[str, Any]) -> str:
    deployments = _of_type(template, "Custom::CDKBucketDeployment").values()
    return json.dumps([d["Properties"].get("SourceMarkers") for d in deployments])


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _synth("dev", tmp_path_factory.mktemp("dev"))


@pytest.fixture(scope="module", params=["dev", "prod"])
def with_nat(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    env = request.param
    return env, _synth(env, tmp_path_factory.mktemp(f"{env}-nat"), nat_gateways=1)


def test_the_site_serves_the_page_and_the_api_on_one_origin(dev: dict[str, Any]) -> None:
    (distribution,) = _of_type(dev, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    patterns = sorted(b["PathPattern"] for b in config["CacheBehaviors"])
    assert patterns == ["/products", "/products/*"]
    assert "SiteUrl" in dev["Outputs"]
    assert "EventsUrl" not in dev["Outputs"]
    # config.json: the API is the site's own URL, filled in at deploy time.
    assert "SiteDistribution" in _page_markers(dev)


def test_without_nat_nothing_publishes_and_the_page_polls(dev: dict[str, Any]) -> None:
    assert _of_type(dev, "AWS::AppSync::Api") == {}
    variables = _invalidation_function(dev)["Properties"]["Environment"]["Variables"]
    assert "EVENTS_PUBLISH_URL" not in variables
    assert "connect-src 'self';" in _csp(dev)


def test_with_nat_the_invalidation_function_publishes_and_the_page_subscribes(with_nat) -> None:
    env, template = with_nat
    ((api_id, _),) = _of_type(template, "AWS::AppSync::Api").items()
    variables = _invalidation_function(template)["Properties"]["Environment"]["Variables"]
    assert variables["EVENTS_PUBLISH_AUTH"] == "iam"
    assert api_id in json.dumps(variables["EVENTS_PUBLISH_URL"])
    # The page learns the real-time URL and the API key at deploy time, and may connect there.
    markers = _page_markers(template)
    assert "Dns.Realtime" in markers
    assert "ApiKey" in markers
    assert "wss://" in _csp(template)
    assert "Dns.Realtime" in _csp(template)
    assert "EventsUrl" in template["Outputs"]
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    push_alarms = [k for k in alarms if "PushPublishFailures" in k]
    assert len(push_alarms) == 2
    if env == "prod":
        names = [a["Properties"].get("AlarmName") for a in alarms.values()]
        assert "product-service-prod-PushPublishFailuresCritical" in names
    (dashboard,) = _of_type(template, "AWS::CloudWatch::Dashboard").values()
    assert "Push invalidation" in json.dumps(dashboard["Properties"]["DashboardBody"])


def test_with_nat_the_templates_are_lint_clean(with_nat) -> None:
    _, template = with_nat
    matches = lint(json.dumps(template), config=ManualArgs(regions=REGIONS))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []
