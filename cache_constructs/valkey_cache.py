"""ValkeyCache: the L2 cache, an ElastiCache for Valkey serverless cache or replication group.

Secure by default: TLS in transit and encryption at rest always on (optionally with a
customer KMS key), RBAC with one IAM-authenticated user scoped to the runtime's keys
(``~pc:*``) and commands, the default user the user group requires switched off, its own
security group with no ingress until `grant_connect` opens it to one function.
"""

from __future__ import annotations

import hashlib
import re

from aws_cdk import Acknowledgment, ArnFormat, Duration, Names, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cache_constructs.contract import environment as env_names

from ._validation import (
    is_unresolved,
    require_exactly_one,
    require_int_range,
    require_one_of,
    select_private_subnet_ids,
)

MODES: tuple[str, ...] = ("serverless", "replication-group")
ENGINE = "valkey"
ENGINE_VERSIONS: tuple[str, ...] = ("7.2", "8.0", "8.1")
DEFAULT_PORT = 6379
NAMESPACE = "AWS/ElastiCache"

RUNTIME_COMMANDS: tuple[str, ...] = (
    # data: envelopes, tombstones, leases, list generations
    "get",
    "getrange",
    "mget",
    "set",
    "del",
    "unlink",
    "exists",
    "incr",
    "expire",
    "pexpire",
    "pttl",
    "hget",
    "hincrby",
    "hmget",
    "hgetall",
    "hset",
    # the atomic fill / write-through / invalidation scripts
    "eval",
    "evalsha",
    "script|load",
    "script|exists",
    # connection and cluster discovery (redis-py's cluster client)
    "ping",
    "readonly",
    "command",
    "cluster|slots",
    "cluster|shards",
    "client|setinfo",
)
"""The commands the cache runtime needs (cache_constructs/runtime, its Lua scripts included:
ACLs apply inside scripts too). tests/constructs/test_valkey_cache.py checks both."""

KEY_PATTERN = "pc:*"
"""Every key the runtime writes starts with `pc:` (docs/architecture.md, L2 key layout)."""

DEFAULT_ACCESS_STRING = f"on ~{KEY_PATTERN} -@all " + " ".join(f"+{c}" for c in RUNTIME_COMMANDS)
"""RBAC access string of the runtime's user: its keys and commands, nothing else."""

# Words in an access string that would hand out more than the runtime needs.
_FORBIDDEN_WORDS = ("+@all", "allcommands", "allkeys", "~*", "%rw~*", "%r~*", "%w~*")
_FORBIDDEN_CATEGORIES = ("+@dangerous", "+@admin")
_USER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_NODE_TYPE = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
_CACHE_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,38}[a-z0-9]$")


