"""CachedProductService: table, functions, caches, least privilege, props (bundling skipped)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks

from cache_constructs import (
    CacheAlarms,
    CacheDashboard,
    CachedProductService,
    CachedRestApiProps,
    CachePolicy,
    DaxCacheProps,
    ImportedValkeyCache,
    ReplicatedValkeyCacheProps,
    ServerlessValkeyCache,
    ServerlessValkeyCacheProps,
)
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
    _, template = _template(valkey_cache_props=ReplicatedValkeyCacheProps())
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


def _gateway_endpoints(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The DynamoDB gateway endpoints (the Lambda interface endpoint of push is apart)."""
    return {
        k: v
        for k, v in _resources(template, "AWS::EC2::VPCEndpoint").items()
        if v["Properties"]["VpcEndpointType"] == "Gateway"
    }


def _service_log_groups(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # The test VPC's flow log group is not the service's.
    groups = _resources(template, "AWS::Logs::LogGroup")
    return {k: v for k, v in groups.items() if k.startswith("ProductService")}


def _log_group_policies(template: dict[str, Any]) -> set[str]:
    return {g["DeletionPolicy"] for g in _service_log_groups(template).values()}


def test_log_groups_are_retained_by_default(default: Any) -> None:
    _, template = default
    # Four function log groups, the API's access log group, and the push channel's two (the
    # Event API's and its publisher function's).
    assert len(_service_log_groups(template)) == 7
    assert _log_group_policies(template) == {"Retain"}


def test_log_groups_follow_the_removal_policy() -> None:
    _, template = _template(removal_policy=cdk.RemovalPolicy.DESTROY)
    assert _log_group_policies(template) == {"Delete"}


def test_rest_api_props_may_keep_the_access_logs_apart() -> None:
    _, template = _template(
        removal_policy=cdk.RemovalPolicy.DESTROY,
        rest_api_props=CachedRestApiProps(log_removal_policy=cdk.RemovalPolicy.RETAIN),
    )
    policies = {
        key: group["DeletionPolicy"] for key, group in _service_log_groups(template).items()
    }
    assert [key for key, policy in policies.items() if policy == "Retain"] == [
        key for key in policies if key.startswith("ProductServiceApiAccessLogs")
    ]
    assert sorted(policies.values()) == ["Delete"] * 6 + ["Retain"]


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
    (endpoint,) = _gateway_endpoints(template).values()
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert ".dynamodb" in json.dumps(endpoint["Properties"]["ServiceName"])
    assert service.dynamodb_endpoint is not None


def test_existing_gateway_endpoint_is_reused() -> None:
    _, stack, vpc = _stack()
    own = vpc.add_gateway_endpoint("Dynamo", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
    service = CachedProductService(stack, "ProductService", vpc=vpc)
    template = assertions.Template.from_stack(stack).to_json()
    assert len(_gateway_endpoints(template)) == 1
    assert service.dynamodb_endpoint is not None
    assert service.dynamodb_endpoint.node.path == own.node.path


def test_gateway_endpoint_can_be_turned_off() -> None:
    _, template = _template(dynamodb_gateway_endpoint=False)
    assert not _gateway_endpoints(template)


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
    _, template = _template(dax_cache_props=DaxCacheProps(replication_factor=1))
    (cluster,) = _resources(template, "AWS::DAX::Cluster").values()
    assert cluster["Properties"]["ReplicationFactor"] == 1
    assert cluster["Properties"]["ClusterEndpointEncryptionType"] == "TLS"


def test_replication_group_mode_sets_non_serverless_env() -> None:
    _, template = _template(valkey_cache_props=ReplicatedValkeyCacheProps(replicas_per_shard=2))
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
        (
            {"enable_dax": False, "dax_cache_props": DaxCacheProps(replication_factor=1)},
            "dax_cache_props must not be given when enable_dax is False",
        ),
        # The old untyped bags are refused, naming the prop and the type it wants.
        (
            {"valkey_cache_props": {"mode": "serverless"}},
            "valkey_cache_props must be a ServerlessValkeyCacheProps or "
            "ReplicatedValkeyCacheProps; got dict",
        ),
        ({"dax_cache_props": {"replication_factor": 1}}, "dax_cache_props must be a DaxCacheProps"),
        ({"rest_api_props": {"stage_name": "v1"}}, "rest_api_props must be a CachedRestApiProps"),
        (
            {"item_policy": "static"},
            r"item_policy must be a CachePolicy \(e.g. CachePolicy.named\('static'\).*got str",
        ),
        ({"list_policy": "dynamic"}, "list_policy must be a CachePolicy"),
        (
            {"item_policy": CachePolicy.REAL_TIME},
            "item_policy 'real-time' does not use the 'dax' layer",
        ),
        ({"log_removal_policy": cdk.RemovalPolicy.SNAPSHOT}, "log_removal_policy must be one of"),
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
    _, template = _template(
        rest_api_props=CachedRestApiProps(stage_name="v1", throttling_rate_limit=7)
    )
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

    def _build_rest_api(self, props: CachedRestApiProps) -> CachedRestApi:
        tuned = dataclasses.replace(props, stage_name="tuned")
        return CachedRestApi(self, "Api", props=tuned, log_defaults=self.log_settings)

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


# -- existing resources (an existing resource or the props to build one, never both) -------

_STREAM_ARN = (
    "arn:aws:dynamodb:eu-west-1:123456789012:table/products/stream/2026-01-01T00:00:00.000"
)


def _imported_table(stack: cdk.Stack, **attributes: Any) -> dynamodb.ITable:
    return dynamodb.Table.from_table_attributes(
        stack,
        "ImportedTable",
        table_arn="arn:aws:dynamodb:eu-west-1:123456789012:table/products",
        **{"table_stream_arn": _STREAM_ARN, **attributes},
    )


def test_an_imported_table_is_used_and_no_table_is_built() -> None:
    _, stack, vpc = _stack()
    service = CachedProductService(stack, "ProductService", vpc=vpc, table=_imported_table(stack))
    template = assertions.Template.from_stack(stack).to_json()
    assert not _resources(template, "AWS::DynamoDB::Table")
    env = _function(template, "ReadFunction")[1]["Properties"]["Environment"]["Variables"]
    assert env["TABLE_NAME"] == "products"
    table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/products"
    (get,) = [s for s in _statements(template, "ReadFunction") if s["Action"] == "dynamodb:GetItem"]
    assert get["Resource"] == table_arn
    (query,) = [s for s in _statements(template, "ListFunction") if s["Action"] == "dynamodb:Query"]
    assert query["Resource"] == f"{table_arn}/index/category-index"
    (mapping,) = _resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"] == _STREAM_ARN
    assert service.table.table_arn == table_arn


def test_an_imported_table_without_its_stream_arn_is_refused() -> None:
    _, stack, vpc = _stack()
    table = dynamodb.Table.from_table_name(stack, "NoStream", "products")
    with pytest.raises(ValueError, match="table must bring its stream ARN"):
        CachedProductService(stack, "ProductService", vpc=vpc, table=table)


def test_an_imported_tables_key_is_granted_to_the_functions() -> None:
    _, stack, vpc = _stack()
    key = kms.Key.from_key_arn(
        stack,
        "TableKey",
        "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    )
    CachedProductService(
        stack, "ProductService", vpc=vpc, table=_imported_table(stack, encryption_key=key)
    )
    template = assertions.Template.from_stack(stack).to_json()
    for name in ("ReadFunction", "ListFunction", "WriteFunction", "InvalidationFunction"):
        kms_actions = {a for a in _actions(_statements(template, name)) if a.startswith("kms:")}
        assert "kms:Decrypt" in kms_actions, name
    assert "kms:Encrypt" in _actions(_statements(template, "WriteFunction"))


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("removal_policy", cdk.RemovalPolicy.DESTROY),
        ("deletion_protection", False),
        ("table_encryption_key", "KEY"),
    ],
)
def test_a_table_and_the_props_that_would_build_one_are_refused(prop: str, value: Any) -> None:
    _, stack, vpc = _stack()
    if value == "KEY":
        value = kms.Key(stack, "Key", enable_key_rotation=True)
    with pytest.raises(ValueError, match=f"give either table or {prop}, not both"):
        CachedProductService(
            stack, "ProductService", vpc=vpc, table=_imported_table(stack), **{prop: value}
        )


def _own_table(
    stack: cdk.Stack, *, sort_key: str = "SK", index: bool = True, **kw: Any
) -> dynamodb.Table:
    table = dynamodb.Table(
        stack,
        "OwnTable",
        partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING),
        stream=kw.pop("stream", dynamodb.StreamViewType.NEW_AND_OLD_IMAGES),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )
    if index:
        table.add_global_secondary_index(
            index_name="category-index",
            partition_key=dynamodb.Attribute(name="category", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="productId", type=dynamodb.AttributeType.STRING),
        )
    return table


