"""CachedProductService and push invalidation without NAT: the channel, the publisher function
outside the VPC, the handover grant, one Lambda interface endpoint per VPC (bundling skipped)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from cache_constructs import (
    CachedProductService,
    InvalidationChannel,
    InvalidationChannelProps,
    ProductServiceCode,
)

pytestmark = pytest.mark.synth
API_FUNCTIONS = ("ReadFunction", "ListFunction", "WriteFunction")
ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _stack(nag: bool = False, *, nat: bool = False) -> tuple[cdk.Stack, ec2.Vpc]:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Test", env=ENV)
    subnets = [ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)]
    if nat:
        subnets = [
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ]
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=1 if nat else 0,
        subnet_configuration=subnets,
    )
    vpc.add_flow_log("FlowLog")
    return stack, vpc


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _function(template: dict[str, Any], name: str) -> dict[str, Any]:
    (function,) = [
        v
        for k, v in _resources(template, "AWS::Lambda::Function").items()
        if k.startswith(f"ProductService{name}")
    ]
    return function


def _statements(template: dict[str, Any], name: str) -> list[dict[str, Any]]:
    role = _function(template, name)["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in _resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _interface_endpoints(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        k: v
        for k, v in _resources(template, "AWS::EC2::VPCEndpoint").items()
        if v["Properties"]["VpcEndpointType"] == "Interface"
    }


@pytest.fixture(scope="module")
def default() -> tuple[cdk.Stack, CachedProductService, dict[str, Any]]:
    stack, vpc = _stack()
    service = CachedProductService(stack, "ProductService", vpc=vpc)
    return stack, service, assertions.Template.from_stack(stack).to_json()


def test_push_is_on_by_default_with_a_publisher_outside_the_vpc(default) -> None:
    stack, service, template = default
    channel = service.invalidation_channel
    assert isinstance(channel, InvalidationChannel)
    assert channel.publisher_function is not None
    assert len(_resources(template, "AWS::AppSync::Api")) == 1
    publisher = _function(template, "InvalidationChannelPublisherFunction")["Properties"]
    assert "VpcConfig" not in publisher
    # Every service function stays in the VPC.
    for name in (*API_FUNCTIONS, "InvalidationFunction"):
        assert "VpcConfig" in _function(template, name)["Properties"], name
    # The publisher runs the service's one asset and logs like the service (one month, kept).
    code = ProductServiceCode.of(stack)
    assert isinstance(code, lambda_.Code)
    assert (
        publisher["Code"]["S3Key"]
        == _function(template, "ReadFunction")["Properties"]["Code"]["S3Key"]
    )
    (log_group,) = [
        v
        for k, v in _resources(template, "AWS::Logs::LogGroup").items()
        if k.startswith("ProductServiceInvalidationChannelPublisherLogs")
    ]
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["DeletionPolicy"] == "Retain"
    # Its EMF metrics land with the service's.
    variables = publisher["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == service.metrics_namespace


def test_only_the_invalidation_function_may_hand_over_and_only_to_the_publisher(default) -> None:
    stack, service, template = default
    channel = service.invalidation_channel
    assert channel is not None and channel.publisher_function is not None
    publisher_arn = {
        "Fn::GetAtt": [stack.get_logical_id(channel.publisher_function.node.default_child), "Arn"]
    }
    invoke = [
        s for s in _statements(template, "InvalidationFunction") if "lambda:" in json.dumps(s)
    ]
    assert invoke == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": publisher_arn}
    ]
    variables = _function(template, "InvalidationFunction")["Properties"]["Environment"][
        "Variables"
    ]
    assert variables["PUSH_PUBLISHER_FUNCTION"] == publisher_arn
    # It does not publish itself (it could not reach AppSync from the isolated subnets).
    assert "EVENTS_PUBLISH_URL" not in variables
    assert "appsync:" not in json.dumps(_statements(template, "InvalidationFunction"))
    for name in API_FUNCTIONS:
        function_vars = _function(template, name)["Properties"]["Environment"]["Variables"]
        assert "PUSH_PUBLISHER_FUNCTION" not in function_vars
        assert "EVENTS_PUBLISH_URL" not in function_vars
        text = json.dumps(_statements(template, name))
        assert "lambda:InvokeFunction" not in text and "appsync:" not in text


def test_the_lambda_endpoint_has_private_dns_and_admits_the_invalidation_function_only(
    default,
) -> None:
    _, service, template = default
    ((endpoint_id, endpoint),) = _interface_endpoints(template).items()
    assert endpoint_id.startswith("VpcLambdaInterfaceEndpoint")
    properties = endpoint["Properties"]
    assert properties["PrivateDnsEnabled"] is True
    assert ".lambda" in json.dumps(properties["ServiceName"])
    assert len(properties["SubnetIds"]) == 2  # one per AZ
    (endpoint_group,) = properties["SecurityGroupIds"]
    invalidation_group = _function(template, "InvalidationFunction")["Properties"]["VpcConfig"][
        "SecurityGroupIds"
    ][0]
    group_id = endpoint_group["Fn::GetAtt"][0]
    # No inline rule admits the VPC's CIDR (open=False)...
    assert "SecurityGroupIngress" not in template["Resources"][group_id]["Properties"]
    # ...and exactly one ingress rule: 443 from the invalidation function's security group.
    ingress = [
        r["Properties"]
        for r in _resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == endpoint_group
    ]
    assert [(i["FromPort"], i["ToPort"], i["SourceSecurityGroupId"]) for i in ingress] == [
        (443, 443, invalidation_group)
    ]
    assert service.lambda_endpoint is not None


def test_two_services_on_one_vpc_share_one_lambda_endpoint() -> None:
    stack, vpc = _stack()
    first = CachedProductService(stack, "Products", vpc=vpc)
    second = CachedProductService(stack, "Catalog", vpc=vpc, enable_dax=False)
    template = assertions.Template.from_stack(stack).to_json()
    assert len(_interface_endpoints(template)) == 1
    assert first.lambda_endpoint is not None and second.lambda_endpoint is not None
    assert first.lambda_endpoint.node.path == second.lambda_endpoint.node.path
    # Both invalidation functions are admitted; nothing else is.
    ingress = _resources(template, "AWS::EC2::SecurityGroupIngress").values()
    sources = {
        json.dumps(r["Properties"]["SourceSecurityGroupId"])
        for r in ingress
        if "LambdaInterfaceEndpoint" in json.dumps(r["Properties"]["GroupId"])
    }
    assert len(sources) == 2


def test_two_services_on_one_vpc_in_two_stacks_share_it_without_a_cycle() -> None:
    network, vpc = _stack()
    CachedProductService(network, "Products", vpc=vpc)
    app = network.node.root
    other = cdk.Stack(app, "Other", env=ENV)  # type: ignore[arg-type]
    CachedProductService(other, "Catalog", vpc=vpc, enable_dax=False)
    network_t = assertions.Template.from_stack(network).to_json()
    other_t = assertions.Template.from_stack(other).to_json()
    assert len(_interface_endpoints(network_t)) == 1
    assert not _interface_endpoints(other_t)
    # The second service's rules live in its own stack, on the imported endpoint group: it
    # depends on the VPC's stack, never the other way round.
    ingress = [
        r["Properties"]
        for r in _resources(other_t, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["FromPort"] == 443
    ]
    assert ["Fn::ImportValue" in i["GroupId"] for i in ingress] == [True]
    network_ingress = [
        r
        for r in _resources(network_t, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["FromPort"] == 443
    ]
    assert len(network_ingress) == 1  # the first service's own function
    app.synth()  # type: ignore[union-attr]  # no dependency cycle


def test_an_imported_vpc_gets_an_endpoint_only_when_asked() -> None:
    stack, _ = _stack()
    imported = ec2.Vpc.from_vpc_attributes(
        stack,
        "Imported",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        isolated_subnet_ids=["subnet-a", "subnet-b"],
        isolated_subnet_route_table_ids=["rtb-a", "rtb-b"],
    )
    service = CachedProductService(stack, "Products", vpc=imported, enable_dax=False)
    assert service.lambda_endpoint is None
    CachedProductService(
        stack, "Catalog", vpc=imported, lambda_interface_endpoint=True, enable_dax=False
    )
    template = assertions.Template.from_stack(stack).to_json()
    (endpoint,) = _interface_endpoints(template).values()
    assert endpoint["Properties"]["SubnetIds"] == ["subnet-a", "subnet-b"]


def test_the_endpoint_can_be_left_to_the_vpc_owner() -> None:
    stack, vpc = _stack(nat=True)
    service = CachedProductService(
        stack, "ProductService", vpc=vpc, lambda_interface_endpoint=False
    )
    template = assertions.Template.from_stack(stack).to_json()
    assert service.lambda_endpoint is None
    assert not _interface_endpoints(template)
    # The grant and the variable are there all the same.
    assert "PUSH_PUBLISHER_FUNCTION" in json.dumps(_function(template, "InvalidationFunction"))


def test_an_existing_channel_is_used_instead_of_creating_one() -> None:
    stack, vpc = _stack()
    channel = InvalidationChannel(
        stack,
        "Shared",
        publisher_code=ProductServiceCode.of(stack),
        props=InvalidationChannelProps(namespace="catalog"),
    )
    service = CachedProductService(stack, "ProductService", vpc=vpc, invalidation_channel=channel)
    template = assertions.Template.from_stack(stack).to_json()
    assert service.invalidation_channel is channel
    assert len(_resources(template, "AWS::AppSync::Api")) == 1
    assert service.metric_sources.push is channel


def test_channel_props_reach_the_channel_built_here() -> None:
    stack, vpc = _stack()
    service = CachedProductService(
        stack,
        "ProductService",
        vpc=vpc,
        invalidation_channel_props=InvalidationChannelProps(publish_retry_attempts=1),
    )
    template = assertions.Template.from_stack(stack).to_json()
    (config,) = _resources(template, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["MaximumRetryAttempts"] == 1
    assert service.invalidation_channel is not None


def test_push_can_be_switched_off() -> None:
    stack, vpc = _stack()
    service = CachedProductService(stack, "ProductService", vpc=vpc, push_invalidation=False)
    template = assertions.Template.from_stack(stack).to_json()
    assert service.invalidation_channel is None and service.lambda_endpoint is None
    assert not [v for v in template["Resources"].values() if v["Type"].startswith("AWS::AppSync")]
    assert not _interface_endpoints(template)
    for function in _resources(template, "AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "PUSH_PUBLISHER_FUNCTION" not in variables
        assert "EVENTS_PUBLISH_URL" not in variables
    assert service.metric_sources.push is None


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"push_invalidation": False, "invalidation_channel_props": InvalidationChannelProps()},
            "push_invalidation=False builds no push path: drop invalidation_channel_props",
        ),
        (
            {"push_invalidation": False, "lambda_interface_endpoint": True},
            "drop lambda_interface_endpoint",
        ),
        ({"invalidation_channel_props": {"namespace": "x"}}, "invalidation_channel_props must be"),
    ],
)
def test_contradicting_push_props_are_rejected(props: dict[str, Any], message: str) -> None:
    stack, vpc = _stack()
    with pytest.raises(ValueError, match=message):
        CachedProductService(stack, "ProductService", vpc=vpc, **props)


def test_a_channel_and_its_props_together_are_rejected() -> None:
    stack, vpc = _stack()
    channel = InvalidationChannel(stack, "Shared", publisher_code=ProductServiceCode.of(stack))
    with pytest.raises(ValueError, match="invalidation_channel or invalidation_channel_props"):
        CachedProductService(
            stack,
            "ProductService",
            vpc=vpc,
            invalidation_channel=channel,
            invalidation_channel_props=InvalidationChannelProps(),
        )


def test_a_channel_without_a_publisher_is_rejected() -> None:
    stack, vpc = _stack()
    channel = InvalidationChannel(stack, "Shared")
    with pytest.raises(ValueError, match="no publisher function"):
        CachedProductService(stack, "ProductService", vpc=vpc, invalidation_channel=channel)


def test_cdk_nag_passes_with_push() -> None:
    stack, vpc = _stack(nag=True)
    CachedProductService(stack, "ProductService", vpc=vpc)
    stack.node.root.synth()  # type: ignore[union-attr]