class ValkeyCache(Construct):
    """ElastiCache for Valkey with TLS, encryption at rest and IAM-authenticated RBAC.

    :param vpc: the VPC the cache lives in.
    :param mode: "serverless" (default: `AWS::ElastiCache::ServerlessCache`) or
        "replication-group" (`AWS::ElastiCache::ReplicationGroup`).
    :param vpc_subnets: private subnets for the cache. Default: the VPC's private subnets.
        Public subnets are refused.
    :param security_group: an existing security group. Default: one is created with no
        ingress and no egress.
    :param cache_name: serverless cache name / replication group id (lowercase, 2..40).
        Default: generated from the construct path. It is part of the IAM auth token.
    :param engine_version: "7.2", "8.0" (default) or "8.1"; serverless uses its major.
    :param encryption_key: customer managed KMS key for encryption at rest.
        Default: the AWS owned key (encryption at rest is always on).

    Serverless only (ValueError in the other mode):

    :param max_data_storage_gb: usage limit, 1..5000 GB. Default 10.
    :param max_ecpu_per_second: usage limit, 1000..15000000. Default 50000.

    Replication group only (ValueError in serverless mode, which always listens on 6379):

    :param port: 1024..65535. Default 6379.
    :param node_type: node type. Default "cache.r7g.large".
    :param cluster_mode: cluster mode (sharding). Default False.
    :param num_shards: node groups with cluster mode, 1..500. Default 1 (must stay 1 without).
    :param replicas_per_shard: replicas per node group, 0..5. Default 1.
    :param multi_az: Multi-AZ with automatic failover (needs a replica). Default True.

    Both modes:

    :param snapshot_retention_days: daily snapshots kept, 0..35. Default 1.
    :param access_string: RBAC access string of the runtime's user. Default
        `DEFAULT_ACCESS_STRING`. Must not grant @dangerous, @admin, all commands or all keys.
    :param user_group_id: an existing RBAC user group (bring your own users); then
        `user_name` names its IAM-authenticated user. Excludes `access_string`.
    :param user_name: the runtime's user id == name (IAM auth requires both equal).
        Default: "<cache_name>-app"; when that exceeds 40 characters the cache name is cut
        and 4 hex digits of its hash added (e.g. "<first 31 characters>-1a2b-app").
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        mode: str = "serverless",
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_group: ec2.ISecurityGroup | None = None,
        cache_name: str | None = None,
        engine_version: str = "8.0",
        encryption_key: kms.IKey | None = None,
        port: int | None = None,
        max_data_storage_gb: int | None = None,
        max_ecpu_per_second: int | None = None,
        node_type: str | None = None,
        cluster_mode: bool | None = None,
        num_shards: int | None = None,
        replicas_per_shard: int | None = None,
        multi_az: bool | None = None,
        snapshot_retention_days: int = 1,
        access_string: str | None = None,
        user_group_id: str | None = None,
        user_name: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        require_one_of("mode", mode, MODES)
        require_one_of("engine_version", engine_version, ENGINE_VERSIONS)
        require_exactly_one("user_group_id", user_group_id, "access_string", access_string)
        if user_group_id is not None and user_name is None:
            raise ValueError("user_name is required with user_group_id: name its IAM user")
        serverless_props = {
            "max_data_storage_gb": max_data_storage_gb,
            "max_ecpu_per_second": max_ecpu_per_second,
        }
        group_props = {
            "node_type": node_type,
            "cluster_mode": cluster_mode,
            "num_shards": num_shards,
            "replicas_per_shard": replicas_per_shard,
            "multi_az": multi_az,
            "port": port,
        }
        misplaced = [
            name
            for name, value in (group_props if mode == "serverless" else serverless_props).items()
            if value is not None
        ]
        if misplaced:
            other = "replication-group" if mode == "serverless" else "serverless"
            raise ValueError(f"{', '.join(misplaced)}: only for mode {other!r}, not {mode!r}")
        port = DEFAULT_PORT if port is None else port
        max_data_storage_gb = 10 if max_data_storage_gb is None else max_data_storage_gb
        max_ecpu_per_second = 50000 if max_ecpu_per_second is None else max_ecpu_per_second
        node_type = node_type or "cache.r7g.large"
        cluster_mode = bool(cluster_mode)
        num_shards = 1 if num_shards is None else num_shards
        replicas_per_shard = 1 if replicas_per_shard is None else replicas_per_shard
        multi_az = True if multi_az is None else multi_az
        require_int_range("port", port, 1024, 65535)
        require_int_range("max_data_storage_gb", max_data_storage_gb, 1, 5000)
        require_int_range("max_ecpu_per_second", max_ecpu_per_second, 1000, 15_000_000)
        require_int_range("num_shards", num_shards, 1, 500)
        require_int_range("replicas_per_shard", replicas_per_shard, 0, 5)
        require_int_range("snapshot_retention_days", snapshot_retention_days, 0, 35)
        if not is_unresolved(node_type) and not _NODE_TYPE.match(node_type):
            raise ValueError(f"node_type must look like 'cache.r7g.large'; got {node_type!r}")
        if not cluster_mode and num_shards != 1:
            raise ValueError("num_shards must be 1 unless cluster_mode is true")
        if multi_az and replicas_per_shard == 0:
            raise ValueError("replicas_per_shard must be >= 1 when multi_az is true")
        bad_user_name = not _USER_NAME.match(str(user_name)) or user_name == "default"
        if user_name is not None and not is_unresolved(user_name) and bad_user_name:
            raise ValueError(
                "user_name must be 1..40 lowercase letters, digits or hyphens starting with "
                f"a letter, and not 'default'; got {user_name!r}"
            )
        self.access_string = access_string or DEFAULT_ACCESS_STRING
        _validate_access_string(self.access_string)

        self.mode = mode
        """"serverless" or "replication-group"."""
        self.engine_version = engine_version
        self.cache_name = cache_name or _generated_name(self)
        """Serverless cache name or replication group id."""
        if not is_unresolved(self.cache_name) and not _CACHE_NAME.match(self.cache_name):
            raise ValueError(
                "cache_name must be 2..40 lowercase letters, digits or single hyphens, "
                f"start with a letter and not end with a hyphen; got {self.cache_name!r}"
            )
        self.user_name = user_name or _user_id(self.cache_name, "-app")
        """RBAC user (id == name) the functions authenticate as with IAM."""
        self.port = port
        self.encryption_key = encryption_key
        self.cluster_mode = mode == "serverless" or cluster_mode
        """Clients must speak the cluster protocol (serverless and cluster-mode groups)."""
        self.num_shards = num_shards if mode == "replication-group" else 1
        self.replicas_per_shard = replicas_per_shard
        self._max_data_storage_gb = max_data_storage_gb
        self._snapshot_retention_days = snapshot_retention_days
        self._max_ecpu_per_second = max_ecpu_per_second

        self.subnet_ids = select_private_subnet_ids("vpc_subnets", vpc, vpc_subnets)

        self.security_group = security_group or self._build_security_group(vpc)
        """The cache's security group: `grant_connect` opens it to a function, nothing else."""
        self.connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(port)
        )

        self.user: elasticache.CfnUser | None = None
        """The IAM-authenticated runtime user (None when `user_group_id` was given)."""
        self.default_user: elasticache.CfnUser | None = None
        """The switched-off "default" user every user group must contain."""
        self.user_group: elasticache.CfnUserGroup | None = None
        if user_group_id is None:
            self.user, self.default_user, self.user_group = self._build_users()
            self.user_group_id: str = self.user_group.ref
            self.user_arn: str = self.user.attr_arn
        else:
            self.user_group_id = user_group_id
            self.user_arn = Stack.of(self).format_arn(
                service="elasticache",
                resource="user",
                resource_name=self.user_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )

        self.subnet_group: elasticache.CfnSubnetGroup | None = None
        """The subnet group (replication group mode; serverless takes subnet ids directly)."""
        self.serverless_cache: elasticache.CfnServerlessCache | None = None
        self.replication_group: elasticache.CfnReplicationGroup | None = None
        if mode == "serverless":
            self.serverless_cache = self._build_serverless_cache()
            self.cache_arn: str = self.serverless_cache.attr_arn
            self.endpoint_address: str = self.serverless_cache.attr_endpoint_address
            self.endpoint_port: str = self.serverless_cache.attr_endpoint_port
        else:
            self.subnet_group = self._build_subnet_group()
            self.replication_group = self._build_replication_group(
                node_type=node_type,
                multi_az=multi_az,
                snapshot_retention_days=snapshot_retention_days,
            )
            self.cache_arn = Stack.of(self).format_arn(
                service="elasticache",
                resource="replicationgroup",
                resource_name=self.cache_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            if cluster_mode:
                self.endpoint_address = self.replication_group.attr_configuration_end_point_address
                self.endpoint_port = self.replication_group.attr_configuration_end_point_port
            else:
                self.endpoint_address = self.replication_group.attr_primary_end_point_address
                self.endpoint_port = self.replication_group.attr_primary_end_point_port

    # --- building blocks (override in a subclass to change one part) -----------------------

    def _build_security_group(self, vpc: ec2.IVpc) -> ec2.ISecurityGroup:
        return ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Valkey cache: ingress only from granted functions",
            allow_all_outbound=False,
        )

    def _build_users(
        self,
    ) -> tuple[elasticache.CfnUser, elasticache.CfnUser, elasticache.CfnUserGroup]:
        user = elasticache.CfnUser(
            self,
            "AppUser",
            engine=ENGINE,
            user_id=self.user_name,
            user_name=self.user_name,
            authentication_mode={"Type": "iam"},
            access_string=self.access_string,
        )
        # A user group must contain a user named "default"; this one cannot log in
        # ("off") and may run nothing, so connections that skip AUTH get nowhere.
        default_user = elasticache.CfnUser(
            self,
            "DefaultUser",
            engine=ENGINE,
            user_id=_user_id(self.cache_name, "-default"),
            user_name="default",
            authentication_mode={"Type": "no-password-required"},
            access_string="off -@all",
        )
        group = elasticache.CfnUserGroup(
            self,
            "UserGroup",
            engine=ENGINE,
            user_group_id=f"{self.cache_name}-users",
            user_ids=[user.ref, default_user.ref],
        )
        return user, default_user, group

    def _build_subnet_group(self) -> elasticache.CfnSubnetGroup:
        return elasticache.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description=f"Private subnets of the {self.cache_name} Valkey cache",
            subnet_ids=self.subnet_ids,
            cache_subnet_group_name=self.cache_name,
        )

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
            snapshot_retention_limit=self._snapshot_retention_days,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    unit="GB", maximum=self._max_data_storage_gb
                ),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=self._max_ecpu_per_second
                ),
            ),
        )

    def _build_replication_group(
        self, *, node_type: str, multi_az: bool, snapshot_retention_days: int
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
            cache_node_type=node_type,
            port=self.port,
            cache_subnet_group_name=self.subnet_group.ref if self.subnet_group else None,
            security_group_ids=[self.security_group.security_group_id],
            user_group_ids=[self.user_group_id],
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            at_rest_encryption_enabled=True,
            kms_key_id=self.encryption_key.key_arn if self.encryption_key else None,
            multi_az_enabled=multi_az,
            automatic_failover_enabled=multi_az or self.cluster_mode,
            auto_minor_version_upgrade=True,
            snapshot_retention_limit=snapshot_retention_days,
            **shard_props,  # type: ignore[arg-type]
        )
        Validations.of(group).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-AEC6",
                reason="RBAC with IAM authentication (a user group) replaces the AUTH token",
            )
        )
        return group

    # --- grants --------------------------------------------------------------------------

    def grant_connect(self, fn: lambda_.Function) -> iam.Grant:
        """Let `fn` reach and log in to the cache, and tell it how (REDIS_* environment).

        Opens the cache's security group to the function's security groups on the port only,
        grants `elasticache:Connect` on the cache and on the runtime user, and sets
        REDIS_HOST/PORT/TLS/CLUSTER/AUTH/USER/CACHE_NAME/SERVERLESS.
        """
        if not fn.is_bound_to_vpc:
            raise ValueError("fn must run in a VPC (it has no security group) to reach the cache")
        self.connections.allow_default_port_from(fn, "Lambda function to Valkey (TLS)")
        grant = iam.Grant.add_to_principal(
            grantee=fn,
            actions=["elasticache:Connect"],
            resource_arns=[self.cache_arn, self.user_arn],
        )
        for name, value in env_names.redis_env(
            host=self.endpoint_address,
            port=self.endpoint_port,
            tls=True,
            cluster=self.cluster_mode,
            auth="iam",
            user=self.user_name,
            cache_name=self.cache_name,
            serverless=self.mode == "serverless",
        ).items():
            fn.add_environment(name, value)
        return grant

    # --- metrics -------------------------------------------------------------------------

    @property
    def member_cluster_ids(self) -> list[str]:
        """CacheClusterId of every node of a replication group ([] for serverless).

        Without cluster mode: "<id>-001", "<id>-002", ...; with it: "<id>-0001-001", ...
        """
        if self.mode == "serverless":
            return []
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

    def _serverless_metric(self, metric_name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"clusterId": self.cache_name},
            statistic=statistic,
            period=Duration.minutes(1),
        )

    def metric_cpu_utilization(self) -> cloudwatch.IMetric:
        """Busiest node's EngineCPUUtilization (%); serverless: % of the ECPU/s limit."""
        if self.mode == "serverless":
            return cloudwatch.MathExpression(
                expression=f"100 * ecpu / (60 * {self._max_ecpu_per_second})",
                using_metrics={
                    "ecpu": self._serverless_metric("ElastiCacheProcessingUnits", "Sum")
                },
                label="ECPU % of limit",
                period=Duration.minutes(1),
            )
        return self._node_metric(
            "EngineCPUUtilization", "Average", "MAX", "Engine CPU % (max node)"
        )

    def metric_memory_usage_percent(self) -> cloudwatch.IMetric:
        """Fullest node's DatabaseMemoryUsagePercentage; serverless: % of the storage limit."""
        if self.mode == "serverless":
            limit_bytes = self._max_data_storage_gb * 1_000_000_000
            return cloudwatch.MathExpression(
                expression=f"100 * bytes / {limit_bytes}",
                using_metrics={"bytes": self._serverless_metric("BytesUsedForCache", "Maximum")},
                label="Storage % of limit",
                period=Duration.minutes(1),
            )
        return self._node_metric(
            "DatabaseMemoryUsagePercentage", "Average", "MAX", "Memory % (max node)"
        )

    def metric_evictions(self) -> cloudwatch.IMetric:
        """Keys evicted (sum over nodes)."""
        if self.mode == "serverless":
            return self._serverless_metric("Evictions", "Sum")
        return self._node_metric("Evictions", "Sum", "SUM", "Evictions")

    def metric_current_connections(self) -> cloudwatch.IMetric:
        """Client connections (sum over nodes)."""
        if self.mode == "serverless":
            return self._serverless_metric("CurrConnections", "Average")
        return self._node_metric("CurrConnections", "Average", "SUM", "Connections")

    def metric_replication_lag(self) -> cloudwatch.IMetric | None:
        """Worst replica's ReplicationLag (seconds); None for serverless or no replicas."""
        if self.mode == "serverless" or self.replicas_per_shard == 0:
            return None
        return self._node_metric("ReplicationLag", "Maximum", "MAX", "Replication lag (max)")

    def metric_cache_hit_rate(self) -> cloudwatch.IMetric:
        """CacheHitRate (%); lowest node for a replication group."""
        if self.mode == "serverless":
            return self._serverless_metric("CacheHitRate", "Average")
        return self._node_metric("CacheHitRate", "Average", "MIN", "Hit rate % (min node)")