def test_a_table_of_the_app_with_the_product_schema_is_used() -> None:
    _, stack, vpc = _stack()
    table = _own_table(stack)
    service = CachedProductService(stack, "ProductService", vpc=vpc, table=table)
    template = assertions.Template.from_stack(stack).to_json()
    assert set(_resources(template, "AWS::DynamoDB::Table")) == {
        stack.get_logical_id(table.node.default_child)  # type: ignore[arg-type]
    }
    assert service.table is table


@pytest.mark.parametrize(
    ("table_kwargs", "message"),
    [
        ({"sort_key": "id"}, r"table must have partition key 'PK' and sort key 'SK'"),
        ({"index": False}, r"table must have the global secondary index 'category-index'"),
        (
            {"stream": dynamodb.StreamViewType.NEW_IMAGE},
            r"table's stream must be NEW_AND_OLD_IMAGES",
        ),
        ({"stream": None}, r"table must bring its stream ARN"),
    ],
)
def test_a_table_of_the_app_is_checked_against_the_schema(
    table_kwargs: dict[str, Any], message: str
) -> None:
    _, stack, vpc = _stack()
    with pytest.raises(ValueError, match=message):
        CachedProductService(
            stack, "ProductService", vpc=vpc, table=_own_table(stack, **table_kwargs)
        )


