"""lambda_network: one Lambda interface endpoint per VPC, private DNS, closed by default."""

from __future__ import annotations

import pytest
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from helpers import new_function, new_stack, new_vpc

from cache_constructs import lambda_network

pytestmark = pytest.mark.synth
ANY = ec2.SubnetSelection()


def test_one_endpoint_per_vpc_however_often_it_is_asked_for() -> None:
    stack = new_stack()
    vpc = new_vpc(stack)
    first = lambda_network.lambda_interface_endpoint(vpc, wanted=None, subnets=ANY)
    second = lambda_network.lambda_interface_endpoint(vpc, wanted=True, subnets=ANY)
    assert first is not None and first is second
    assert first.node.scope is vpc  # a child of the VPC: found there from any stack
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::VPCEndpoint", 1)
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"VpcEndpointType": "Interface", "PrivateDnsEnabled": True},
    )


def test_an_endpoint_the_vpc_already_has_is_reused() -> None:
    stack = new_stack()
    vpc = new_vpc(stack)
    own = vpc.add_interface_endpoint(
        "Lambda", service=ec2.InterfaceVpcEndpointAwsService.LAMBDA_, open=False
    )
    found = lambda_network.lambda_interface_endpoint(vpc, wanted=None, subnets=ANY)
    assert found is not None and found.node.path == own.node.path
    assertions.Template.from_stack(stack).resource_count_is("AWS::EC2::VPCEndpoint", 1)


def test_another_service_endpoint_is_not_mistaken_for_it() -> None:
    stack = new_stack()
    vpc = new_vpc(stack)
    vpc.add_interface_endpoint("Sqs", service=ec2.InterfaceVpcEndpointAwsService.SQS)
    endpoint = lambda_network.lambda_interface_endpoint(vpc, wanted=None, subnets=ANY)
    assert endpoint is not None
    assertions.Template.from_stack(stack).resource_count_is("AWS::EC2::VPCEndpoint", 2)


def test_not_wanted_means_none() -> None:
    stack = new_stack()
    vpc = new_vpc(stack)
    assert lambda_network.lambda_interface_endpoint(vpc, wanted=False, subnets=ANY) is None
    assertions.Template.from_stack(stack).resource_count_is("AWS::EC2::VPCEndpoint", 0)


def test_the_endpoint_admits_nobody_until_a_function_is_allowed() -> None:
    for allowed in (False, True):
        stack = new_stack()
        vpc = new_vpc(stack)
        endpoint = lambda_network.lambda_interface_endpoint(vpc, wanted=None, subnets=ANY)
        assert endpoint is not None
        if allowed:
            lambda_network.allow_lambda_api(new_function(stack, vpc), endpoint)
        template = assertions.Template.from_stack(stack)
        groups = template.find_resources("AWS::EC2::SecurityGroup")
        assert all("SecurityGroupIngress" not in g["Properties"] for g in groups.values())
        ingress = template.find_resources("AWS::EC2::SecurityGroupIngress")
        assert [
            (r["Properties"]["FromPort"], r["Properties"]["ToPort"]) for r in ingress.values()
        ] == ([(443, 443)] if allowed else [])


def test_a_vpc_without_private_subnets_is_refused() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Public",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)
        ],
    )
    with pytest.raises(ValueError, match="no private subnets"):
        lambda_network.lambda_interface_endpoint(vpc, wanted=None, subnets=ANY)