_MAX_USER_ID = 40
"""ElastiCache user ids and names are at most 40 characters (`_USER_NAME`)."""


def _user_id(cache_name: str, suffix: str) -> str:
    """`<cache_name><suffix>`, shortened to 40 characters the same way on every synth.

    A name that is too long keeps its start and gains 4 hex digits of its SHA-256, so two
    caches whose names share a long prefix still get different user ids (ids are unique
    per account and region). An unresolved name is left to CloudFormation.
    """
    user_id = f"{cache_name}{suffix}"
    if is_unresolved(cache_name) or len(user_id) <= _MAX_USER_ID:
        return user_id
    digest = hashlib.sha256(cache_name.encode()).hexdigest()[:4]
    keep = _MAX_USER_ID - len(suffix) - len(digest) - 1
    return f"{cache_name[:keep].rstrip('-')}-{digest}{suffix}"


def _generated_name(scope: Construct) -> str:
    # Stable, unique per construct path, lowercase and within ElastiCache's 40 characters.
    raw = Names.unique_resource_name(scope, max_length=40, separator="-").lower()
    name = re.sub(r"[^a-z0-9-]", "", raw)
    name = re.sub(r"-{2,}", "-", name).strip("-")
    if not name[:1].isalpha():
        name = ("c" + name)[:40]
    return name


def _validate_access_string(access_string: str) -> None:
    if is_unresolved(access_string):
        return
    words = access_string.lower().split()
    for word in words:
        forbidden = word in _FORBIDDEN_WORDS or word in _FORBIDDEN_CATEGORIES
        if forbidden:
            raise ValueError(
                f"access_string must not grant {word!r}: give the runtime's keys "
                f"(~{KEY_PATTERN}) and commands only"
            )
    if "on" not in words:
        raise ValueError("access_string must enable the user ('on')")
