"""ServerlessValkeyCache: ElastiCache Serverless for Valkey (no sizing, pay per use).

Always TLS, encryption at rest and the cluster protocol on port 6379; usage limits on stored
data and ECPU/s bound the bill. Metrics use the serverless dimension ``clusterId``
(lowercase), not the node dimensions of a replication group.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from cache_constructs.valkey_cache.access import DEFAULT_PORT, ENGINE, NAMESPACE
from cache_constructs.valkey_cache.base import ValkeyCache
from cache_constructs.valkey_cache.props import ServerlessValkeyCacheProps


class ServerlessValkeyCache(ValkeyCache):
    """An ``AWS::ElastiCache::ServerlessCache`` for Valkey with IAM-authenticated RBAC.

    :param scope: parent construct.
    :param id_: construct id.
    :param vpc: the VPC the cache lives in.
    :param vpc_subnets: private subnets for the cache. Default: the VPC's private subnets.
        Public subnets are refused.
    :param props: `ServerlessValkeyCacheProps`. Default: every default there (10 GB, 50000
        ECPU/s, engine 8, generated name).
    """

    serverless = True

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        props: ServerlessValkeyCacheProps | None = None,
    ) -> None:
        props = props or ServerlessValkeyCacheProps()
        if not isinstance(props, ServerlessValkeyCacheProps):
            raise ValueError(
                f"props must be a ServerlessValkeyCacheProps; got {type(props).__name__}"
            )
        super().__init__(
            scope,
            id_,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            props=props,
            port=DEFAULT_PORT,
            cluster_mode=True,
        )
        self.max_data_storage_gb = props.max_data_storage_gb
        self.max_ecpu_per_second = props.max_ecpu_per_second
        #: The ``AWS::ElastiCache::ServerlessCache``.
        self.serverless_cache = self._build_serverless_cache()
        self.cache_arn = self.serverless_cache.attr_arn
        self.endpoint_address = self.serverless_cache.attr_endpoint_address
        self.endpoint_port = self.serverless_cache.attr_endpoint_port

    def _build_serverless_cache(self) -> elasticache.CfnServerlessCache:
        return elasticache.CfnServerlessCache(
            self,
            "ServerlessCache",
            engine=ENGINE,
            serverless_cache_name=self.cache_name,
            major_engine_version=self.engine_version.split(".")[0],
            description="L2 cache (Valkey serverless)",
            subnet_ids=self.subnet_ids,
            security_group_ids=[self.security_group.security_group_id],
            user_group_id=self.user_group_id,
            kms_key_id=self.encryption_key.key_arn if self.encryption_key else None,
            snapshot_retention_limit=self.props.snapshot_retention_days,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    unit="GB", maximum=self.max_data_storage_gb
                ),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=self.max_ecpu_per_second
                ),
            ),
        )

    # --- metrics (dimension clusterId) ------------------------------------------------------

    def _metric(self, metric_name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"clusterId": self.cache_name},
            statistic=statistic,
            period=Duration.minutes(1),
        )

    def metric_cpu_utilization(self) -> cloudwatch.IMetric:
        """ECPU used as a percentage of the ``max_ecpu_per_second`` limit."""
        return cloudwatch.MathExpression(
            expression=f"100 * ecpu / (60 * {self.max_ecpu_per_second})",
            using_metrics={"ecpu": self._metric("ElastiCacheProcessingUnits", "Sum")},
            label="ECPU % of limit",
            period=Duration.minutes(1),
        )

    def metric_memory_usage_percent(self) -> cloudwatch.IMetric:
        """Stored bytes as a percentage of the ``max_data_storage_gb`` limit."""
        limit_bytes = self.max_data_storage_gb * 1_000_000_000
        return cloudwatch.MathExpression(
            expression=f"100 * bytes / {limit_bytes}",
            using_metrics={"bytes": self._metric("BytesUsedForCache", "Maximum")},
            label="Storage % of limit",
            period=Duration.minutes(1),
        )

    def metric_evictions(self) -> cloudwatch.IMetric:
        """Keys evicted."""
        return self._metric("Evictions", "Sum")

    def metric_current_connections(self) -> cloudwatch.IMetric:
        """Client connections."""
        return self._metric("CurrConnections", "Average")

    def metric_replication_lag(self) -> cloudwatch.IMetric | None:
        """None: a serverless cache reports no replication lag."""
        return None

    def metric_cache_hit_rate(self) -> cloudwatch.IMetric:
        """CacheHitRate (%)."""
        return self._metric("CacheHitRate", "Average")
