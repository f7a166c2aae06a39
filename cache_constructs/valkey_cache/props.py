"""Typed props of the two Valkey cache variants (what a caller may choose; the VPC is wiring).

Every field has its default here and is validated when the props object is built, so a bad
value fails where it is written, naming ``<PropsClass>.<field>``.
"""

from __future__ import annotations

import re

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms

from cache_constructs._props import construct_props
from cache_constructs._validation import (
    is_unresolved,
    require_int_range,
    require_not_both,
    require_one_of,
)
from cache_constructs.valkey_cache.access import (
    DEFAULT_ENGINE_VERSION,
    DEFAULT_PORT,
    ENGINE_VERSIONS,
    validate_access_string,
    validate_cache_name,
    validate_user_name,
)

_NODE_TYPE = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")


@construct_props
class ValkeyCacheProps:
    """What both variants share: naming, engine, encryption, snapshots, RBAC, network."""

    cache_name: str | None = None
    """Serverless cache name / replication group id (2..40 lowercase). Default: generated
    from the construct path. It is part of the IAM auth token."""
    engine_version: str = DEFAULT_ENGINE_VERSION
    """"7.2", "8.0" or "8.1" (serverless uses the major). Default "8.0"."""
    encryption_key: kms.IKey | None = None
    """Customer-managed KMS key for encryption at rest. Default: the AWS-owned key
    (encryption at rest is always on)."""
    security_group: ec2.ISecurityGroup | None = None
    """An existing security group. Default: one with no ingress and no egress, opened per
    function by ``grant_connect``."""
    snapshot_retention_days: int = 1
    """Daily snapshots kept, 0..35. Default 1."""
    access_string: str | None = None
    """RBAC access string of the runtime's user. Default ``DEFAULT_ACCESS_STRING`` (its keys
    and commands). Must not grant @dangerous, @admin, all commands or all keys."""
    user_group_id: str | None = None
    """An existing RBAC user group (bring your own users); then ``user_name`` names its
    IAM-authenticated user. Excludes ``access_string``. Default: a group is built."""
    user_name: str | None = None
    """The runtime's user id == name (IAM auth requires both equal). Default
    "<cache_name>-app", cut to 40 characters with 4 hex digits of the name's hash."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        validate_cache_name(f"{owner}.cache_name", self.cache_name)
        require_one_of(f"{owner}.engine_version", self.engine_version, ENGINE_VERSIONS)
        require_int_range(f"{owner}.snapshot_retention_days", self.snapshot_retention_days, 0, 35)
        require_not_both(
            f"{owner}.user_group_id",
            self.user_group_id,
            f"{owner}.access_string",
            self.access_string,
        )
        if self.user_group_id is not None and self.user_name is None:
            raise ValueError(
                f"{owner}.user_name is required with {owner}.user_group_id: name its IAM user"
            )
        validate_user_name(f"{owner}.user_name", self.user_name)
        if self.access_string is not None:
            validate_access_string(f"{owner}.access_string", self.access_string)


@construct_props
class ServerlessValkeyCacheProps(ValkeyCacheProps):
    """Props of `ServerlessValkeyCache` (``AWS::ElastiCache::ServerlessCache``): always TLS,
    encryption at rest, cluster protocol, port 6379."""

    max_data_storage_gb: int = 10
    """Usage limit of stored data, 1..5000 GB. Default 10."""
    max_ecpu_per_second: int = 50000
    """Usage limit of ElastiCache Processing Units per second, 1000..15000000. Default 50000."""

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = type(self).__name__
        require_int_range(f"{owner}.max_data_storage_gb", self.max_data_storage_gb, 1, 5000)
        require_int_range(
            f"{owner}.max_ecpu_per_second", self.max_ecpu_per_second, 1000, 15_000_000
        )


@construct_props
class ReplicatedValkeyCacheProps(ValkeyCacheProps):
    """Props of `ReplicatedValkeyCache` (``AWS::ElastiCache::ReplicationGroup``)."""

    port: int = DEFAULT_PORT
    """1024..65535. Default 6379."""
    node_type: str = "cache.r7g.large"
    """Node type. Default "cache.r7g.large"."""
    cluster_mode: bool = False
    """Cluster mode (sharding; clients speak the cluster protocol). Default False."""
    num_shards: int = 1
    """Node groups with cluster mode, 1..500. Default 1 (must stay 1 without)."""
    replicas_per_shard: int = 1
    """Replicas per node group, 0..5. Default 1."""
    multi_az: bool = True
    """Multi-AZ with automatic failover (needs a replica). Default True."""

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = type(self).__name__
        require_int_range(f"{owner}.port", self.port, 1024, 65535)
        require_int_range(f"{owner}.num_shards", self.num_shards, 1, 500)
        require_int_range(f"{owner}.replicas_per_shard", self.replicas_per_shard, 0, 5)
        if not is_unresolved(self.node_type) and not (
            isinstance(self.node_type, str) and _NODE_TYPE.match(self.node_type)
        ):
            raise ValueError(
                f"{owner}.node_type must look like 'cache.r7g.large'; got {self.node_type!r}"
            )
        for name in ("cluster_mode", "multi_az"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{owner}.{name} must be a bool; got {getattr(self, name)!r}")
        if not self.cluster_mode and self.num_shards != 1:
            raise ValueError(f"{owner}.num_shards must be 1 unless cluster_mode is true")
        if self.multi_az and self.replicas_per_shard == 0:
            raise ValueError(f"{owner}.replicas_per_shard must be >= 1 when multi_az is true")
