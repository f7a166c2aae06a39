"""What the per-VPC endpoint modules share: finding the one endpoint a VPC already has, and
the private subnets an endpoint goes in (`dynamodb_network`, `lambda_network`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2

_Endpoint = TypeVar("_Endpoint", ec2.GatewayVpcEndpoint, ec2.InterfaceVpcEndpoint)

PRIVATE_SUBNET_TYPES = (ec2.SubnetType.PRIVATE_ISOLATED, ec2.SubnetType.PRIVATE_WITH_EGRESS)
"""Where functions go by default, most private first."""


def imported_endpoint_id(endpoint_id: str, vpc: ec2.IVpc) -> str:
    """The id of an imported VPC's endpoint in the importing stack (it has no VPC construct of
    its own to be a child of): naming the import, so asking twice in that stack finds it."""
    return f"{endpoint_id}For{vpc.node.id}"


def find_endpoint(
    vpc: ec2.IVpc,
    endpoint_id: str,
    kind: type[_Endpoint],
    serves: Callable[[ec2.CfnVPCEndpoint], bool],
) -> _Endpoint | None:
    """The endpoint this library put on ``vpc`` (``endpoint_id``), or one of ``kind`` the VPC
    construct already has whose CloudFormation resource ``serves`` the service; else None."""
    ours = vpc.node.try_find_child(endpoint_id) or Stack.of(vpc).node.try_find_child(
        imported_endpoint_id(endpoint_id, vpc)
    )
    if isinstance(ours, kind):
        return ours
    for child in vpc.node.find_all():
        if isinstance(child, ec2.CfnVPCEndpoint) and serves(child):
            parent = child.node.scope
            if isinstance(parent, kind):
                return parent
    return None


def private_subnet_types(vpc: ec2.IVpc, *, needed_by: str) -> list[ec2.SubnetType]:
    """The private subnet types ``vpc`` has, most private first; a ValueError naming
    ``needed_by`` when it has none."""
    present = {
        ec2.SubnetType.PRIVATE_ISOLATED: bool(vpc.isolated_subnets),
        ec2.SubnetType.PRIVATE_WITH_EGRESS: bool(vpc.private_subnets),
    }
    types = [subnet_type for subnet_type in PRIVATE_SUBNET_TYPES if present[subnet_type]]
    if not types:
        raise ValueError(f"vpc has no private subnets for the {needed_by}")
    return types
