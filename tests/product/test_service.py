"""CachedProductService: table, functions, caches, least privilege, props (bundling skipped)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from cdk_nag import AwsSolutionsChecks

from cache_constructs import CachedProductService, CachePolicy
from cache_constructs.cached_rest_api import CachedRestApi
from cache_constructs.product.routes import GET_PRODUCT, LIST_PRODUCTS, policy_for_route
from cache_constructs.stream_invalidator import StreamInvalidator

HANDLERS = {
    "ReadFunction": "cache_constructs.product.handlers.read_handler.handler",
    "ListFunction": "cache_constructs.product.handlers.list_handler.handler",
    "WriteFunction": "cache_constructs.product.handlers.write_handler.handler",
    "InvalidationFunction": "cache_constructs.product.handlers.stream_handler.handler",
}


def _stack(nag: bool = False) -> tuple[cdk.App, cdk.Stack, ec2.Vpc]:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Test", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    vpc.add_flow_log("FlowLog")
    return app, stack, vpc


def _template(**props: Any) -> tuple[CachedProductService, dict[str, Any]]:
    _, stack, vpc = _stack()
    service = CachedProductService(stack, "ProductService", vpc=vpc, **props)
    return service, assertions.Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def default() -> tuple[CachedProductService, dict[str, Any]]:
    return _template()


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _function(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in _resources(template, "AWS::Lambda::Function").items()
        if k.startswith(f"ProductService{name}") and "SecurityGroup" not in k
    ]
    return found


def _statements(template: dict[str, Any], function_name: str) -> list[dict[str, Any]]:
    _, function = _function(template, function_name)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in _resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        value = statement["Action"]
        actions.update([value] if isinstance(value, str) else value)
    return actions


# -- logical ids of the stateful resources (renaming one replaces data) -------------------


def test_logical_ids_of_stateful_resources_are_pinned(default: Any) -> None:
    _, template = default
    assert set(_resources(template, "AWS::DynamoDB::Table")) == {"ProductServiceTable126D9E79"}
    assert set(_resources(template, "AWS::ElastiCache::ServerlessCache")) == {
        "ProductServiceValkeyCacheServerlessCacheE0AB5424"
    }
    assert set(_resources(template, "AWS::DAX::Cluster")) == {
        "ProductServiceDaxCacheClusterA65FA82C"
    }


def test_replication_group_logical_id_is_pinned() -> None:
    _, template = _template(valkey_cache_props={"mode": "replication-group"})
    assert set(_resources(template, "AWS::ElastiCache::ReplicationGroup")) == {
        "ProductServiceValkeyCacheReplicationGroup6789F0E2"
    }
    assert not _resources(template, "AWS::ElastiCache::ServerlessCache")


# -- table ------------------------------------------------------------------------------------


def test_table_schema_stream_ttl_pitr_and_encryption(default: Any) -> None:
    _, template = default
    (table,) = _resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "category-index"
    assert gsi["KeySchema"] == [
        {"AttributeName": "category", "KeyType": "HASH"},
        {"AttributeName": "productId", "KeyType": "RANGE"},
    ]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}


def test_table_is_retained_and_protected_by_default(default: Any) -> None:
    _, template = default
    (table,) = _resources(template, "AWS::DynamoDB::Table").values()
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_destroy_removal_policy_turns_deletion_protection_off() -> None:
    _, template = _template(removal_policy=cdk.RemovalPolicy.DESTROY)
    (table,) = _resources(template, "AWS::DynamoDB::Table").values()
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"]["DeletionProtectionEnabled"] is False


def _service_log_groups(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # The test VPC's flow log group is not the service's.
    groups = _resources(template, "AWS::Logs::LogGroup")
    return {k: v for k, v in groups.items() if k.startswith("ProductService")}


def _log_group_policies(template: dict[str, Any]) -> set[str]:
    return {g["DeletionPolicy"] for g in _service_log_groups(template).values()}


def test_log_groups_are_retained_by_default(default: Any) -> None:
    _, template = default
    # Four function log groups and the API's access log group.
    assert len(_service_log_groups(template)) == 5
    assert _log_group_policies(template) == {"Retain"}


def test_log_groups_follow_the_removal_policy() -> None:
    _, template = _template(removal_policy=cdk.RemovalPolicy.DESTROY)
    assert _log_group_policies(template) == {"Delete"}


def test_rest_api_props_may_keep_the_access_logs_apart() -> None:
    _, template = _template(
        removal_policy=cdk.RemovalPolicy.DESTROY,
        rest_api_props={"log_removal_policy": cdk.RemovalPolicy.RETAIN},
    )
    policies = {
        key: group["DeletionPolicy"] for key, group in _service_log_groups(template).items()
    }
    assert [key for key, policy in policies.items() if policy == "Retain"] == [
        key for key in policies if key.startswith("ProductServiceApiAccessLogs")
    ]
    assert sorted(policies.values()) == ["Delete"] * 4 + ["Retain"]


def test_explicit_deletion_protection_wins() -> None:
    _, template = _template(removal_policy=cdk.RemovalPolicy.DESTROY, deletion_protection=True)
    (table,) = _resources(template, "AWS::DynamoDB::Table").values()
    assert table["Properties"]["DeletionProtectionEnabled"] is True


# -- functions --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_functions_runtime_arch_tracing_vpc_handler(default: Any, name: str) -> None:
    _, template = default
    _, function = _function(template, name)
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Handler"] == HANDLERS[name]
    assert len(props["VpcConfig"]["SubnetIds"]) == 2
    assert "ReservedConcurrentExecutions" not in props


def test_every_function_has_its_own_security_group_and_log_group(default: Any) -> None:
    _, template = default
    groups = []
    log_groups = []
    for name in HANDLERS:
        _, function = _function(template, name)
        groups.append(json.dumps(function["Properties"]["VpcConfig"]["SecurityGroupIds"]))
        log_groups.append(json.dumps(function["Properties"]["LoggingConfig"]["LogGroup"]))
    assert len(set(groups)) == 4
    assert len(set(log_groups)) == 4
    log_group_resources = _resources(template, "AWS::Logs::LogGroup")
    retention = {
        log_group_resources[json.loads(ref)["Ref"]]["Properties"]["RetentionInDays"]
        for ref in log_groups
    }
    assert retention == {30}


def test_one_shared_asset_for_every_function(default: Any) -> None:
    _, template = default
    keys = {json.dumps(_function(template, name)[1]["Properties"]["Code"]) for name in HANDLERS}
    assert len(keys) == 1


def test_environment_matches_the_contract(default: Any) -> None:
    service, template = default
    item_policy = policy_for_route(GET_PRODUCT).to_runtime_json()
    list_policy = policy_for_route(LIST_PRODUCTS).to_runtime_json()
    for name in HANDLERS:
        env = _function(template, name)[1]["Properties"]["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == "product-service"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "CachedProductService"
        assert env["TABLE_NAME"] == {"Ref": "ProductServiceTable126D9E79"}
        assert env["REDIS_TLS"] == "true"
        assert env["REDIS_AUTH"] == "iam"
        assert env["REDIS_CLUSTER"] == "true"
        assert env["REDIS_SERVERLESS"] == "true"
        assert {"REDIS_HOST", "REDIS_PORT", "REDIS_USER", "REDIS_CACHE_NAME"} <= set(env)
        # Every function gets both: each cache reads and invalidates by its own policy.
        assert env["ITEM_CACHE_POLICY"] == item_policy
        assert env["LIST_CACHE_POLICY"] == list_policy
        assert ("DAX_ENDPOINT" in env) == (name in ("ReadFunction", "WriteFunction"))
    assert json.loads(item_policy)["name"] == "semi-static"
    assert "api" not in json.loads(item_policy)["layers"]
    assert json.loads(list_policy)["name"] == "dynamic"
    assert service.item_policy.name == "semi-static"


def test_policies_and_namespace_are_props() -> None:
    _, template = _template(
        item_policy=CachePolicy.STATIC, metrics_namespace="Shop", memory_size_mb=1024
    )
    env = _function(template, "ReadFunction")[1]["Properties"]["Environment"]["Variables"]
    assert json.loads(env["ITEM_CACHE_POLICY"])["name"] == "static"
    assert json.loads(env["LIST_CACHE_POLICY"])["name"] == "dynamic"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Shop"
    assert _function(template, "ReadFunction")[1]["Properties"]["MemorySize"] == 1024


def test_reserved_concurrency_applies_to_the_api_functions() -> None:
    _, template = _template(reserved_concurrent_executions=50)
    for name in ("ReadFunction", "ListFunction", "WriteFunction"):
        assert _function(template, name)[1]["Properties"]["ReservedConcurrentExecutions"] == 50
    assert (
        "ReservedConcurrentExecutions"
        not in (_function(template, "InvalidationFunction")[1]["Properties"])
    )


# -- least privilege --------------------------------------------------------------------------


def test_read_function_may_only_get_items_and_read_dax(default: Any) -> None:
    _, template = default
    actions = {a for a in _actions(_statements(template, "ReadFunction")) if ":" in a}
    dynamo = {a for a in actions if a.startswith("dynamodb:")}
    assert dynamo == {"dynamodb:GetItem"}
    dax = {a for a in actions if a.startswith("dax:")}
    assert dax and not dax & {"dax:PutItem", "dax:DeleteItem", "dax:UpdateItem"}
    assert "elasticache:Connect" in actions


def test_list_function_may_only_query_the_category_index(default: Any) -> None:
    _, template = default
    statements = _statements(template, "ListFunction")
    (query,) = [s for s in statements if "dynamodb:Query" in json.dumps(s["Action"])]
    assert "/index/category-index" in json.dumps(query["Resource"])
    assert {a for a in _actions(statements) if a.startswith(("dynamodb:", "dax:"))} == {
        "dynamodb:Query"
    }


def test_write_function_may_put_delete_get_and_write_dax(default: Any) -> None:
    _, template = default
    actions = _actions(_statements(template, "WriteFunction"))
    assert {a for a in actions if a.startswith("dynamodb:")} == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",  # a create's transaction checks the deletion marker
    }
    assert {"dax:PutItem", "dax:DeleteItem", "dax:ConditionCheckItem"} <= actions


def test_invalidation_function_reads_the_stream_and_sends_to_the_dlq(default: Any) -> None:
    _, template = default
    actions = _actions(_statements(template, "InvalidationFunction"))
    assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator"} <= actions
    assert "sqs:SendMessage" in actions
    assert not actions & {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Query"}
    # Only to raise a TTL-expired product's deletion marker (and renumber a re-create).
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions
    (mapping,) = _resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["BisectBatchOnFunctionError"] is True


def test_functions_reach_the_caches_through_their_security_groups(default: Any) -> None:
    service, template = default
    egress = _resources(template, "AWS::EC2::SecurityGroupEgress")
    ports = {rule["Properties"]["FromPort"] for rule in egress.values()}
    assert {6379, 9111} <= ports
    assert service.dax_cache is not None


# -- network ------------------------------------------------------------------------------


def test_dynamodb_gateway_endpoint_is_added(default: Any) -> None:
    service, template = default
    (endpoint,) = _resources(template, "AWS::EC2::VPCEndpoint").values()
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert ".dynamodb" in json.dumps(endpoint["Properties"]["ServiceName"])
    assert service.dynamodb_endpoint is not None


def test_existing_gateway_endpoint_is_reused() -> None:
    _, stack, vpc = _stack()
    vpc.add_gateway_endpoint("Dynamo", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
    service = CachedProductService(stack, "ProductService", vpc=vpc)
    template = assertions.Template.from_stack(stack).to_json()
    assert len(_resources(template, "AWS::EC2::VPCEndpoint")) == 1
    assert service.dynamodb_endpoint is None


def test_gateway_endpoint_can_be_turned_off() -> None:
    _, template = _template(dynamodb_gateway_endpoint=False)
    assert not _resources(template, "AWS::EC2::VPCEndpoint")


def test_no_nat_gateway(default: Any) -> None:
    _, template = default
    assert not _resources(template, "AWS::EC2::NatGateway")


# -- caches -----------------------------------------------------------------------------------


def test_without_dax_no_cluster_and_no_endpoint_variable() -> None:
    service, template = _template(enable_dax=False)
    assert service.dax_cache is None
    assert not _resources(template, "AWS::DAX::Cluster")
    env = _function(template, "ReadFunction")[1]["Properties"]["Environment"]["Variables"]
    assert "DAX_ENDPOINT" not in env


def test_dax_props_are_passed_through() -> None:
    _, template = _template(dax_cache_props={"replication_factor": 1})
    (cluster,) = _resources(template, "AWS::DAX::Cluster").values()
    assert cluster["Properties"]["ReplicationFactor"] == 1
    assert cluster["Properties"]["ClusterEndpointEncryptionType"] == "TLS"


def test_replication_group_mode_sets_non_serverless_env() -> None:
    _, template = _template(
        valkey_cache_props={"mode": "replication-group", "replicas_per_shard": 2}
    )
    (group,) = _resources(template, "AWS::ElastiCache::ReplicationGroup").values()
    assert group["Properties"]["Engine"] == "valkey"
    env = _function(template, "ReadFunction")[1]["Properties"]["Environment"]["Variables"]
    assert env["REDIS_SERVERLESS"] == "false"
    assert env["REDIS_CLUSTER"] == "false"


# -- nag ----------------------------------------------------------------------------------


def test_passes_the_aws_solutions_checks() -> None:
    app, stack, vpc = _stack(nag=True)
    CachedProductService(stack, "ProductService", vpc=vpc)
    app.synth()  # raises on any unacknowledged finding


# -- props validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "named"),
    [
        ({"memory_size_mb": 64}, "memory_size_mb"),
        ({"memory_size_mb": True}, "memory_size_mb"),
        ({"timeout": cdk.Duration.seconds(60)}, "timeout"),
        ({"reserved_concurrent_executions": 0}, "reserved_concurrent_executions"),
        ({"removal_policy": cdk.RemovalPolicy.SNAPSHOT}, "removal_policy"),
        ({"metrics_namespace": ""}, "metrics_namespace"),
        ({"enable_dax": False, "dax_cache_props": {"replication_factor": 1}}, "dax_cache_props"),
        ({"valkey_cache_props": {"vpc_subnets": None}}, "valkey_cache_props"),
        ({"dax_cache_props": {"table": None}}, "dax_cache_props"),
        ({"valkey_cache_props": {"mode": "memcached"}}, "mode"),
        ({"dax_cache_props": {"replication_factor": 2}}, "replication_factor"),
    ],
)
def test_invalid_props_raise_value_error_naming_the_prop(props: dict[str, Any], named: str) -> None:
    _, stack, vpc = _stack()
    with pytest.raises(ValueError, match=named):
        CachedProductService(stack, "ProductService", vpc=vpc, **props)


# -- API ----------------------------------------------------------------------------------


def _method_settings(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    (stage,) = _resources(template, "AWS::ApiGateway::Stage").values()
    return {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}


def _methods(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    methods = {}
    for key, method in _resources(template, "AWS::ApiGateway::Method").items():
        path = "/products/{id}" if "productsid" in key else "/products"
        methods[f"{method['Properties']['HttpMethod']} {path}"] = method["Properties"]
    return methods


def test_every_route_is_served_by_its_function(default: Any) -> None:
    service, template = default
    methods = _methods(template)
    assert set(methods) == {
        "GET /products/{id}",
        "GET /products",
        "POST /products",
        "PUT /products/{id}",
        "DELETE /products/{id}",
    }
    assert set(service.methods) == set(methods)
    read_id, _ = _function(template, "ReadFunction")
    list_id, _ = _function(template, "ListFunction")
    write_id, _ = _function(template, "WriteFunction")
    expected = {
        "GET /products/{id}": read_id,
        "GET /products": list_id,
        "POST /products": write_id,
        "PUT /products/{id}": write_id,
        "DELETE /products/{id}": write_id,
    }
    for route, function_id in expected.items():
        assert function_id in json.dumps(methods[route]["Integration"]["Uri"]), route


def test_list_route_is_cached_at_api_gateway_keyed_by_its_query(default: Any) -> None:
    service, template = default
    keys = [
        "method.request.querystring.category",
        "method.request.querystring.limit",
        "method.request.querystring.cursor",
    ]
    method = _methods(template)["GET /products"]
    assert method["Integration"]["CacheKeyParameters"] == keys
    assert method["RequestParameters"] == {keys[0]: True, keys[1]: False, keys[2]: False}
    setting = _method_settings(template)[("/~1products", "GET")]
    assert setting["CachingEnabled"] is True
    assert setting["CacheTtlInSeconds"] == service.list_policy.api_ttl_seconds > 0


def test_item_route_is_not_cached_at_api_gateway_by_default(default: Any) -> None:
    _, template = default
    assert _method_settings(template)[("/~1products~1{id}", "GET")]["CachingEnabled"] is False
    assert "CacheKeyParameters" not in _methods(template)["GET /products/{id}"]["Integration"]


def test_item_route_api_cache_is_a_prop() -> None:
    service, template = _template(cache_item_route_at_api=True)
    setting = _method_settings(template)[("/~1products~1{id}", "GET")]
    assert setting["CachingEnabled"] is True
    assert setting["CacheTtlInSeconds"] == service.item_policy.api_ttl_seconds > 0
    assert _methods(template)["GET /products/{id}"]["Integration"]["CacheKeyParameters"] == [
        "method.request.path.id"
    ]


def test_writes_need_iam_and_reads_are_public(default: Any) -> None:
    _, template = default
    for route, method in _methods(template).items():
        expected = "NONE" if route.startswith("GET") else "AWS_IAM"
        assert method["AuthorizationType"] == expected, route


def test_rest_api_props_are_passed_through() -> None:
    _, template = _template(rest_api_props={"stage_name": "v1", "throttling_rate_limit": 7})
    (stage,) = _resources(template, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == "v1"
    assert {s["ThrottlingRateLimit"] for s in stage["Properties"]["MethodSettings"]} == {7}


def test_gateway_errors_use_the_api_error_shape(default: Any) -> None:
    service, template = default
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in _resources(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {
        "BAD_REQUEST_PARAMETERS",
        "BAD_REQUEST_BODY",
        "REQUEST_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
    }
    assert responses["REQUEST_TOO_LARGE"]["StatusCode"] == "413"
    assert responses["UNSUPPORTED_MEDIA_TYPE"]["StatusCode"] == "415"
    assert len(service.gateway_responses) == 4
    for response in responses.values():
        template_text = response["ResponseTemplates"]["application/json"]
        # Render the mapping template the way API Gateway would, with a message holding quotes.
        rendered = template_text.replace(
            "$util.escapeJavaScript($context.error.validationErrorString)",
            'missing \\\\"category\\\\"'.replace("\\\\", "\\"),
        ).replace("$context.error.messageString", '"Request Too Long"')
        body = json.loads(rendered)
        assert set(body) == {"error", "message"}
        assert body["error"] in {"bad_request", "payload_too_large", "unsupported_media_type"}
        assert response["ResponseParameters"] == {
            "gatewayresponse.header.Content-Type": "'application/json'"
        }


class _TunedService(CachedProductService):
    """Replaces the API and the stream invalidator through the overridable builders."""

    def _build_rest_api(self, props: Mapping[str, Any]) -> CachedRestApi:
        return CachedRestApi(self, "Api", **{**props, "stage_name": "tuned"})

    def _build_stream_invalidator(self) -> StreamInvalidator:
        return StreamInvalidator(
            self,
            "StreamInvalidator",
            table=self.table,
            function=self.invalidation_function,
            batch_size=10,
        )


def test_a_subclass_can_replace_the_api_and_the_stream_invalidator() -> None:
    _, stack, vpc = _stack()
    service = _TunedService(stack, "ProductService", vpc=vpc)
    template = assertions.Template.from_stack(stack).to_json()
    (stage,) = _resources(template, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == "tuned"
    (mapping,) = _resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["BatchSize"] == 10
    # The routes were still added to the replaced API.
    assert "GET /products" in service.methods
