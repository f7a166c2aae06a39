"""How functions in a VPC reach the Lambda API without NAT: one interface endpoint per VPC.

The stream function hands push notifications to a publisher function outside the VPC by an
asynchronous invoke (`InvalidationChannel.grant_handover`); in isolated subnets the Lambda API
is reached through an interface endpoint (``com.amazonaws.<region>.lambda``) with private DNS,
so the SDK's usual endpoint name resolves to it and no code or setting changes.

Private DNS makes the endpoint answer for the whole VPC, and a VPC can hold only one endpoint
with private DNS per service, so there is exactly one per VPC however many services use it: a
child of the VPC construct itself (id ``LambdaInterfaceEndpoint``), found there by every later
caller, the way `dynamodb_network` shares the DynamoDB gateway endpoint. One the VPC already
has (built by this app) is reused.

Its security group admits nothing by default (``open=False``): each function that uses the
endpoint is allowed in on 443, and gets 443 out to that security group only
(`allow_lambda_api`). Anything else in the VPC that calls the Lambda API must be allowed the
same way, since the private DNS name now points every caller of the VPC at the endpoint.

A VPC this app only imports belongs to someone else: nothing is added unless the caller asks
(``wanted=True``); the endpoint is then a child of the importing stack, so ask in one stack per
VPC only.
"""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

from cache_constructs.vpc_endpoints import find_endpoint, imported_endpoint_id, private_subnet_types

INTERFACE_ENDPOINT_ID = "LambdaInterfaceEndpoint"
"""The construct id of the one Lambda interface endpoint, a child of the VPC."""
#: ``com.amazonaws.<region>.lambda``, as CDK renders it (the name may end in a token, empty
#: unless the endpoint is dual-stack).
_LAMBDA_SERVICE = re.compile(r"\.lambda(\$\{Token\[[A-Za-z0-9._-]+\]\})?$")


def lambda_interface_endpoint(
    vpc: ec2.IVpc, *, wanted: bool | None, subnets: ec2.SubnetSelection
) -> ec2.InterfaceVpcEndpoint | None:
    """The VPC's one Lambda interface endpoint, created on first use; None when not wanted.

    :param vpc: the VPC of the functions.
    :param wanted: True: make sure there is one; None (default): one for a VPC of this app,
        none for an imported VPC; False: none (the VPC reaches the Lambda API otherwise).
    :param subnets: the caller's subnets; an imported VPC's endpoint goes there (one per AZ).
        A VPC of this app gets it in its private subnets, one per AZ, whoever asks first.
    """
    if wanted is False:
        return None
    existing = _find_endpoint(vpc)
    if existing is not None:
        return existing
    if isinstance(vpc, ec2.Vpc):
        return _build_endpoint(vpc, vpc, INTERFACE_ENDPOINT_ID, _private_subnets(vpc))
    if wanted is None:
        return None
    selection = ec2.SubnetSelection(
        subnet_type=subnets.subnet_type,
        subnet_group_name=subnets.subnet_group_name,
        subnets=subnets.subnets,
        availability_zones=subnets.availability_zones,
        one_per_az=True,
    )
    return _build_endpoint(Stack.of(vpc), vpc, _imported_endpoint_id(vpc), selection)


def allow_lambda_api(function: lambda_.IFunction, endpoint: ec2.IInterfaceVpcEndpoint) -> None:
    """Let ``function`` call the Lambda API through ``endpoint``: 443 in, 443 out, nothing else.

    The endpoint's security group admits 443 from the function's security groups, and the
    function's security groups (built without ``allow_all_outbound``) get 443 out to the
    endpoint's security group only. Asked from the function's side, so that both rules land
    in the function's stack when the endpoint lives in the VPC's: the function's stack then
    depends on the VPC's, never the other way round.
    """
    function.connections.allow_to(
        endpoint,
        ec2.Port.tcp(443),
        "HTTPS to the Lambda API (push handover) through the interface endpoint",
    )


def _build_endpoint(
    scope: ec2.IVpc | Stack, vpc: ec2.IVpc, id_: str, subnets: ec2.SubnetSelection
) -> ec2.InterfaceVpcEndpoint:
    security_group = ec2.SecurityGroup(
        scope,  # type: ignore[arg-type]
        f"{id_}SecurityGroup",
        vpc=vpc,
        description="Lambda interface endpoint: 443 from the functions allowed to use it only",
        allow_all_outbound=False,
    )
    return ec2.InterfaceVpcEndpoint(
        scope,  # type: ignore[arg-type]
        id_,
        vpc=vpc,
        service=ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
        private_dns_enabled=True,
        subnets=subnets,
        security_groups=[security_group],
        # No rule for the whole VPC's CIDR: each function is admitted by allow_lambda_api.
        open=False,
    )


def _imported_endpoint_id(vpc: ec2.IVpc) -> str:
    return imported_endpoint_id(INTERFACE_ENDPOINT_ID, vpc)


def _find_endpoint(vpc: ec2.IVpc) -> ec2.InterfaceVpcEndpoint | None:
    """The Lambda interface endpoint among the VPC construct's children, if any."""
    return find_endpoint(vpc, INTERFACE_ENDPOINT_ID, ec2.InterfaceVpcEndpoint, _serves_lambda)


def _serves_lambda(endpoint: ec2.CfnVPCEndpoint) -> bool:
    service = endpoint.service_name
    interface = endpoint.vpc_endpoint_type == "Interface"
    return interface and isinstance(service, str) and bool(_LAMBDA_SERVICE.search(service))


def _private_subnets(vpc: ec2.IVpc) -> ec2.SubnetSelection:
    """Isolated subnets if the VPC has them (where functions go by default), else egress ones."""
    (subnet_type, *_) = private_subnet_types(vpc, needed_by="Lambda interface endpoint")
    return ec2.SubnetSelection(subnet_type=subnet_type, one_per_az=True)
