"""How functions in a VPC reach DynamoDB: one gateway endpoint per VPC, and its prefix list.

AWS allows one gateway endpoint per service on a route table, so a VPC gets exactly one
DynamoDB gateway endpoint however many services use it, in one stack or several: it is a
child of the VPC construct itself (id ``DynamoDbGatewayEndpoint``), so it lands in the VPC's
stack, and every later caller finds it there. One the VPC already has (e.g. from
``vpc.add_gateway_endpoint``) is reused.

A VPC this app only imports (``Vpc.from_lookup``, ``Vpc.from_vpc_attributes``) belongs to
someone else, who usually routes DynamoDB already: nothing is added unless the caller asks
(``wanted=True``), and then the endpoint is a child of that imported VPC construct, so ask in
one stack per VPC only.

Security groups allow HTTPS to DynamoDB through its managed prefix list
(``com.amazonaws.<region>.dynamodb``), never to 0.0.0.0/0. CloudFormation cannot name the
prefix list's id, so a custom resource looks it up once per stack (``ec2:DescribePrefixLists``).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from cache_constructs._custom_resources import acknowledge_provider
from cache_constructs.log_groups import LogGroupSettings, custom_resource_log_group
from cache_constructs.vpc_endpoints import find_endpoint, imported_endpoint_id, private_subnet_types

GATEWAY_ENDPOINT_ID = "DynamoDbGatewayEndpoint"
"""The construct id of the one DynamoDB gateway endpoint, a child of the VPC."""
PREFIX_LIST_ID = "DynamoDbPrefixList"
"""The construct id of the per-stack prefix-list lookup."""


def dynamodb_gateway_endpoint(
    vpc: ec2.IVpc, *, wanted: bool | None, subnets: ec2.SubnetSelection
) -> ec2.IGatewayVpcEndpoint | None:
    """The VPC's one DynamoDB gateway endpoint, created on first use; None when not wanted.

    :param vpc: the VPC of the functions.
    :param wanted: True: make sure there is one; None (default): one for a VPC of this app,
        none for an imported VPC; False: none (the VPC routes DynamoDB by other means).
    :param subnets: the caller's subnets; an imported VPC's endpoint routes those (a VPC of
        this app gets it on every private subnet, whoever asks first).
    """
    if wanted is False:
        return None
    existing = _find_endpoint(vpc)
    if existing is not None:
        return existing
    if isinstance(vpc, ec2.Vpc):
        # A child of the VPC construct: it lands in the VPC's own stack, found there by id.
        return ec2.GatewayVpcEndpoint(
            vpc,
            GATEWAY_ENDPOINT_ID,
            vpc=vpc,
            service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
            subnets=_private_subnets(vpc),
        )
    if wanted is None:
        return None
    # An imported VPC is no Python construct to add children to: its stack holds the
    # endpoint under an id naming the import, so asking twice in that stack finds it.
    stack = Stack.of(vpc)
    return ec2.GatewayVpcEndpoint(
        stack,
        _imported_endpoint_id(vpc),
        vpc=vpc,
        service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
        subnets=[subnets],
    )


def _imported_endpoint_id(vpc: ec2.IVpc) -> str:
    return imported_endpoint_id(GATEWAY_ENDPOINT_ID, vpc)


def _find_endpoint(vpc: ec2.IVpc) -> ec2.GatewayVpcEndpoint | None:
    """The DynamoDB gateway endpoint among the VPC construct's children, if any."""
    return find_endpoint(vpc, GATEWAY_ENDPOINT_ID, ec2.GatewayVpcEndpoint, _serves_dynamodb)


def _serves_dynamodb(endpoint: ec2.CfnVPCEndpoint) -> bool:
    service = endpoint.service_name
    gateway = endpoint.vpc_endpoint_type in (None, "Gateway")
    return gateway and isinstance(service, str) and ".dynamodb" in service


def _private_subnets(vpc: ec2.IVpc) -> list[ec2.SubnetSelection]:
    types = private_subnet_types(vpc, needed_by="DynamoDB gateway endpoint")
    return [ec2.SubnetSelection(subnet_type=subnet_type) for subnet_type in types]


def dynamodb_prefix_list_id(scope: Construct, log_settings: LogGroupSettings) -> str:
    """The id of the region's DynamoDB managed prefix list (a token), looked up once per stack.

    ``log_settings`` shapes the custom resource provider's log group if this lookup is the
    first custom resource of the stack.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(PREFIX_LIST_ID)
    if not isinstance(existing, cr.AwsCustomResource):
        existing = _build_prefix_list_lookup(stack, log_settings)
    return existing.get_response_field("PrefixLists.0.PrefixListId")


def _build_prefix_list_lookup(stack: Stack, log_settings: LogGroupSettings) -> cr.AwsCustomResource:
    call = cr.AwsSdkCall(
        service="EC2",
        action="describePrefixLists",
        parameters={
            "Filters": [
                {"Name": "prefix-list-name", "Values": [f"com.amazonaws.{Aws.REGION}.dynamodb"]}
            ]
        },
        physical_resource_id=cr.PhysicalResourceId.of(f"dynamodb-prefix-list-{Aws.REGION}"),
        # The answer also lists every CIDR; keep only the id (custom resource data is 4 KB).
        output_paths=["PrefixLists.0.PrefixListId"],
    )
    lookup = cr.AwsCustomResource(
        stack,
        PREFIX_LIST_ID,
        on_create=call,
        on_update=call,
        policy=cr.AwsCustomResourcePolicy.from_statements(
            [iam.PolicyStatement(actions=["ec2:DescribePrefixLists"], resources=["*"])]
        ),
        install_latest_aws_sdk=False,
        log_group=custom_resource_log_group(stack, log_settings),
    )
    Validations.of(lookup).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            reason=(
                "ec2:DescribePrefixLists has no resource-level permissions; the lookup only "
                "reads the id of the region's DynamoDB managed prefix list"
            ),
        )
    )
    acknowledge_provider(stack)
    return lookup