def test_an_existing_valkey_cache_is_used_and_none_is_built() -> None:
    _, stack, vpc = _stack()
    cache = ServerlessValkeyCache(
        stack, "SharedCache", vpc=vpc, props=ServerlessValkeyCacheProps(cache_name="shared-l2")
    )
    service = CachedProductService(stack, "ProductService", vpc=vpc, valkey_cache=cache)
    template = assertions.Template.from_stack(stack).to_json()
    assert list(_resources(template, "AWS::ElastiCache::ServerlessCache")) == [
        stack.get_logical_id(cache.serverless_cache)
    ]
    env = _function(template, "ReadFunction")[1]["Properties"]["Environment"]["Variables"]
    assert env["REDIS_CACHE_NAME"] == "shared-l2"
    assert service.valkey_cache is cache
    assert service.metric_sources.valkey is cache


def test_an_imported_valkey_endpoint_is_granted_like_a_built_cache() -> None:
    _, stack, vpc = _stack()
    group = ec2.SecurityGroup.from_security_group_id(stack, "CacheGroup", "sg-0123456789abcdef0")
    cache = ImportedValkeyCache(
        stack,
        "TeamCache",
        endpoint_address="team-cache.abc123.cache.amazonaws.com",
        security_group=group,
        cache_name="team-cache",
        user_name="products-app",
    )
    service = CachedProductService(stack, "ProductService", vpc=vpc, valkey_cache=cache)
    template = assertions.Template.from_stack(stack).to_json()
    assert not _resources(template, "AWS::ElastiCache::ServerlessCache")
    env = _function(template, "ReadFunction")[1]["Properties"]["Environment"]["Variables"]
    assert env["REDIS_HOST"] == "team-cache.abc123.cache.amazonaws.com"
    assert (env["REDIS_PORT"], env["REDIS_TLS"], env["REDIS_AUTH"]) == ("6379", "true", "iam")
    assert env["REDIS_USER"] == "products-app" and env["REDIS_SERVERLESS"] == "false"
    ingress = [
        r["Properties"]
        for r in _resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == "sg-0123456789abcdef0"
    ]
    assert len(ingress) == 4 and {i["FromPort"] for i in ingress} == {6379}
    (connect,) = [
        s for s in _statements(template, "ReadFunction") if s["Action"] == "elasticache:Connect"
    ]
    assert "replicationgroup:team-cache" in json.dumps(connect["Resource"])
    assert "user:products-app" in json.dumps(connect["Resource"])
    # An imported endpoint offers no metrics: the dashboard and alarms leave Valkey out.
    assert service.metric_sources.valkey is None


def test_a_valkey_cache_and_its_props_are_refused() -> None:
    _, stack, vpc = _stack()
    cache = ServerlessValkeyCache(stack, "SharedCache", vpc=vpc)
    with pytest.raises(ValueError, match="give either valkey_cache or valkey_cache_props"):
        CachedProductService(
            stack,
            "ProductService",
            vpc=vpc,
            valkey_cache=cache,
            valkey_cache_props=ServerlessValkeyCacheProps(),
        )


def test_the_valkey_props_type_picks_the_variant() -> None:
    _, template = _template(valkey_cache_props=ServerlessValkeyCacheProps(max_data_storage_gb=3))
    (cache,) = _resources(template, "AWS::ElastiCache::ServerlessCache").values()
    assert cache["Properties"]["CacheUsageLimits"]["DataStorage"]["Maximum"] == 3
    assert not _resources(template, "AWS::ElastiCache::ReplicationGroup")


def test_an_existing_alarm_topic_takes_the_service_alarms() -> None:
    _, stack, vpc = _stack()
    service = CachedProductService(stack, "ProductService", vpc=vpc)
    topic = sns.Topic.from_topic_arn(stack, "Pager", "arn:aws:sns:eu-west-1:123456789012:pager")
    alarms = CacheAlarms(stack, "Alarms", sources=service, topic=topic)
    template = assertions.Template.from_stack(stack).to_json()
    assert not _resources(template, "AWS::SNS::Topic")
    assert alarms.alarms
    for alarm in _resources(template, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:pager"]


def test_the_dashboard_and_the_alarms_take_the_whole_service() -> None:
    _, stack, vpc = _stack()
    service = CachedProductService(stack, "ProductService", vpc=vpc)
    dashboard = CacheDashboard(stack, "Dashboard", sources=service)
    alarms = CacheAlarms(stack, "Alarms", sources=service)
    assert dashboard.sections == [
        "API Gateway cache",
        "Cache layers (handler metrics)",
        "Valkey (L2)",
        "DAX",
        "Lambda functions",
        "Stream invalidation",
        "DynamoDB table",
        "Push invalidation",
    ]
    # Every function has its error alarms (the push publisher too); every part its own kinds.
    assert {key for key in alarms.alarms if key.startswith("LambdaErrors")} == {
        f"LambdaErrors{f}{level}"
        for f in (
            "ReadFunction",
            "ListFunction",
            "WriteFunction",
            "InvalidationFunction",
            "PublisherFunction",
        )
        for level in ("Warning", "Critical")
    }
    assert {
        "ValkeyMemoryCritical",
        "DaxFaultsCritical",
        "DlqDepthCritical",
        "PushHandoverFailuresCritical",
        "PushPublishFailuresCritical",
        "PushDroppedCritical",
        "PushPublishErrorsCritical",
    } <= set(alarms.alarms)


# -- one DynamoDB gateway endpoint per VPC ---------------------------------------------------


def test_two_services_on_one_vpc_in_one_stack_share_one_gateway_endpoint() -> None:
    _, stack, vpc = _stack()
    first = CachedProductService(stack, "Products", vpc=vpc)
    second = CachedProductService(stack, "Catalog", vpc=vpc, enable_dax=False)
    template = assertions.Template.from_stack(stack).to_json()
    (endpoint_id,) = _gateway_endpoints(template)
    assert endpoint_id.startswith("VpcDynamoDbGatewayEndpoint")
    assert first.dynamodb_endpoint is not None and second.dynamodb_endpoint is not None
    assert first.dynamodb_endpoint.node.path == second.dynamodb_endpoint.node.path
    # One prefix-list lookup per stack, used by both services' egress rules.
    # The lookup, and each API's cache-control setting.
    assert len(_resources(template, "Custom::AWS")) == 3
    lookups = [k for k in template["Resources"] if k.startswith("DynamoDbPrefixList")]
    assert len([k for k in lookups if template["Resources"][k]["Type"] == "Custom::AWS"]) == 1


def test_two_services_on_one_vpc_in_two_stacks_share_one_gateway_endpoint() -> None:
    app, network, vpc = _stack()
    CachedProductService(network, "Products", vpc=vpc)
    other = cdk.Stack(app, "Other", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    CachedProductService(other, "Catalog", vpc=vpc, enable_dax=False)
    network_t = assertions.Template.from_stack(network).to_json()
    other_t = assertions.Template.from_stack(other).to_json()
    assert len(_gateway_endpoints(network_t)) == 1
    assert not _resources(other_t, "AWS::EC2::VPCEndpoint")
    # The second stack's functions still reach DynamoDB through its own prefix-list lookup.
    egress = [
        r["Properties"] for r in _resources(other_t, "AWS::EC2::SecurityGroupEgress").values()
    ]
    assert any("DestinationPrefixListId" in e for e in egress)


def test_the_endpoint_routes_every_private_subnet_of_the_vpc() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "Test", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    CachedProductService(
        stack, "Products", vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_group_name="app")
    )
    template = assertions.Template.from_stack(stack).to_json()
    (endpoint,) = _gateway_endpoints(template).values()
    # A later service in the "data" subnets finds DynamoDB routed there too.
    assert len(endpoint["Properties"]["RouteTableIds"]) == 4


def test_an_imported_vpc_gets_an_endpoint_only_when_asked() -> None:
    _, stack, _ = _stack()
    imported = ec2.Vpc.from_vpc_attributes(
        stack,
        "Imported",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        isolated_subnet_ids=["subnet-a", "subnet-b"],
        isolated_subnet_route_table_ids=["rtb-a", "rtb-b"],
    )
    service = CachedProductService(stack, "Products", vpc=imported)
    assert service.dynamodb_endpoint is None
    CachedProductService(
        stack, "Catalog", vpc=imported, dynamodb_gateway_endpoint=True, enable_dax=False
    )
    template = assertions.Template.from_stack(stack).to_json()
    (endpoint,) = _gateway_endpoints(template).values()
    assert endpoint["Properties"]["RouteTableIds"] == ["rtb-a", "rtb-b"]


# -- network and logs (security findings) ---------------------------------------------------


def test_function_egress_is_dynamodb_prefix_list_cache_ports_and_the_lambda_endpoint(
    default: Any,
) -> None:
    service, template = default
    assert service.lambda_endpoint is not None
    (endpoint_sg,) = service.lambda_endpoint.connections.security_groups
    endpoint_sg_id = {
        "Fn::GetAtt": [
            f"{endpoint_sg.stack.get_logical_id(endpoint_sg.node.default_child)}",
            "GroupId",
        ]
    }
    invalidation_sg = json.dumps(
        _function(template, "InvalidationFunction")[1]["Properties"]["VpcConfig"][
            "SecurityGroupIds"
        ][0]
    )
    function_groups = {
        json.dumps(_function(template, name)[1]["Properties"]["VpcConfig"]["SecurityGroupIds"][0])
        for name in HANDLERS
    }
    egress = [
        r["Properties"]
        for r in _resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if json.dumps(r["Properties"]["GroupId"]) in function_groups
    ]
    assert egress
    for rule in egress:
        assert "CidrIp" not in rule and "CidrIpv6" not in rule, rule
        if "DestinationPrefixListId" in rule:
            assert (rule["FromPort"], rule["ToPort"]) == (443, 443)
            assert rule["DestinationPrefixListId"]["Fn::GetAtt"][0].startswith("DynamoDbPrefixList")
        elif rule.get("DestinationSecurityGroupId") == endpoint_sg_id:
            # 443 to the Lambda interface endpoint: the invalidation function's only.
            assert (rule["FromPort"], rule["ToPort"]) == (443, 443)
            assert json.dumps(rule["GroupId"]) == invalidation_sg
        else:
            assert rule["FromPort"] in (6379, 9111), rule
    # No function security group allows all outbound traffic inline either.
    for key, group in _resources(template, "AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupEgress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0" or rule.get("IpProtocol") == "icmp", key


def test_the_prefix_list_lookup_reads_only_the_dynamodb_prefix_list(default: Any) -> None:
    _, template = default
    (lookup,) = [
        r
        for k, r in _resources(template, "Custom::AWS").items()
        if k.startswith("DynamoDbPrefixList")
    ]
    create = json.dumps(lookup["Properties"]["Create"])
    assert "describePrefixLists" in create and ".dynamodb" in create
    (policy,) = [
        r
        for k, r in _resources(template, "AWS::IAM::Policy").items()
        if k.startswith("DynamoDbPrefixList")
    ]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "ec2:DescribePrefixLists", "Effect": "Allow", "Resource": "*"}
    ]


