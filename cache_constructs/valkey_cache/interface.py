"""IValkeyCache: what a function needs of an L2 cache, whichever variant or origin it has.

`ServerlessValkeyCache`, `ReplicatedValkeyCache` (built here) and `ImportedValkeyCache` (an
existing endpoint) all implement it; `CachedProductService(valkey_cache=...)` takes any of
them. The runtime learns where and how to connect from the ``REDIS_*`` environment that
``grant_connect`` sets (docs/architecture.md, "Environment variables").
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_


@runtime_checkable
class IValkeyCache(Protocol):
    """An L2 cache a function can be granted: endpoint, network and authentication."""

    endpoint_address: str
    """Host name of the endpoint (primary, configuration or serverless endpoint)."""
    endpoint_port: str
    """Port of the endpoint (a string: it may be a CloudFormation attribute)."""
    connections: ec2.Connections
    """The cache's security groups and default port."""

    def grant_connect(self, fn: lambda_.Function) -> iam.Grant:
        """Open the network path, grant the login and set the ``REDIS_*`` environment."""
        ...


def connect_function(
    fn: lambda_.Function,
    *,
    connections: ec2.Connections,
    environment: dict[str, str],
    connect_arns: list[str] | None,
) -> iam.Grant:
    """The grant every variant gives: port from the function, ``elasticache:Connect``, env.

    ``connect_arns`` None means the cache takes no IAM login (``REDIS_AUTH=none``).
    """
    if not fn.is_bound_to_vpc:
        raise ValueError("fn must run in a VPC (it has no security group) to reach the cache")
    connections.allow_default_port_from(fn, "Lambda function to Valkey")
    for name, value in environment.items():
        fn.add_environment(name, value)
    if connect_arns is None:
        return iam.Grant.drop(fn, "connect to a Valkey cache without IAM authentication")
    return iam.Grant.add_to_principal(
        grantee=fn, actions=["elasticache:Connect"], resource_arns=connect_arns
    )
