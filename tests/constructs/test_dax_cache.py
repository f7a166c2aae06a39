"""DaxCache: SSE + TLS cluster, policy-driven parameter group, scoped role, grants, metrics."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from helpers import new_function, new_stack, new_vpc, synth_app

from cache_constructs.contract.policy import CachePolicy
from cache_constructs.dax_cache import DaxCache, DaxCacheProps

Match = assertions.Match
_WIRING = ("vpc", "table", "role", "vpc_subnets", "cache_policy")


def make_dax(scope: cdk.Stack, id_: str, **kwargs: Any) -> DaxCache:
    """A DaxCache: wiring keywords as they are, every other keyword into `DaxCacheProps`."""
    wiring = {key: kwargs.pop(key) for key in _WIRING if key in kwargs}
    return DaxCache(scope, id_, **wiring, props=DaxCacheProps(**kwargs))


def new_table(stack: cdk.Stack) -> dynamodb.TableV2:
    return dynamodb.TableV2(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="SK", type=dynamodb.AttributeType.STRING),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )


def build(**props: Any) -> tuple[cdk.Stack, DaxCache, assertions.Template]:
    stack = new_stack()
    vpc = new_vpc(stack)
    if "role" not in props:
        props.setdefault("table", new_table(stack))
    dax = make_dax(stack, "Dax", vpc=vpc, **props)
    return stack, dax, assertions.Template.from_stack(stack)


def test_cluster_is_encrypted_at_rest_and_in_transit() -> None:
    _, _, t = build()
    t.resource_count_is("AWS::DAX::Cluster", 1)
    t.has_resource_properties(
        "AWS::DAX::Cluster",
        {
            "SSESpecification": {"SSEEnabled": True},
            "ClusterEndpointEncryptionType": "TLS",
            "NodeType": "dax.t3.small",
            "ReplicationFactor": 3,
            "IAMRoleARN": {"Fn::GetAtt": [Match.string_like_regexp("DaxServiceRole"), "Arn"]},
            "SubnetGroupName": {"Ref": Match.string_like_regexp("DaxSubnetGroup")},
            "ParameterGroupName": {"Ref": Match.string_like_regexp("DaxParameterGroup")},
            "SecurityGroupIds": [
                {"Fn::GetAtt": [Match.string_like_regexp("DaxSecurityGroup"), "GroupId"]}
            ],
            "ClusterName": Match.absent(),
        },
    )


def test_stateful_logical_ids_are_pinned() -> None:
    _, _, t = build()
    resources = t.to_json()["Resources"]
    assert resources["DaxClusterBF482228"]["Type"] == "AWS::DAX::Cluster"
    assert resources["DaxParameterGroupA8D94EAF"]["Type"] == "AWS::DAX::ParameterGroup"
    assert resources["DaxSubnetGroupD3F34C0B"]["Type"] == "AWS::DAX::SubnetGroup"


def test_cluster_waits_for_its_role_policy() -> None:
    _, _, t = build()
    cluster = t.to_json()["Resources"]["DaxClusterBF482228"]
    assert any(dep.startswith("DaxServiceRoleDefaultPolicy") for dep in cluster["DependsOn"])


def test_node_type_replication_factor_and_name() -> None:
    _, dax, t = build(node_type="dax.r5.large", replication_factor=1, cluster_name="products-dax")
    t.has_resource_properties(
        "AWS::DAX::Cluster",
        {"NodeType": "dax.r5.large", "ReplicationFactor": 1, "ClusterName": "products-dax"},
    )
    assert dax.cluster_name is not None


@pytest.mark.parametrize(
    ("policy", "millis"),
    [(CachePolicy.SEMI_STATIC, "300000"), (CachePolicy.DYNAMIC, "10000"), (None, "300000")],
)
def test_parameter_group_ttls_come_from_the_policy(policy: CachePolicy | None, millis: str) -> None:
    _, dax, t = build(cache_policy=policy)
    t.has_resource_properties(
        "AWS::DAX::ParameterGroup",
        {"ParameterNameValues": {"record-ttl-millis": millis, "query-ttl-millis": millis}},
    )
    assert dax.cache_policy == (policy or CachePolicy.SEMI_STATIC)


def test_existing_parameter_group() -> None:
    _, dax, t = build(parameter_group_name="my-params")
    t.resource_count_is("AWS::DAX::ParameterGroup", 0)
    t.has_resource_properties("AWS::DAX::Cluster", {"ParameterGroupName": "my-params"})
    assert dax.parameter_group is None
    assert dax.parameter_group_name == "my-params"


def test_role_is_scoped_to_the_table_and_named_indexes() -> None:
    _, _, t = build(index_names=["category-index"])
    t.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "dax.amazonaws.com"},
                    }
                ]
            },
            "ManagedPolicyArns": Match.absent(),
        },
    )
    table_arn = {"Fn::GetAtt": [Match.string_like_regexp("Table"), "Arn"]}
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": [
                            "dynamodb:DescribeTable",
                            "dynamodb:GetItem",
                            "dynamodb:BatchGetItem",
                            "dynamodb:Query",
                            "dynamodb:ConditionCheckItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:DeleteItem",
                            "dynamodb:BatchWriteItem",
                        ],
                        "Effect": "Allow",
                        "Resource": [
                            table_arn,
                            {"Fn::Join": ["", [table_arn, "/index/category-index"]]},
                        ],
                    }
                ]
            },
            "Roles": [{"Ref": Match.string_like_regexp("DaxServiceRole")}],
        },
    )


def test_role_without_indexes_has_no_wildcard() -> None:
    _, _, t = build()
    policies = t.find_resources("AWS::IAM::Policy")
    (policy,) = policies.values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert "dynamodb:Scan" not in statement["Action"]
    # Only the table itself: no index ARN, no wildcard.
    assert list(statement["Resource"]) == ["Fn::GetAtt"]
    assert statement["Resource"]["Fn::GetAtt"][1] == "Arn"


def test_existing_role_builds_none() -> None:
    stack = new_stack()
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/dax")
    dax = make_dax(stack, "Dax", vpc=new_vpc(stack), role=role)
    t = assertions.Template.from_stack(stack)
    t.resource_count_is("AWS::IAM::Role", 0)
    t.has_resource_properties(
        "AWS::DAX::Cluster", {"IAMRoleARN": "arn:aws:iam::123456789012:role/dax"}
    )
    assert dax.role is role


def test_security_group_has_no_ingress_until_granted() -> None:
    _, _, t = build()
    t.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    t.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": Match.string_like_regexp("DAX"),
            "SecurityGroupEgress": [Match.object_like({"CidrIp": "255.255.255.255/32"})],
        },
    )


def test_subnet_group_uses_private_subnets() -> None:
    _, _, t = build()
    t.has_resource_properties(
        "AWS::DAX::SubnetGroup",
        {
            "SubnetIds": [
                {"Ref": Match.string_like_regexp("VpcprivateSubnet1")},
                {"Ref": Match.string_like_regexp("VpcprivateSubnet2")},
            ]
        },
    )


def test_existing_security_group() -> None:
    stack = new_stack()
    vpc = new_vpc(stack)
    group = ec2.SecurityGroup(stack, "Mine", vpc=vpc)
    dax = make_dax(stack, "Dax", vpc=vpc, table=new_table(stack), security_group=group)
    assert dax.security_group is group
    assertions.Template.from_stack(stack).resource_count_is("AWS::EC2::SecurityGroup", 1)


# --- grants -------------------------------------------------------------------------------


def _granted(grant: str) -> assertions.Template:
    stack = new_stack()
    vpc = new_vpc(stack)
    dax = make_dax(stack, "Dax", vpc=vpc, table=new_table(stack))
    fn = new_function(stack, vpc)
    getattr(dax, grant)(fn)
    return assertions.Template.from_stack(stack)


READ = ["dax:GetItem", "dax:BatchGetItem", "dax:Query", "dax:ConditionCheckItem"]
WRITE = ["dax:PutItem", "dax:UpdateItem", "dax:DeleteItem", "dax:BatchWriteItem"]


@pytest.mark.parametrize(
    ("grant", "actions"),
    [("grant_read", READ), ("grant_write", WRITE), ("grant_read_write", READ + WRITE)],
)
def test_grants_actions_on_the_cluster_only(grant: str, actions: list[str]) -> None:
    t = _granted(grant)
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": actions,
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": ["DaxClusterBF482228", "Arn"]},
                    }
                ]
            },
            "Roles": [{"Ref": Match.string_like_regexp("FnServiceRole")}],
        },
    )
    assert "dax:Scan" not in actions


@pytest.mark.parametrize("grant", ["grant_read", "grant_write"])
def test_grants_open_tls_port_and_set_the_endpoint(grant: str) -> None:
    t = _granted(grant)
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "IpProtocol": "tcp",
            "FromPort": 9111,
            "ToPort": 9111,
            "SourceSecurityGroupId": {
                "Fn::GetAtt": [Match.string_like_regexp("FnSecurityGroup"), "GroupId"]
            },
        },
    )
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": {
                    "DAX_ENDPOINT": {
                        "Fn::GetAtt": ["DaxClusterBF482228", "ClusterDiscoveryEndpointURL"]
                    }
                }
            }
        },
    )


def test_grant_needs_a_function_in_the_vpc() -> None:
    stack, dax, _ = build()
    with pytest.raises(ValueError, match="fn must run in a VPC"):
        dax.grant_read(new_function(stack))


# --- metrics ------------------------------------------------------------------------------


def test_metrics_use_the_dax_namespace_and_cluster_id() -> None:
    stack, dax, _ = build()
    expected = {
        "metric_item_cache_hits": "ItemCacheHits",
        "metric_item_cache_misses": "ItemCacheMisses",
        "metric_query_cache_hits": "QueryCacheHits",
        "metric_query_cache_misses": "QueryCacheMisses",
        "metric_evicted_size": "EvictedSize",
        "metric_error_request_count": "ErrorRequestCount",
        "metric_fault_request_count": "FaultRequestCount",
    }
    for method, name in expected.items():
        metric = getattr(dax, method)()
        assert isinstance(metric, cloudwatch.Metric)
        assert (metric.namespace, metric.metric_name, metric.statistic) == (
            "AWS/DAX",
            name,
            "Sum",
        )
        assert stack.resolve(metric.dimensions) == {"ClusterId": {"Ref": "DaxClusterBF482228"}}
    assert dax.metric_cpu_utilization().statistic == "Maximum"


# --- cdk-nag ------------------------------------------------------------------------------


@pytest.mark.synth
def test_passes_aws_solutions_checks() -> None:
    stack = new_stack(nag=True)
    vpc = new_vpc(stack)
    dax = make_dax(stack, "Dax", vpc=vpc, table=new_table(stack), index_names=["category-index"])
    fn = new_function(stack, vpc)
    dax.grant_read(fn)
    dax.grant_write(fn)
    synth_app(stack)


# --- validation: one test per rule --------------------------------------------------------


@pytest.mark.parametrize("factor", [0, 2, 11, True, 1.5])
def test_replication_factor_rule(factor: object) -> None:
    with pytest.raises(ValueError, match=r"replication_factor must be 1 or 3\.\.10"):
        build(replication_factor=factor)


@pytest.mark.parametrize("factor", [1, 3, 10])
def test_replication_factor_allowed(factor: int) -> None:
    _, _, t = build(replication_factor=factor)
    t.has_resource_properties("AWS::DAX::Cluster", {"ReplicationFactor": factor})


def test_node_type_rule() -> None:
    with pytest.raises(ValueError, match=r"node_type must look like 'dax\.r5\.large'"):
        build(node_type="r5.large")


@pytest.mark.parametrize("name", ["1dax", "a" * 21, "ends-", "a--b", "under_score"])
def test_cluster_name_rule(name: str) -> None:
    with pytest.raises(ValueError, match=r"cluster_name must be 2\.\.20"):
        build(cluster_name=name)


def test_table_or_role_not_both() -> None:
    stack = new_stack()
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/dax")
    with pytest.raises(ValueError, match="give either role or table, not both"):
        make_dax(stack, "Dax", vpc=new_vpc(stack), table=new_table(stack), role=role)


def test_table_or_role_required() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="give table"):
        make_dax(stack, "Dax", vpc=new_vpc(stack))


def test_an_existing_parameter_group_wins_over_the_policy_ttls() -> None:
    # An owner (CachedProductService) always says which reads DAX serves; a caller's own
    # parameter group then holds the TTLs and nothing is built from the policy.
    _, dax, t = build(parameter_group_name="p", cache_policy=CachePolicy.DYNAMIC)
    t.resource_count_is("AWS::DAX::ParameterGroup", 0)
    t.has_resource_properties("AWS::DAX::Cluster", {"ParameterGroupName": "p"})
    assert dax.cache_policy is CachePolicy.DYNAMIC


def test_policy_must_be_a_cache_policy() -> None:
    with pytest.raises(ValueError, match="cache_policy must be a CachePolicy"):
        build(cache_policy="dynamic")


def test_props_must_be_dax_cache_props() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="props must be a DaxCacheProps"):
        DaxCache(stack, "Dax", vpc=new_vpc(stack), table=new_table(stack), props={"x": 1})  # type: ignore[arg-type]


def test_a_typo_in_the_props_names_the_props_class_and_the_key() -> None:
    with pytest.raises(ValueError, match=r"DaxCacheProps.node_typ is not a prop \(did you mean"):
        DaxCacheProps(node_typ="dax.r5.large")  # type: ignore[call-arg]


def test_policy_must_use_dax() -> None:
    with pytest.raises(ValueError, match="does not use the 'dax' layer"):
        build(cache_policy=CachePolicy.REAL_TIME)


def test_index_names_rule() -> None:
    with pytest.raises(
        ValueError, match=r"DaxCacheProps\.index_names must hold DynamoDB index names"
    ):
        build(index_names=["a"])


def test_index_names_need_the_built_role() -> None:
    stack = new_stack()
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/dax")
    with pytest.raises(ValueError, match="index_names only applies"):
        make_dax(stack, "Dax", vpc=new_vpc(stack), role=role, index_names=["category-index"])


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
        make_dax(
            stack,
            "Dax",
            vpc=vpc,
            table=new_table(stack),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )


def test_unresolved_tokens_are_not_validated() -> None:
    stack = new_stack()
    factor = cdk.CfnParameter(stack, "Nodes", type="Number", default=3).value_as_number
    node_type = cdk.CfnParameter(stack, "NodeType", default="dax.r5.large").value_as_string
    make_dax(
        stack,
        "Dax",
        vpc=new_vpc(stack),
        table=new_table(stack),
        replication_factor=factor,  # type: ignore[arg-type]
        node_type=node_type,
    )
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::DAX::Cluster",
        {"ReplicationFactor": {"Ref": "Nodes"}, "NodeType": {"Ref": "NodeType"}},
    )


def test_vpc_subnets_select_where_the_cluster_lives() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ec2.SubnetConfiguration(name="dax", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    make_dax(
        stack,
        "Dax",
        vpc=vpc,
        table=new_table(stack),
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="dax"),
    )
    (group,) = (
        assertions.Template.from_stack(stack).find_resources("AWS::DAX::SubnetGroup").values()
    )
    refs = [s["Ref"] for s in group["Properties"]["SubnetIds"]]
    assert len(refs) == 2 and all(r.startswith("VpcdaxSubnet") for r in refs)