def test_log_encryption_key_encrypts_every_log_group_of_the_service() -> None:
    _, stack, vpc = _stack()
    key = kms.Key(stack, "LogKey", enable_key_rotation=True)
    CachedProductService(stack, "ProductService", vpc=vpc, log_encryption_key=key)
    template = assertions.Template.from_stack(stack).to_json()
    key_arn = {"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}  # type: ignore[arg-type]
    groups = {
        k: g
        for k, g in _resources(template, "AWS::Logs::LogGroup").items()
        if k.startswith(("ProductService", "CustomResourceProviderLogs"))
    }
    # Four functions, the API's access logs, the custom resources, the Event API and its
    # publisher function.
    assert len(groups) == 8
    assert all(g["Properties"]["KmsKeyId"] == key_arn for g in groups.values())


def test_without_a_log_key_each_log_group_says_why_checkov_may_skip_the_kms_check(
    default: Any,
) -> None:
    _, template = default
    for key, group in _service_log_groups(template).items():
        skips = {s["id"] for s in group.get("Metadata", {}).get("checkov", {}).get("skip", [])}
        assert skips == {"CKV_AWS_158"}, key


def test_the_stage_cache_can_be_switched_off_and_the_list_policy_follows() -> None:
    service, template = _template(
        rest_api_props=CachedRestApiProps(stage_cache_enabled=False, web_acl_enabled=False)
    )
    (stage,) = _resources(template, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["CacheClusterEnabled"] is False
    assert {s["CachingEnabled"] for s in stage["Properties"]["MethodSettings"]} == {False}
    assert "api" not in service.list_policy.layers
    env = _function(template, "ListFunction")[1]["Properties"]["Environment"]["Variables"]
    assert "api" not in json.loads(env["LIST_CACHE_POLICY"])["layers"]
    assert "CacheKeyParameters" not in _methods(template)["GET /products"]["Integration"]
    assert not _resources(template, "AWS::WAFv2::WebACL")
