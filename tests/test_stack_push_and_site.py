"""ProductServiceStack: the storefront site in every environment, and push invalidation on by
default without NAT (the publisher outside the VPC, the handover through the VPC's Lambda
interface endpoint); `pushInvalidation: false` switches it off. nag and cfn-lint clean."""

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


def _synth(env: str, tmp_path: Path, **changes: Any) -> dict[str, Any]:
    environments = json.loads(json.dumps(CONTEXT["environments"]))
    environments[env].update(changes)
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


def _function(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    (function,) = [
        v for k, v in _of_type(template, "AWS::Lambda::Function").items() if k.startswith(prefix)
    ]
    return function


def _csp(template: dict[str, Any]) -> str:
    (policy,) = _of_type(template, "AWS::CloudFront::ResponseHeadersPolicy").values()
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    return json.dumps(config["SecurityHeadersConfig"]["ContentSecurityPolicy"])


def _page_markers(template: dict[str, Any]) -> str:
    deployments = _of_type(template, "Custom::CDKBucketDeployment").values()
    return json.dumps([d["Properties"].get("SourceMarkers") for d in deployments])


@pytest.fixture(scope="module", params=["dev", "prod"])
def deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    env = request.param
    return env, _synth(env, tmp_path_factory.mktemp(env))


@pytest.fixture(scope="module")
def push_off(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _synth("dev", tmp_path_factory.mktemp("push-off"), pushInvalidation=False)


def test_both_environments_run_without_nat(deployed) -> None:
    env, template = deployed
    assert CONTEXT["environments"][env]["natGateways"] == 0
    assert CONTEXT["environments"][env]["pushInvalidation"] is True
    assert _of_type(template, "AWS::EC2::NatGateway") == {}


def test_the_site_serves_the_page_and_the_api_on_one_origin(deployed) -> None:
    _, template = deployed
    (distribution,) = _of_type(template, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    patterns = sorted(b["PathPattern"] for b in config["CacheBehaviors"])
    assert patterns == ["/products", "/products/*"]
    assert "SiteUrl" in template["Outputs"]
    # config.json: the API is the site's own URL, filled in at deploy time.
    assert "SiteDistribution" in _page_markers(template)


def test_push_goes_from_the_vpc_to_a_publisher_outside_it(deployed) -> None:
    _, template = deployed
    ((api_id, _),) = _of_type(template, "AWS::AppSync::Api").items()
    invalidation = _function(template, "ProductServiceInvalidationFunction")["Properties"]
    publisher = _function(template, "ProductServiceInvalidationChannelPublisherFunction")
    assert "VpcConfig" in invalidation and "VpcConfig" not in publisher["Properties"]
    variables = invalidation["Environment"]["Variables"]
    assert "PublisherFunction" in json.dumps(variables["PUSH_PUBLISHER_FUNCTION"])
    assert "EVENTS_PUBLISH_URL" not in variables
    assert api_id in json.dumps(publisher["Properties"]["Environment"]["Variables"])
    (endpoint,) = [
        e
        for e in _of_type(template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True
    (config,) = _of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    assert (
        config["Properties"]["MaximumRetryAttempts"],
        config["Properties"]["MaximumEventAgeInSeconds"],
    ) == (2, 300)


def test_the_page_subscribes_and_may_connect_to_the_realtime_endpoint(deployed) -> None:
    _, template = deployed
    # The page learns the real-time URL and the API key at deploy time, and may connect there.
    markers = _page_markers(template)
    assert "Dns.Realtime" in markers
    assert "ApiKey" in markers
    assert "wss://" in _csp(template)
    assert "Dns.Realtime" in _csp(template)
    assert "EventsUrl" in template["Outputs"]


def test_push_is_watched_by_the_stacks_one_dashboard_and_alarm_set(deployed) -> None:
    env, template = deployed
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    for kind in (
        "PushHandoverFailures",
        "PushPublishFailures",
        "PushDropped",
        "PushPublishErrors",
        "PushConnectServerErrors",
        "PushConnectClientErrors",
    ):
        assert len([k for k in alarms if k.startswith(f"Alarms{kind}")]) == 2, kind
    if env == "prod":
        names = [a["Properties"].get("AlarmName") for a in alarms.values()]
        assert "product-service-prod-PushHandoverFailuresCritical" in names
    (dashboard,) = _of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "Push invalidation" in body and "PushHandoverFailure" in body


def test_push_can_be_switched_off_and_the_page_then_polls(push_off: dict[str, Any]) -> None:
    assert _of_type(push_off, "AWS::AppSync::Api") == {}
    interface = [
        e
        for e in _of_type(push_off, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert interface == []
    variables = _function(push_off, "ProductServiceInvalidationFunction")["Properties"][
        "Environment"
    ]["Variables"]
    assert "PUSH_PUBLISHER_FUNCTION" not in variables
    assert "connect-src 'self';" in _csp(push_off)
    assert "EventsUrl" not in push_off["Outputs"]
    assert not [k for k in _of_type(push_off, "AWS::CloudWatch::Alarm") if "Push" in k]


def test_the_push_off_template_is_lint_clean(push_off: dict[str, Any]) -> None:
    matches = lint(json.dumps(push_off), config=ManualArgs(regions=REGIONS))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []
