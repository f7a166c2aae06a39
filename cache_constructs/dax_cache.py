"""DaxCache: a DAX cluster in front of one DynamoDB table, for item reads on an L2 miss.

Secure by default: encryption at rest on, TLS on the cluster endpoint forced (it defaults to
NONE in CloudFormation and cannot be changed after creation), a service role limited to the
table and its indexes, its own security group with no ingress until a function is granted.
The record (item cache) and query TTLs come from a CachePolicy's DAX TTL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dax as dax
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cache_constructs.contract import environment as env_names
from cache_constructs.contract.policy import CachePolicy

from ._validation import (
    is_unresolved,
    require_exactly_one,
    select_private_subnet_ids,
)

DAX_TLS_PORT = 9111
"""The port of a DAX cluster whose endpoint encryption is TLS."""
NAMESPACE = "AWS/DAX"

READ_ACTIONS: tuple[str, ...] = (
    "dax:GetItem",
    "dax:BatchGetItem",
    "dax:Query",
    "dax:ConditionCheckItem",
)
"""What `grant_read` allows on the cluster (no Scan: the service never scans)."""
WRITE_ACTIONS: tuple[str, ...] = (
    "dax:PutItem",
    "dax:UpdateItem",
    "dax:DeleteItem",
    "dax:BatchWriteItem",
)
"""What `grant_write` allows on the cluster."""
TABLE_ACTIONS: tuple[str, ...] = (
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
"""What DAX itself may do on the table to serve the granted calls."""

_INDEX_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_NODE_TYPE = re.compile(r"^dax\.[a-z0-9]+\.[a-z0-9]+$")
_CLUSTER_NAME = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,18}[a-zA-Z0-9]$")


class DaxCache(Construct):
    """A DAX cluster (SSE on, TLS endpoint) with its role, parameter group and network.

    :param vpc: the VPC of the cluster.
    :param table: the table DAX fronts; the built role may read and write it and its
        indexes. Give `table` or `role`, not both.
    :param role: an existing role DAX assumes (instead of one built from `table`).
    :param index_names: the table's indexes the built role may query through DAX.
        Default: none (the service keeps its category listing out of DAX). Named, not
        ``index/*``, so the role holds no wildcard.
    :param vpc_subnets: private subnets. Default: the VPC's private subnets (public refused).
    :param security_group: an existing security group. Default: one with no ingress and no
        egress is created.
    :param node_type: node type. Default "dax.t3.small" (use r-family nodes in production).
    :param replication_factor: nodes: 1 (no failover) or 3..10. Default 3 (one per AZ).
    :param cluster_name: cluster name (1..20 letters, digits, hyphens). Default: generated
        by CloudFormation.
    :param cache_policy: the policy whose DAX TTL sets `record-ttl-millis` and
        `query-ttl-millis` of a parameter group built here. Default `CachePolicy.SEMI_STATIC`.
    :param parameter_group_name: an existing parameter group instead (excludes cache_policy).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        table: dynamodb.ITable | None = None,
        role: iam.IRole | None = None,
        index_names: Sequence[str] = (),
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_group: ec2.ISecurityGroup | None = None,
        node_type: str = "dax.t3.small",
        replication_factor: int = 3,
        cluster_name: str | None = None,
        cache_policy: CachePolicy | None = None,
        parameter_group_name: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        require_exactly_one("role", role, "table", table)
        if role is None and table is None:
            raise ValueError("give table (a role is built for it) or role")
        require_exactly_one(
            "parameter_group_name", parameter_group_name, "cache_policy", cache_policy
        )
        if not is_unresolved(node_type) and not _NODE_TYPE.match(node_type):
            raise ValueError(f"node_type must look like 'dax.r5.large'; got {node_type!r}")
        if not is_unresolved(replication_factor) and (
            isinstance(replication_factor, bool)
            or not isinstance(replication_factor, int)
            or not (replication_factor == 1 or 3 <= replication_factor <= 10)
        ):
            raise ValueError(f"replication_factor must be 1 or 3..10; got {replication_factor!r}")
        if (
            cluster_name is not None
            and not is_unresolved(cluster_name)
            and not _CLUSTER_NAME.match(cluster_name)
        ):
            raise ValueError(
                "cluster_name must be 2..20 letters, digits or single hyphens, start with a "
                f"letter and not end with a hyphen; got {cluster_name!r}"
            )
        self.cache_policy = cache_policy
        """The policy of the built parameter group (None when an existing one was given)."""
        if parameter_group_name is None:
            self.cache_policy = cache_policy or CachePolicy.SEMI_STATIC
            if "dax" not in self.cache_policy.layers:
                raise ValueError(
                    f"cache_policy {self.cache_policy.name!r} does not use the 'dax' layer; "
                    "give a policy with a DAX TTL"
                )
        self.table = table
        if role is not None and index_names:
            raise ValueError("index_names only applies to the role built for table, not to role")
        for index_name in index_names:
            if not is_unresolved(index_name) and not _INDEX_NAME.match(index_name):
                raise ValueError(
                    f"index_names must hold DynamoDB index names (3..255 of A-Za-z0-9_.-); "
                    f"got {index_name!r}"
                )
        self.index_names = tuple(index_names)

        self.subnet_ids = select_private_subnet_ids("vpc_subnets", vpc, vpc_subnets)
        self.security_group = security_group or self._build_security_group(vpc)
        """The cluster's security group: grants open it to one function on port 9111."""
        self.connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(DAX_TLS_PORT)
        )
        self.role: iam.IRole = role or self._build_role()
        """The role DAX assumes to reach the table."""
        self.subnet_group = self._build_subnet_group()
        self.parameter_group: dax.CfnParameterGroup | None = None
        """The parameter group built from `cache_policy` (None when a name was given)."""
        if parameter_group_name is None:
            self.parameter_group = self._build_parameter_group()
            self.parameter_group_name: str = self.parameter_group.ref
        else:
            self.parameter_group_name = parameter_group_name
        self.cluster = self._build_cluster(
            node_type=node_type, replication_factor=replication_factor, cluster_name=cluster_name
        )
        """The `AWS::DAX::Cluster`."""
        self.cluster_name: str = self.cluster.ref
        self.cluster_arn: str = self.cluster.attr_arn
        self.endpoint_url: str = self.cluster.attr_cluster_discovery_endpoint_url
        """The ``daxs://`` cluster discovery endpoint (the runtime's DAX_ENDPOINT)."""

    # --- building blocks (override in a subclass to change one part) -----------------------

    def _build_security_group(self, vpc: ec2.IVpc) -> ec2.ISecurityGroup:
        return ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="DAX cluster: TLS (9111) ingress only from granted functions",
            allow_all_outbound=False,
        )

    def _build_role(self) -> iam.IRole:
        assert self.table is not None
        role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal("dax.amazonaws.com"),
            description="DAX cluster access to its table and the table's indexes",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(TABLE_ACTIONS),
                resources=[
                    self.table.table_arn,
                    *(f"{self.table.table_arn}/index/{name}" for name in self.index_names),
                ],
            )
        )
        return role

    def _build_subnet_group(self) -> dax.CfnSubnetGroup:
        return dax.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description="Private subnets of the DAX cluster",
            subnet_ids=self.subnet_ids,
        )

    def _build_parameter_group(self) -> dax.CfnParameterGroup:
        assert self.cache_policy is not None
        ttl_millis = str(self.cache_policy.dax_ttl_seconds * 1000)
        return dax.CfnParameterGroup(
            self,
            "ParameterGroup",
            description=f"DAX TTLs of the {self.cache_policy.name} cache policy",
            # The query cache is not invalidated by writes: the service keeps lists out of
            # DAX, and the TTL bounds what a caller that does query through DAX may see.
            parameter_name_values={
                "record-ttl-millis": ttl_millis,
                "query-ttl-millis": ttl_millis,
            },
        )

    def _build_cluster(
        self, *, node_type: str, replication_factor: int, cluster_name: str | None
    ) -> dax.CfnCluster:
        cluster = dax.CfnCluster(
            self,
            "Cluster",
            iam_role_arn=self.role.role_arn,
            node_type=node_type,
            replication_factor=replication_factor,
            cluster_name=cluster_name,
            description="Item cache in front of the product table",
            cluster_endpoint_encryption_type="TLS",
            sse_specification=dax.CfnCluster.SSESpecificationProperty(sse_enabled=True),
            subnet_group_name=self.subnet_group.ref,
            parameter_group_name=self.parameter_group_name,
            security_group_ids=[self.security_group.security_group_id],
        )
        # DAX checks that it can assume the role while the cluster is created.
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            cluster.node.add_dependency(policy)
        return cluster

    # --- grants --------------------------------------------------------------------------

    def _grant(self, fn: lambda_.Function, actions: tuple[str, ...]) -> iam.Grant:
        if not fn.is_bound_to_vpc:
            raise ValueError("fn must run in a VPC (it has no security group) to reach DAX")
        self.connections.allow_default_port_from(fn, "Lambda function to DAX (TLS)")
        for name, value in env_names.dax_env(self.endpoint_url).items():
            fn.add_environment(name, value)
        return iam.Grant.add_to_principal(
            grantee=fn, actions=list(actions), resource_arns=[self.cluster_arn]
        )

    def grant_read(self, fn: lambda_.Function) -> iam.Grant:
        """Let `fn` read items through DAX: network, dax: read actions, DAX_ENDPOINT."""
        return self._grant(fn, READ_ACTIONS)

    def grant_write(self, fn: lambda_.Function) -> iam.Grant:
        """Let `fn` write items through DAX: network, dax: write actions, DAX_ENDPOINT."""
        return self._grant(fn, WRITE_ACTIONS)

    def grant_read_write(self, fn: lambda_.Function) -> iam.Grant:
        """Both `grant_read` and `grant_write`."""
        return self._grant(fn, READ_ACTIONS + WRITE_ACTIONS)

    # --- metrics -------------------------------------------------------------------------

    def metric(self, metric_name: str, *, statistic: str = "Sum") -> cloudwatch.Metric:
        """Any `AWS/DAX` metric of this cluster (dimension ClusterId), 1-minute period."""
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"ClusterId": self.cluster_name},
            statistic=statistic,
            period=Duration.minutes(1),
        )

    def metric_item_cache_hits(self) -> cloudwatch.Metric:
        """Item cache hits (GetItem/BatchGetItem served from DAX)."""
        return self.metric("ItemCacheHits")

    def metric_item_cache_misses(self) -> cloudwatch.Metric:
        """Item cache misses (DAX read the table)."""
        return self.metric("ItemCacheMisses")

    def metric_query_cache_hits(self) -> cloudwatch.Metric:
        """Query cache hits."""
        return self.metric("QueryCacheHits")

    def metric_query_cache_misses(self) -> cloudwatch.Metric:
        """Query cache misses."""
        return self.metric("QueryCacheMisses")

    def metric_evicted_size(self) -> cloudwatch.Metric:
        """Bytes evicted from the caches to make room (a full cache)."""
        return self.metric("EvictedSize")

    def metric_error_request_count(self) -> cloudwatch.Metric:
        """Requests that ended in a user error (4xx-like)."""
        return self.metric("ErrorRequestCount")

    def metric_fault_request_count(self) -> cloudwatch.Metric:
        """Requests that ended in an internal DAX fault (5xx-like)."""
        return self.metric("FaultRequestCount")

    def metric_cpu_utilization(self) -> cloudwatch.Metric:
        """Busiest node's CPU utilization (%)."""
        return self.metric("CPUUtilization", statistic="Maximum")
