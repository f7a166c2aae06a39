"""The two ValkeyCache variants, RBAC with IAM auth, grant_connect, metrics, every prop rule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import redis
import redis_servers
from aws_cdk import assertions
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from helpers import new_function, new_stack, new_vpc, synth_app

from cache_constructs.valkey_cache import (
    DEFAULT_ACCESS_STRING,
    RUNTIME_COMMANDS,
    IValkeyCache,
    ReplicatedValkeyCache,
    ReplicatedValkeyCacheProps,
    ServerlessValkeyCache,
    ServerlessValkeyCacheProps,
    ValkeyCache,
)

Match = assertions.Match
VARIANTS = {
    "serverless": (ServerlessValkeyCache, ServerlessValkeyCacheProps),
    "replication-group": (ReplicatedValkeyCache, ReplicatedValkeyCacheProps),
}


def make_cache(
    scope: cdk.Stack,
    id_: str,
    *,
    vpc: ec2.IVpc,
    mode: str = "serverless",
    vpc_subnets: ec2.SubnetSelection | None = None,
    **props: Any,
) -> ValkeyCache:
    """The variant named by ``mode`` (a test-side name), its props from ``props``."""
    cache_class, props_class = VARIANTS[mode]
    return cache_class(scope, id_, vpc=vpc, vpc_subnets=vpc_subnets, props=props_class(**props))


def build(**props: Any) -> tuple[cdk.Stack, ValkeyCache]:
    stack = new_stack()
    vpc = props.pop("vpc", None) or new_vpc(stack)
    cache = make_cache(stack, "Cache", vpc=vpc, **props)
    return stack, cache


def template(stack: cdk.Stack) -> assertions.Template:
    return assertions.Template.from_stack(stack)


def resolve(stack: cdk.Stack, value: object) -> Any:
    return stack.resolve(value)


# --- serverless (default) -----------------------------------------------------------------


def test_serverless_cache_defaults() -> None:
    stack, cache = build()
    t = template(stack)
    t.resource_count_is("AWS::ElastiCache::ServerlessCache", 1)
    t.resource_count_is("AWS::ElastiCache::ReplicationGroup", 0)
    t.resource_count_is("AWS::ElastiCache::SubnetGroup", 0)
    t.has_resource_properties(
        "AWS::ElastiCache::ServerlessCache",
        {
            "Engine": "valkey",
            "MajorEngineVersion": "8",
            "ServerlessCacheName": cache.cache_name,
            "SubnetIds": [
                {"Ref": Match.string_like_regexp("VpcprivateSubnet1")},
                {"Ref": Match.string_like_regexp("VpcprivateSubnet2")},
            ],
            "SecurityGroupIds": [
                {"Fn::GetAtt": [Match.string_like_regexp("CacheSecurityGroup"), "GroupId"]}
            ],
            "UserGroupId": {"Ref": Match.string_like_regexp("CacheUserGroup")},
            "CacheUsageLimits": {
                "DataStorage": {"Maximum": 10, "Unit": "GB"},
                "ECPUPerSecond": {"Maximum": 50000},
            },
            "SnapshotRetentionLimit": 1,
            "KmsKeyId": Match.absent(),
        },
    )
    assert isinstance(cache, ServerlessValkeyCache) and cache.serverless is True
    assert cache.cluster_mode is True
    assert isinstance(cache, IValkeyCache)
    assert resolve(stack, cache.endpoint_address) == {
        "Fn::GetAtt": ["CacheServerlessCacheCFF03C51", "Endpoint.Address"]
    }
    assert resolve(stack, cache.endpoint_port) == {
        "Fn::GetAtt": ["CacheServerlessCacheCFF03C51", "Endpoint.Port"]
    }


def test_stateful_logical_ids_are_pinned() -> None:
    stack, _ = build()
    resources = template(stack).to_json()["Resources"]
    assert resources["CacheServerlessCacheCFF03C51"]["Type"] == "AWS::ElastiCache::ServerlessCache"
    assert resources["CacheUserGroup978A79CF"]["Type"] == "AWS::ElastiCache::UserGroup"
    assert resources["CacheAppUser61A72E56"]["Type"] == "AWS::ElastiCache::User"
    assert resources["CacheDefaultUser47D483BA"]["Type"] == "AWS::ElastiCache::User"
    stack, _ = build(mode="replication-group")
    resources = template(stack).to_json()["Resources"]
    assert (
        resources["CacheReplicationGroupBFE59FF3"]["Type"] == "AWS::ElastiCache::ReplicationGroup"
    )
    assert resources["CacheSubnetGroup355C216D"]["Type"] == "AWS::ElastiCache::SubnetGroup"


def test_serverless_usage_limits_and_kms_key() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    cache = make_cache(
        stack,
        "Cache",
        vpc=new_vpc(stack),
        encryption_key=key,
        max_data_storage_gb=50,
        max_ecpu_per_second=100000,
        engine_version="7.2",
        snapshot_retention_days=7,
        cache_name="products-l2",
    )
    template(stack).has_resource_properties(
        "AWS::ElastiCache::ServerlessCache",
        {
            "ServerlessCacheName": "products-l2",
            "MajorEngineVersion": "7",
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("Key"), "Arn"]},
            "CacheUsageLimits": {
                "DataStorage": {"Maximum": 50, "Unit": "GB"},
                "ECPUPerSecond": {"Maximum": 100000},
            },
            "SnapshotRetentionLimit": 7,
        },
    )
    assert cache.user_name == "products-l2-app"


# --- RBAC ---------------------------------------------------------------------------------


def _user_ids(stack: cdk.Stack) -> dict[str, str]:
    users = template(stack).find_resources("AWS::ElastiCache::User")
    return {u["Properties"]["UserName"]: u["Properties"]["UserId"] for u in users.values()}


def test_default_user_ids_of_a_long_cache_name_obey_the_40_character_rule() -> None:
    long_name = "products-l2-" + "x" * 27 + "1"  # 40 characters, the cache name limit
    stack, cache = build(cache_name=long_name)
    ids = _user_ids(stack)
    assert ids[cache.user_name] == cache.user_name
    for user_id in ids.values():
        assert len(user_id) <= 40
        assert re.fullmatch(r"[a-z][a-z0-9-]{0,39}", user_id), user_id
    assert cache.user_name.startswith(long_name[:31]) and cache.user_name.endswith("-app")
    assert ids["default"].endswith("-default")
    # Deterministic: the same name gives the same ids on every synth.
    assert build(cache_name=long_name)[1].user_name == cache.user_name
    # Names sharing a long prefix still get different user ids.
    other = build(cache_name=long_name[:-1] + "3")[1]
    assert other.user_name != cache.user_name


def test_generated_cache_name_gives_a_valid_default_user() -> None:
    stack = new_stack()
    cache = make_cache(stack, "ProductCatalogueSecondLevelCache", vpc=new_vpc(stack))
    assert len(cache.cache_name) == 40
    for user_id in _user_ids(stack).values():
        assert len(user_id) <= 40, user_id


def test_runtime_user_uses_iam_auth_and_is_scoped_to_pc_keys() -> None:
    stack, cache = build(cache_name="products-l2")
    t = template(stack)
    t.has_resource_properties(
        "AWS::ElastiCache::User",
        {
            "Engine": "valkey",
            "UserId": "products-l2-app",
            "UserName": "products-l2-app",
            "AuthenticationMode": {"Type": "iam"},
            "AccessString": DEFAULT_ACCESS_STRING,
        },
    )
    words = DEFAULT_ACCESS_STRING.split()
    assert words[:3] == ["on", "~pc:*", "-@all"]
    assert not any("@dangerous" in w or w in ("+@all", "allcommands", "~*") for w in words)
    for command in ("+get", "+set", "+evalsha", "+eval", "+incr", "+hgetall", "+del"):
        assert command in words
    assert cache.user is not None


def test_default_user_is_switched_off_and_group_holds_both_users() -> None:
    stack, _ = build(cache_name="products-l2")
    t = template(stack)
    t.has_resource_properties(
        "AWS::ElastiCache::User",
        {
            "Engine": "valkey",
            "UserId": "products-l2-default",
            "UserName": "default",
            "AuthenticationMode": {"Type": "no-password-required"},
            "AccessString": "off -@all",
        },
    )
    t.has_resource_properties(
        "AWS::ElastiCache::UserGroup",
        {
            "Engine": "valkey",
            "UserGroupId": "products-l2-users",
            "UserIds": [
                {"Ref": "CacheAppUser61A72E56"},
                {"Ref": "CacheDefaultUser47D483BA"},
            ],
        },
    )


def test_custom_access_string() -> None:
    access = "on ~pc:* -@all +get +set"
    stack, _ = build(access_string=access)
    template(stack).has_resource_properties("AWS::ElastiCache::User", {"AccessString": access})


def test_existing_user_group_builds_no_users() -> None:
    stack = new_stack()
    vpc = new_vpc(stack)
    cache = make_cache(
        stack, "Cache", vpc=vpc, user_group_id="team-users", user_name="svc", cache_name="c1"
    )
    fn = new_function(stack, vpc)
    cache.grant_connect(fn)
    t = template(stack)
    t.resource_count_is("AWS::ElastiCache::User", 0)
    t.resource_count_is("AWS::ElastiCache::UserGroup", 0)
    t.has_resource_properties("AWS::ElastiCache::ServerlessCache", {"UserGroupId": "team-users"})
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "elasticache:Connect",
                        "Effect": "Allow",
                        "Resource": Match.array_with(
                            [
                                {
                                    "Fn::Join": [
                                        "",
                                        [
                                            "arn:",
                                            {"Ref": "AWS::Partition"},
                                            ":elasticache:eu-west-1:123456789012:user:svc",
                                        ],
                                    ]
                                }
                            ]
                        ),
                    }
                ]
            }
        },
    )


# --- network ------------------------------------------------------------------------------


def test_own_security_group_has_no_ingress_and_no_egress() -> None:
    stack, _ = build()
    t = template(stack)
    t.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    t.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": Match.string_like_regexp("Valkey"),
            "SecurityGroupIngress": Match.absent(),
            "SecurityGroupEgress": [Match.object_like({"CidrIp": "255.255.255.255/32"})],
        },
    )


def test_existing_security_group_is_used() -> None:
    stack = new_stack()
    vpc = new_vpc(stack)
    group = ec2.SecurityGroup(stack, "Mine", vpc=vpc)
    cache = make_cache(stack, "Cache", vpc=vpc, security_group=group)
    assert cache.security_group is group
    template(stack).resource_count_is("AWS::EC2::SecurityGroup", 1)


# --- replication group --------------------------------------------------------------------


def test_replication_group_defaults() -> None:
    stack, cache = build(mode="replication-group", cache_name="products-rg")
    t = template(stack)
    t.has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "ReplicationGroupId": "products-rg",
            "Engine": "valkey",
            "EngineVersion": "8.0",
            "CacheParameterGroupName": "default.valkey8",
            "CacheNodeType": "cache.r7g.large",
            "ClusterMode": "disabled",
            "NumCacheClusters": 2,
            "NumNodeGroups": Match.absent(),
            "MultiAZEnabled": True,
            "AutomaticFailoverEnabled": True,
            "TransitEncryptionEnabled": True,
            "TransitEncryptionMode": "required",
            "AtRestEncryptionEnabled": True,
            "Port": 6379,
            "SnapshotRetentionLimit": 1,
            "UserGroupIds": [{"Ref": "CacheUserGroup978A79CF"}],
            "CacheSubnetGroupName": {"Ref": "CacheSubnetGroup355C216D"},
            "SecurityGroupIds": [{"Fn::GetAtt": [Match.any_value(), "GroupId"]}],
            "AuthToken": Match.absent(),
        },
    )
    t.has_resource_properties(
        "AWS::ElastiCache::SubnetGroup",
        {
            "CacheSubnetGroupName": "products-rg",
            "SubnetIds": [
                {"Ref": Match.string_like_regexp("VpcprivateSubnet1")},
                {"Ref": Match.string_like_regexp("VpcprivateSubnet2")},
            ],
        },
    )
    assert cache.cluster_mode is False
    assert resolve(stack, cache.endpoint_address) == {
        "Fn::GetAtt": ["CacheReplicationGroupBFE59FF3", "PrimaryEndPoint.Address"]
    }


def test_replication_group_cluster_mode() -> None:
    stack, cache = build(
        mode="replication-group",
        cluster_mode=True,
        num_shards=3,
        replicas_per_shard=2,
        node_type="cache.m7g.xlarge",
        snapshot_retention_days=0,
        port=6380,
    )
    template(stack).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "ClusterMode": "enabled",
            "NumNodeGroups": 3,
            "ReplicasPerNodeGroup": 2,
            "NumCacheClusters": Match.absent(),
            "CacheParameterGroupName": "default.valkey8.cluster.on",
            "CacheNodeType": "cache.m7g.xlarge",
            "SnapshotRetentionLimit": 0,
            "Port": 6380,
        },
    )
    assert cache.cluster_mode is True
    assert resolve(stack, cache.endpoint_address) == {
        "Fn::GetAtt": ["CacheReplicationGroupBFE59FF3", "ConfigurationEndPoint.Address"]
    }


def test_replication_group_single_az_without_replicas() -> None:
    stack, _ = build(mode="replication-group", multi_az=False, replicas_per_shard=0)
    template(stack).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {"NumCacheClusters": 1, "MultiAZEnabled": False, "AutomaticFailoverEnabled": False},
    )


def test_replication_group_kms_key() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    make_cache(stack, "Cache", vpc=new_vpc(stack), mode="replication-group", encryption_key=key)
    template(stack).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {"KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("Key"), "Arn"]}},
    )


# --- grant_connect ------------------------------------------------------------------------


def _grant(**props: Any) -> tuple[cdk.Stack, ValkeyCache, assertions.Template]:
    stack = new_stack()
    vpc = new_vpc(stack)
    cache = make_cache(stack, "Cache", vpc=vpc, cache_name="products-l2", **props)
    fn = new_function(stack, vpc)
    cache.grant_connect(fn)
    return stack, cache, template(stack)


def test_grant_connect_opens_the_port_to_the_function_only() -> None:
    _, _, t = _grant()
    t.resource_count_is("AWS::EC2::SecurityGroupIngress", 1)
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "IpProtocol": "tcp",
            "FromPort": 6379,
            "ToPort": 6379,
            "GroupId": {"Fn::GetAtt": [Match.string_like_regexp("CacheSecurityGroup"), "GroupId"]},
            "SourceSecurityGroupId": {
                "Fn::GetAtt": [Match.string_like_regexp("FnSecurityGroup"), "GroupId"]
            },
        },
    )


def test_grant_connect_iam_on_cache_and_user() -> None:
    _, _, t = _grant()
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "elasticache:Connect",
                        "Effect": "Allow",
                        "Resource": [
                            {"Fn::GetAtt": ["CacheServerlessCacheCFF03C51", "ARN"]},
                            {"Fn::GetAtt": ["CacheAppUser61A72E56", "Arn"]},
                        ],
                    }
                ]
            }
        },
    )


def test_grant_connect_sets_the_serverless_environment() -> None:
    _, _, t = _grant()
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": {
                    "REDIS_HOST": {
                        "Fn::GetAtt": ["CacheServerlessCacheCFF03C51", "Endpoint.Address"]
                    },
                    "REDIS_PORT": {"Fn::GetAtt": ["CacheServerlessCacheCFF03C51", "Endpoint.Port"]},
                    "REDIS_TLS": "true",
                    "REDIS_CLUSTER": "true",
                    "REDIS_AUTH": "iam",
                    "REDIS_USER": "products-l2-app",
                    "REDIS_CACHE_NAME": "products-l2",
                    "REDIS_SERVERLESS": "true",
                }
            }
        },
    )


def test_grant_connect_replication_group_arn_and_environment() -> None:
    _, _, t = _grant(mode="replication-group")
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": "elasticache:Connect",
                            "Resource": [
                                {
                                    "Fn::Join": [
                                        "",
                                        [
                                            "arn:",
                                            {"Ref": "AWS::Partition"},
                                            ":elasticache:eu-west-1:123456789012:"
                                            "replicationgroup:products-l2",
                                        ],
                                    ]
                                },
                                {"Fn::GetAtt": ["CacheAppUser61A72E56", "Arn"]},
                            ],
                        }
                    )
                ]
            }
        },
    )
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "REDIS_CLUSTER": "false",
                        "REDIS_SERVERLESS": "false",
                        "REDIS_TLS": "true",
                        "REDIS_AUTH": "iam",
                        "REDIS_CACHE_NAME": "products-l2",
                    }
                )
            }
        },
    )


def test_grant_connect_needs_a_function_in_the_vpc() -> None:
    stack, cache = build()
    fn = new_function(stack)
    with pytest.raises(ValueError, match="fn must run in a VPC"):
        cache.grant_connect(fn)


# --- metrics ------------------------------------------------------------------------------


def test_serverless_metrics_use_the_cluster_id_dimension() -> None:
    _, cache = build(cache_name="products-l2")
    for metric, name in [
        (cache.metric_evictions(), "Evictions"),
        (cache.metric_current_connections(), "CurrConnections"),
        (cache.metric_cache_hit_rate(), "CacheHitRate"),
    ]:
        assert isinstance(metric, cloudwatch.Metric)
        assert metric.namespace == "AWS/ElastiCache"
        assert metric.metric_name == name
        assert metric.dimensions == {"clusterId": "products-l2"}
    assert cache.metric_replication_lag() is None
    assert not hasattr(cache, "member_cluster_ids")  # node ids are a replication-group thing


def test_serverless_cpu_and_memory_are_percent_of_the_limits() -> None:
    _, cache = build(cache_name="products-l2", max_ecpu_per_second=2000, max_data_storage_gb=2)
    cpu = cache.metric_cpu_utilization()
    assert isinstance(cpu, cloudwatch.MathExpression)
    assert cpu.expression == "100 * ecpu / (60 * 2000)"
    ecpu = cpu.using_metrics["ecpu"]
    assert isinstance(ecpu, cloudwatch.Metric)
    assert (ecpu.metric_name, ecpu.statistic) == ("ElastiCacheProcessingUnits", "Sum")
    memory = cache.metric_memory_usage_percent()
    assert isinstance(memory, cloudwatch.MathExpression)
    assert memory.expression == "100 * bytes / 2000000000"


def test_replication_group_member_ids() -> None:
    _, cache = build(mode="replication-group", cache_name="rg", replicas_per_shard=2)
    assert cache.member_cluster_ids == ["rg-001", "rg-002", "rg-003"]
    _, cache = build(mode="replication-group", cache_name="rg", cluster_mode=True, num_shards=2)
    assert cache.member_cluster_ids == ["rg-0001-001", "rg-0001-002", "rg-0002-001", "rg-0002-002"]


def test_replication_group_metrics_combine_members() -> None:
    _, cache = build(mode="replication-group", cache_name="rg", cluster_mode=True, num_shards=2)
    expected = {
        "metric_cpu_utilization": ("MAX", "EngineCPUUtilization"),
        "metric_memory_usage_percent": ("MAX", "DatabaseMemoryUsagePercentage"),
        "metric_evictions": ("SUM", "Evictions"),
        "metric_current_connections": ("SUM", "CurrConnections"),
        "metric_replication_lag": ("MAX", "ReplicationLag"),
        "metric_cache_hit_rate": ("MIN", "CacheHitRate"),
    }
    for method, (function, name) in expected.items():
        metric = getattr(cache, method)()
        assert isinstance(metric, cloudwatch.MathExpression), method
        assert metric.expression == f"{function}([m0,m1,m2,m3])"
        members = [metric.using_metrics[f"m{i}"] for i in range(4)]
        assert [m.dimensions for m in members] == [  # type: ignore[attr-defined]
            {"CacheClusterId": member} for member in cache.member_cluster_ids
        ]
        assert {m.metric_name for m in members} == {name}  # type: ignore[attr-defined]


def test_single_node_metric_is_a_plain_metric_and_no_lag_without_replicas() -> None:
    _, cache = build(
        mode="replication-group", cache_name="rg", multi_az=False, replicas_per_shard=0
    )
    metric = cache.metric_evictions()
    assert isinstance(metric, cloudwatch.Metric)
    assert metric.dimensions == {"CacheClusterId": "rg-001"}
    assert cache.metric_replication_lag() is None


# --- cdk-nag ------------------------------------------------------------------------------


@pytest.mark.synth
@pytest.mark.parametrize(
    "props",
    [
        {},
        {"mode": "replication-group"},
        {"mode": "replication-group", "cluster_mode": True, "num_shards": 2},
    ],
    ids=["serverless", "replication-group", "cluster-mode"],
)
def test_passes_aws_solutions_checks(props: dict[str, Any]) -> None:
    stack = new_stack(nag=True)
    vpc = new_vpc(stack)
    cache = make_cache(stack, "Cache", vpc=vpc, **props)
    cache.grant_connect(new_function(stack, vpc))
    synth_app(stack)  # a failing AwsSolutions check raises here


# --- validation: one test per rule --------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"engine_version": "7.0"}, "ServerlessValkeyCacheProps.engine_version must be one of"),
        (
            {"user_group_id": "g", "access_string": "on ~pc:* +get"},
            "give either ServerlessValkeyCacheProps.user_group_id or "
            "ServerlessValkeyCacheProps.access_string, not both",
        ),
        ({"user_group_id": "g"}, "user_name is required with .*user_group_id"),
        ({"user_name": "App"}, "user_name must be 1..40 lowercase"),
        ({"user_name": "default"}, "user_name must be 1..40 lowercase"),
        # A prop of the other variant, or a typo: a ValueError naming the props class and key.
        ({"port": 6380}, r"ServerlessValkeyCacheProps.port is not a prop"),
        (
            {"node_type": "cache.r7g.large"},
            r"ServerlessValkeyCacheProps.node_type is not a prop",
        ),
        (
            {"max_data_storge_gb": 5},
            r"ServerlessValkeyCacheProps.max_data_storge_gb is not a prop "
            r"\(did you mean 'max_data_storage_gb'\?\)",
        ),
        (
            {"mode": "replication-group", "max_data_storage_gb": 5},
            r"ReplicatedValkeyCacheProps.max_data_storage_gb is not a prop",
        ),
        ({"mode": "replication-group", "port": 80}, "port must be between 1024 and 65535"),
        ({"max_data_storage_gb": 0}, "max_data_storage_gb must be between 1 and 5000"),
        ({"max_ecpu_per_second": 999}, "max_ecpu_per_second must be between 1000 and 15000000"),
        (
            {"mode": "replication-group", "cluster_mode": True, "num_shards": 501},
            "num_shards must be between 1 and 500",
        ),
        (
            {"mode": "replication-group", "replicas_per_shard": 6},
            "replicas_per_shard must be between 0 and 5",
        ),
        ({"snapshot_retention_days": 36}, "snapshot_retention_days must be between 0 and 35"),
        (
            {"mode": "replication-group", "node_type": "r7g.large"},
            "ReplicatedValkeyCacheProps.node_type must look like 'cache.r7g.large'",
        ),
        (
            {"mode": "replication-group", "num_shards": 2},
            "num_shards must be 1 unless cluster_mode is true",
        ),
        (
            {"mode": "replication-group", "replicas_per_shard": 0},
            "replicas_per_shard must be >= 1 when multi_az is true",
        ),
        (
            {"mode": "replication-group", "multi_az": "yes"},
            "ReplicatedValkeyCacheProps.multi_az must be a bool",
        ),
        ({"access_string": "off ~pc:* +get"}, r"access_string must enable the user \('on'\)"),
        ({"cache_name": "Products"}, "cache_name must be 2..40 lowercase"),
        ({"cache_name": "a--b"}, "cache_name must be 2..40 lowercase"),
        ({"cache_name": "x" * 41}, "cache_name must be 2..40 lowercase"),
        ({"cache_name": "ends-"}, "cache_name must be 2..40 lowercase"),
        (
            {"mode": "replication-group", "replicas_per_shard": True},
            "replicas_per_shard must be an integer",
        ),
    ],
)
def test_prop_rules(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(**props)


@pytest.mark.parametrize(
    "grant",
    ["+@all", "allcommands", "allkeys", "~*", "+@dangerous", "+@admin", "%RW~*"],
)
def test_access_string_refuses_broad_grants(grant: str) -> None:
    with pytest.raises(ValueError, match="access_string must not grant"):
        build(access_string=f"on ~pc:* -@all +get {grant}")


def test_public_subnets_are_refused() -> None:
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
    with pytest.raises(ValueError, match="vpc_subnets must select private subnets"):
        ServerlessValkeyCache(
            stack,
            "Cache",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )


def test_unresolved_tokens_are_not_validated() -> None:
    stack = new_stack()
    node_type = cdk.CfnParameter(stack, "NodeType", default="cache.r7g.large").value_as_string
    shards = cdk.CfnParameter(stack, "Shards", type="Number", default=2).value_as_number
    make_cache(
        stack,
        "Cache",
        vpc=new_vpc(stack),
        mode="replication-group",
        node_type=node_type,
        cluster_mode=True,
        num_shards=shards,  # type: ignore[arg-type]
    )
    template(stack).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {"CacheNodeType": {"Ref": "NodeType"}, "NumNodeGroups": {"Ref": "Shards"}},
    )


# --- the access string against a real server ----------------------------------------------

LUA_DIR = Path(__file__).resolve().parents[2] / "cache_constructs" / "runtime"
KEY, HASH = "pc:{p:1}:v", "pc:{p:1}:t"
SAMPLE_ARGS: dict[str, list[object]] = {
    "get": [KEY],
    "getrange": [KEY, 0, 1],
    "mget": [KEY],
    "set": [KEY, "v"],
    "del": [KEY],
    "unlink": [KEY],
    "exists": [KEY],
    "incr": ["pc:{c:books}:g"],
    "expire": [KEY, 1],
    "pexpire": [KEY, 1000],
    "pttl": [KEY],
    "hget": [HASH, "v"],
    "hincrby": [HASH, "e", 1],
    "hmget": [HASH, "v", "e"],
    "hgetall": [HASH],
    "hset": [HASH, "v", 1],
    "touch": [KEY],
    "eval": ["return 1", 0],
    "evalsha": ["0" * 40, 0],
    "script|load": ["return 1"],
    "script|exists": ["0" * 40],
    "ping": [],
    "readonly": [],
    "command": [],
    "cluster|slots": [],
    "cluster|shards": [],
    "client|setname": ["product-cache"],
    "client|tracking": ["on"],
}


def _lua_commands() -> set[str]:
    commands: set[str] = set()
    for script in LUA_DIR.glob("*.lua"):
        text = script.read_text(encoding="utf-8")
        commands |= {c.lower() for c in re.findall(r"redis\.p?call\(\s*['\"](\w+)", text)}
    return commands


def test_access_string_covers_every_command_of_the_runtime_scripts() -> None:
    commands = _lua_commands()
    assert commands, "the runtime's Lua scripts were not found"
    assert commands <= set(RUNTIME_COMMANDS), commands - set(RUNTIME_COMMANDS)
    assert set(SAMPLE_ARGS) | redis_servers.NEWER_THAN_REDIS_7_0 == set(RUNTIME_COMMANDS)


@pytest.fixture
def app_user(own_redis: Any) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    """(admin, app) clients: `app` logs in with the default access string."""
    admin = redis.Redis(host="127.0.0.1", port=own_redis.port)
    redis_servers.set_acl_user(admin, "app", "app-password", DEFAULT_ACCESS_STRING)
    app = redis.Redis(
        host="127.0.0.1", port=own_redis.port, username="app", password="app-password"
    )
    yield admin, app
    app.close()
    admin.close()


def _dry_run(admin: redis.Redis, command: str, *args: object) -> str:
    reply = admin.execute_command("ACL", "DRYRUN", "app", *command.split("|"), *args)
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def test_access_string_allows_the_runtime_commands_on_its_keys(app_user: Any) -> None:
    admin, _ = app_user
    for command, args in SAMPLE_ARGS.items():
        assert _dry_run(admin, command, *args) == "OK", command


@pytest.mark.parametrize(
    "command",
    [
        ["GET", "other:key"],
        ["SET", "session:1", "x"],
        ["FLUSHALL"],
        ["KEYS", "*"],
        ["CONFIG", "GET", "*"],
        ["DEBUG", "SLEEP", "0"],
        ["ACL", "LIST"],
        ["SCRIPT", "FLUSH"],
        ["CLIENT", "KILL", "ID", "1"],
        ["SHUTDOWN"],
        ["MONITOR"],
    ],
)
def test_access_string_denies_other_keys_and_dangerous_commands(
    app_user: Any, command: list[str]
) -> None:
    admin, _ = app_user
    assert _dry_run(admin, *command).startswith("This user has no permissions")


def test_scripts_run_as_the_app_user_only_on_runtime_keys(app_user: Any) -> None:
    _, app = app_user
    app.set(KEY, "hello")
    # register_script: EVALSHA, then SCRIPT LOAD on NOSCRIPT, as the runtime does.
    read = app.register_script("return redis.call('GETRANGE', KEYS[1], 0, 1)")
    assert read(keys=[KEY]) == b"he"
    bump = app.register_script("return redis.call('HINCRBY', KEYS[1], 'e', 1)")
    assert bump(keys=[HASH]) == 1
    with pytest.raises(redis.exceptions.ResponseError, match=r"(?i)permission"):
        read(keys=["other:key"])


def test_the_switched_off_default_user_cannot_be_used(own_redis: Any) -> None:
    admin = redis.Redis(host="127.0.0.1", port=own_redis.port)
    # What the DefaultUser resource asks ElastiCache for: no password, "off -@all".
    admin.execute_command("ACL", "SETUSER", "default", "reset", "off", "nopass", "-@all")
    anonymous = redis.Redis(host="127.0.0.1", port=own_redis.port)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    anonymous.close()
    admin.close()


def _two_tier_vpc(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ec2.SubnetConfiguration(name="cache", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )


def test_vpc_subnets_select_where_the_cache_lives() -> None:
    stack = new_stack()
    vpc = _two_tier_vpc(stack)
    cache = make_cache(
        stack, "Cache", vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_group_name="cache")
    )
    (serverless,) = template(stack).find_resources("AWS::ElastiCache::ServerlessCache").values()
    refs = [s["Ref"] for s in serverless["Properties"]["SubnetIds"]]
    assert len(refs) == 2 and all(r.startswith("VpccacheSubnet") for r in refs)
    assert len(cache.subnet_ids) == 2


def test_engine_version_8_1() -> None:
    stack, _ = build(mode="replication-group", engine_version="8.1")
    template(stack).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {"EngineVersion": "8.1", "CacheParameterGroupName": "default.valkey8"},
    )
