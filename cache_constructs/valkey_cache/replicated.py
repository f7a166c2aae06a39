"""ReplicatedValkeyCache: an ElastiCache for Valkey replication group (node-based).

Predictable latency and cost at steady load: a primary with replicas (Multi-AZ with
automatic failover by default), optionally sharded (cluster mode). Engine ``valkey`` is set
explicitly (the resource defaults to redis), TLS is required, encryption at rest is on.
Metrics combine the member clusters' ``CacheClusterId`` dimensions.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, ArnFormat, Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from cache_constructs._validation import is_unresolved
from cache_constructs.valkey_cache.access import ENGINE, NAMESPACE
from cache_constructs.valkey_cache.base import ValkeyCache
from cache_constructs.valkey_cache.props import ReplicatedValkeyCacheProps


class ReplicatedValkeyCache(ValkeyCache):
    """An ``AWS::ElastiCache::ReplicationGroup`` for Valkey with IAM-authenticated RBAC.

    :param scope: parent construct.
    :param id_: construct id.
    :param vpc: the VPC the cache lives in.
    :param vpc_subnets: private subnets for the cache. Default: the VPC's private subnets.
        Public subnets are refused.
    :param props: `ReplicatedValkeyCacheProps`. Default: every default there (one
        ``cache.r7g.large`` primary and one replica, Multi-AZ, no cluster mode, port 6379).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        props: ReplicatedValkeyCacheProps | None = None,
    ) -> None:
        props = props or ReplicatedValkeyCacheProps()
        if not isinstance(props, ReplicatedValkeyCacheProps):
            raise ValueError(
                f"props must be a ReplicatedValkeyCacheProps; got {type(props).__name__}"
            )
        super().__init__(
            scope,
            id_,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            props=props,
            port=props.port,
            cluster_mode=props.cluster_mode,
        )
        self.num_shards = props.num_shards
        self.replicas_per_shard = props.replicas_per_shard
        #: The subnet group the replication group's nodes are placed in.
        self.subnet_group = self._build_subnet_group()
        #: The ``AWS::ElastiCache::ReplicationGroup``.
        self.replication_group = self._build_replication_group(props)
        self.cache_arn = Stack.of(self).format_arn(
            service="elasticache",
            resource="replicationgroup",
            resource_name=self.cache_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        if self.cluster_mode:
            self.endpoint_address = self.replication_group.attr_configuration_end_point_address
            self.endpoint_port = self.replication_group.attr_configuration_end_point_port
        else:
            self.endpoint_address = self.replication_group.attr_primary_end_point_address
            self.endpoint_port = self.replication_group.attr_primary_end_point_port

    # --- building blocks (override in a subclass to change one part) -----------------------

    def _build_subnet_group(self) -> elasticache.CfnSubnetGroup:
        return elasticache.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description=f"Private subnets of the {self.cache_name} Valkey cache",
            subnet_ids=self.subnet_ids,
            cache_subnet_group_name=self.cache_name,
        )

    def _build_replication_group(
        self, props: ReplicatedValkeyCacheProps
    ) -> elasticache.CfnReplicationGroup:
        major = self.engine_version.split(".")[0]
        cluster_suffix = ".cluster.on" if self.cluster_mode else ""
        shard_props: dict[str, object]
        if self.cluster_mode:
            shard_props = {
                "cluster_mode": "enabled",
                "num_node_groups": self.num_shards,
                "replicas_per_node_group": self.replicas_per_shard,
            }
        else:
            shard_props = {
                "cluster_mode": "disabled",
                "num_cache_clusters": 1 + self.replicas_per_shard,
            }
        group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_id=self.cache_name,
            replication_group_description="L2 cache (Valkey replication group)",
            engine=ENGINE,
            engine_version=self.engine_version,
            cache_parameter_group_name=f"default.valkey{major}{cluster_suffix}",
            cache_node_type=props.node_type,
            port=self.port,
            cache_subnet_group_name=self.subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            user_group_ids=[self.user_group_id],
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            at_rest_encryption_enabled=True,
            kms_key_id=self.encryption_key.key_arn if self.encryption_key else None,
            multi_az_enabled=props.multi_az,
            automatic_failover_enabled=props.multi_az or self.cluster_mode,
            auto_minor_version_upgrade=True,
            snapshot_retention_limit=props.snapshot_retention_days,
            **shard_props,  # type: ignore[arg-type]
        )
        Validations.of(group).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-AEC6",
                reason="RBAC with IAM authentication (a user group) replaces the AUTH token",
            )
        )
        return group

    # --- metrics (dimension CacheClusterId, one per member) ---------------------------------

    @property
    def member_cluster_ids(self) -> list[str]:
        """CacheClusterId of every node of the group.

        Without cluster mode: "<id>-001", "<id>-002", ...; with it: "<id>-0001-001", ...
        """
        if is_unresolved(self.num_shards) or is_unresolved(self.replicas_per_shard):
            raise ValueError(
                "num_shards and replicas_per_shard must be numbers, not tokens, to name the "
                "member clusters for per-node metrics"
            )
        nodes = range(1, 2 + self.replicas_per_shard)
        if not self.cluster_mode:
            return [f"{self.cache_name}-{node:03d}" for node in nodes]
        return [
            f"{self.cache_name}-{shard:04d}-{node:03d}"
            for shard in range(1, 1 + self.num_shards)
            for node in nodes
        ]

    def _node_metric(
        self, metric_name: str, statistic: str, combine: str, label: str
    ) -> cloudwatch.IMetric:
        metrics = [
            cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=metric_name,
                dimensions_map={"CacheClusterId": member},
                statistic=statistic,
                period=Duration.minutes(1),
            )
            for member in self.member_cluster_ids
        ]
        if len(metrics) == 1:
            return metrics[0]
        ids = [f"m{i}" for i in range(len(metrics))]
        return cloudwatch.MathExpression(
            expression=f"{combine}([{','.join(ids)}])",
            using_metrics=dict(zip(ids, metrics, strict=True)),
            label=label,
            period=Duration.minutes(1),
        )

    def metric_cpu_utilization(self) -> cloudwatch.IMetric:
        """Busiest node's EngineCPUUtilization (%)."""
        return self._node_metric(
            "EngineCPUUtilization", "Average", "MAX", "Engine CPU % (max node)"
        )

    def metric_memory_usage_percent(self) -> cloudwatch.IMetric:
        """Fullest node's DatabaseMemoryUsagePercentage."""
        return self._node_metric(
            "DatabaseMemoryUsagePercentage", "Average", "MAX", "Memory % (max node)"
        )

    def metric_evictions(self) -> cloudwatch.IMetric:
        """Keys evicted (sum over nodes)."""
        return self._node_metric("Evictions", "Sum", "SUM", "Evictions")

    def metric_current_connections(self) -> cloudwatch.IMetric:
        """Client connections (sum over nodes)."""
        return self._node_metric("CurrConnections", "Average", "SUM", "Connections")

    def metric_replication_lag(self) -> cloudwatch.IMetric | None:
        """Worst replica's ReplicationLag (seconds); None without replicas."""
        if self.replicas_per_shard == 0:
            return None
        return self._node_metric("ReplicationLag", "Maximum", "MAX", "Replication lag (max)")

    def metric_cache_hit_rate(self) -> cloudwatch.IMetric:
        """CacheHitRate (%) of the lowest node."""
        return self._node_metric("CacheHitRate", "Average", "MIN", "Hit rate % (min node)")
