"""CachedProductService and push invalidation: it creates or accepts an InvalidationChannel and
only the invalidation function may publish (bundling skipped)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from cdk_nag import AwsSolutionsChecks

from cache_constructs import CachedProductService, InvalidationChannel

pytestmark = pytest.mark.synth
API_FUNCTIONS = ("ReadFunction", "ListFunction", "WriteFunction")


def _stack(nag: bool = False) -> tuple[cdk.Stack, ec2.Vpc]:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Test", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ],
    )
    vpc.add_flow_log("FlowLog")
    return stack, vpc


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        key: value
        for key, value in template["Resources"].items()
        if value["Type"] == "AWS::Lambda::Function" and key.startswith("ProductService")
    }


def _function(template: dict[str, Any], name: str) -> dict[str, Any]:
    (function,) = [
        v for k, v in _functions(template).items() if k.startswith(f"ProductService{name}")
    ]
    return function


def _policy_text(template: dict[str, Any], name: str) -> str:
    role = _function(template, name)["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        v
        for v in template["Resources"].values()
        if v["Type"] == "AWS::IAM::Policy" and {"Ref": role} in v["Properties"]["Roles"]
    ]
    return json.dumps([p["Properties"]["PolicyDocument"] for p in policies])


def test_push_invalidation_creates_a_channel_only_the_invalidation_function_publishes_to() -> None:
    stack, vpc = _stack()
    service = CachedProductService(stack, "ProductService", vpc=vpc, push_invalidation=True)
    template = assertions.Template.from_stack(stack).to_json()
    assert isinstance(service.invalidation_channel, InvalidationChannel)
    apis = [v for v in template["Resources"].values() if v["Type"] == "AWS::AppSync::Api"]
    assert len(apis) == 1
    variables = _function(template, "InvalidationFunction")["Properties"]["Environment"][
        "Variables"
    ]
    assert variables["EVENTS_PUBLISH_URL"] == stack.resolve(
        service.invalidation_channel.publish_url
    )
    assert variables["EVENTS_PUBLISH_AUTH"] == "iam"
    assert "appsync:EventPublish" in _policy_text(template, "InvalidationFunction")
    for name in API_FUNCTIONS:
        assert (
            "EVENTS_PUBLISH_URL"
            not in _function(template, name)["Properties"]["Environment"]["Variables"]
        )
        assert "appsync:" not in _policy_text(template, name)
    # The channel logs like the functions (one month, retained by default).
    (log_group,) = [
        v
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Logs::LogGroup" and "InvalidationChannel" in k
    ]
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["DeletionPolicy"] == "Retain"


def test_an_existing_channel_is_used_instead_of_creating_one() -> None:
    stack, vpc = _stack()
    channel = InvalidationChannel(stack, "Shared", namespace="catalog")
    service = CachedProductService(stack, "ProductService", vpc=vpc, invalidation_channel=channel)
    template = assertions.Template.from_stack(stack).to_json()
    assert service.invalidation_channel is channel
    apis = [v for v in template["Resources"].values() if v["Type"] == "AWS::AppSync::Api"]
    assert len(apis) == 1
    assert "channelNamespace/catalog" in _policy_text(template, "InvalidationFunction")


def test_without_push_nothing_is_published() -> None:
    stack, vpc = _stack()
    service = CachedProductService(stack, "ProductService", vpc=vpc)
    template = assertions.Template.from_stack(stack).to_json()
    assert service.invalidation_channel is None
    assert not [v for v in template["Resources"].values() if v["Type"].startswith("AWS::AppSync")]
    for function in _functions(template).values():
        assert "EVENTS_PUBLISH_URL" not in function["Properties"]["Environment"]["Variables"]


def test_push_invalidation_and_a_channel_together_are_rejected() -> None:
    stack, vpc = _stack()
    channel = InvalidationChannel(stack, "Shared")
    with pytest.raises(ValueError, match="push_invalidation=True or invalidation_channel"):
        CachedProductService(
            stack, "ProductService", vpc=vpc, push_invalidation=True, invalidation_channel=channel
        )


def test_cdk_nag_passes_with_push_invalidation() -> None:
    stack, vpc = _stack(nag=True)
    CachedProductService(stack, "ProductService", vpc=vpc, push_invalidation=True)
    stack.node.root.synth()  # type: ignore[union-attr]
