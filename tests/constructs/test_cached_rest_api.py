"""CachedRestApi: stage cache per route from CachePolicy, cache keys, safety rules, logging."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from helpers import new_function, new_stack, synth_app

from cache_constructs.cached_rest_api import ACCESS_LOG_FIELDS, CachedRestApi, CachedRestApiProps
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.product.routes import GET_PRODUCT, LIST_PRODUCTS, policy_for_route

Match = assertions.Match
STAGE_ID = "ApiDeploymentStageprod95EFE650"
REST_API_ID = "ApiCD79AAA0"


def make_api(scope: cdk.Stack, id_: str, **props: Any) -> CachedRestApi:
    """A CachedRestApi whose `CachedRestApiProps` are the keywords."""
    return CachedRestApi(scope, id_, props=CachedRestApiProps(**props))


class Built:
    """A stack with the product routes wired the way CachedProductService does."""

    def __init__(self, *, nag: bool = False, list_policy: CachePolicy | None = None, **props: Any):
        self.stack = new_stack(nag=nag)
        self.fn = new_function(self.stack)
        self.api = make_api(self.stack, "Api", **props)
        self.integration = apigateway.LambdaIntegration(self.fn)
        self.products = self.api.root.add_resource("products")
        self.item = self.products.add_resource("{id}")
        self.list_method = self.api.add_cached_route(
            self.products,
            "GET",
            self.integration,
            policy=list_policy or policy_for_route(LIST_PRODUCTS),
            cache_key_parameters=LIST_PRODUCTS.cache_key_parameters,
            request_parameters=LIST_PRODUCTS.request_parameters,
        )
        self.item_method = self.api.add_cached_route(
            self.item, "GET", self.integration, policy=policy_for_route(GET_PRODUCT)
        )
        self.post_method = self.api.add_route(self.products, "POST", self.integration)

    @property
    def template(self) -> assertions.Template:
        return assertions.Template.from_stack(self.stack)


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


@pytest.fixture(scope="module")
def template(built: Built) -> assertions.Template:
    return built.template


def stage_properties(template: assertions.Template) -> dict[str, Any]:
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    return stage["Properties"]


# --- API and stage --------------------------------------------------------------------------


def test_regional_api(template: assertions.Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}}
    )


def test_logical_ids_are_pinned(template: assertions.Template) -> None:
    resources = template.to_json()["Resources"]
    assert resources[STAGE_ID]["Type"] == "AWS::ApiGateway::Stage"
    assert resources[REST_API_ID]["Type"] == "AWS::ApiGateway::RestApi"


def test_stage_cache_tracing_and_access_logs(template: assertions.Template) -> None:
    props = stage_properties(template)
    assert props["StageName"] == "prod"
    assert props["CacheClusterEnabled"] is True
    assert props["CacheClusterSize"] == "0.5"
    assert props["TracingEnabled"] is True
    destination = props["AccessLogSetting"]["DestinationArn"]
    assert destination["Fn::GetAtt"][0].startswith("ApiAccessLogs")
    assert json.loads(props["AccessLogSetting"]["Format"]) == ACCESS_LOG_FIELDS
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})


def test_method_settings_per_route(template: assertions.Template) -> None:
    settings = stage_properties(template)["MethodSettings"]
    common = {
        "LoggingLevel": "ERROR",
        "DataTraceEnabled": False,
        "MetricsEnabled": True,
        "ThrottlingRateLimit": 100,
        "ThrottlingBurstLimit": 200,
    }
    assert settings == [
        {
            **common,
            "HttpMethod": "*",
            "ResourcePath": "/*",
            "CachingEnabled": False,
            "CacheDataEncrypted": True,
        },
        {
            **common,
            "HttpMethod": "GET",
            "ResourcePath": "/~1products",
            "CachingEnabled": True,
            "CacheTtlInSeconds": 30,
            "CacheDataEncrypted": True,
        },
        {
            # The item route is explicitly off (removing settings does not turn a cache off).
            **common,
            "HttpMethod": "GET",
            "ResourcePath": "/~1products~1{id}",
            "CachingEnabled": False,
            "CacheTtlInSeconds": 0,
            "CacheDataEncrypted": True,
        },
    ]


def test_cache_ttl_follows_the_policy() -> None:
    settings = stage_properties(Built(list_policy=CachePolicy.STATIC).template)["MethodSettings"]
    assert settings[1]["CacheTtlInSeconds"] == 3600


def test_stage_props() -> None:
    t = Built(
        stage_name="v1",
        cache_cluster_size="6.1",
        throttling_rate_limit=50,
        throttling_burst_limit=10,
        logging_level=apigateway.MethodLoggingLevel.INFO,
        tracing_enabled=False,
        access_log_retention=logs.RetentionDays.ONE_YEAR,
    ).template
    props = stage_properties(t)
    assert (props["StageName"], props["CacheClusterSize"], props["TracingEnabled"]) == (
        "v1",
        "6.1",
        False,
    )
    for setting in props["MethodSettings"]:
        assert setting["ThrottlingRateLimit"] == 50
        assert setting["ThrottlingBurstLimit"] == 10
        assert setting["LoggingLevel"] == "INFO"
    t.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def test_existing_access_log_group() -> None:
    stack = new_stack()
    group = logs.LogGroup.from_log_group_name(stack, "Logs", "api-logs")
    api = make_api(stack, "Api", access_log_group=group)
    api.add_route(api.root, "GET", apigateway.MockIntegration(), authorization_type=_NONE)
    t = assertions.Template.from_stack(stack)
    # Only the custom resource provider's log group is built; the access logs go to "api-logs".
    assert list(t.find_resources("AWS::Logs::LogGroup")) == [
        key for key in t.to_json()["Resources"] if key.startswith("CustomResourceProviderLogs")
    ]
    assert "api-logs" in json.dumps(stage_properties(t)["AccessLogSetting"]["DestinationArn"])


def _access_log_group(template: assertions.Template) -> dict[str, Any]:
    (log_group,) = [
        group
        for key, group in template.find_resources("AWS::Logs::LogGroup").items()
        if key.startswith("ApiAccessLogs")
    ]
    return log_group


def test_access_logs_are_retained_by_default(template: assertions.Template) -> None:
    log_group = _access_log_group(template)
    assert log_group["DeletionPolicy"] == "Retain"
    assert log_group["UpdateReplacePolicy"] == "Retain"
    assert "KmsKeyId" not in log_group["Properties"]


def test_access_logs_follow_the_log_removal_policy() -> None:
    stack = new_stack()
    api = make_api(stack, "Api", log_removal_policy=cdk.RemovalPolicy.DESTROY)
    api.add_route(api.root, "GET", apigateway.MockIntegration(), authorization_type=_NONE)
    log_group = _access_log_group(assertions.Template.from_stack(stack))
    assert log_group["DeletionPolicy"] == "Delete"


def test_cloud_watch_role(template: assertions.Template) -> None:
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    stack = new_stack()
    api = make_api(stack, "Api", cloud_watch_role=False)
    api.add_route(api.root, "GET", apigateway.MockIntegration(), authorization_type=_NONE)
    assertions.Template.from_stack(stack).resource_count_is("AWS::ApiGateway::Account", 0)


# --- methods, cache keys, validation --------------------------------------------------------


def test_list_route_declares_its_cache_key_twice(template: assertions.Template) -> None:
    keys = [
        "method.request.querystring.category",
        "method.request.querystring.limit",
        "method.request.querystring.cursor",
    ]
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "GET",
            "ResourceId": {"Ref": Match.string_like_regexp("^Apiproducts[0-9A-F]{8}$")},
            "AuthorizationType": "NONE",
            "RequestParameters": {
                "method.request.querystring.category": True,
                "method.request.querystring.limit": False,
                "method.request.querystring.cursor": False,
            },
            "Integration": Match.object_like(
                {
                    "CacheKeyParameters": keys,
                    "CacheNamespace": {"Ref": Match.string_like_regexp("^Apiproducts")},
                }
            ),
            "RequestValidatorId": {"Ref": Match.string_like_regexp("ApiRequestValidator")},
        },
    )


def test_uncached_item_route_keeps_its_path_parameter(template: assertions.Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "GET",
            "ResourceId": {"Ref": Match.string_like_regexp("^Apiproductsid")},
            "RequestParameters": {"method.request.path.id": True},
            "Integration": Match.object_like({"CacheKeyParameters": Match.absent()}),
        },
    )


def test_writes_are_iam_authorized(template: assertions.Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "AuthorizationType": "AWS_IAM",
            "RequestValidatorId": {"Ref": Match.string_like_regexp("ApiRequestValidator")},
        },
    )


def test_one_validator_checks_bodies_and_parameters(template: assertions.Template) -> None:
    template.resource_count_is("AWS::ApiGateway::RequestValidator", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator",
        {"ValidateRequestBody": True, "ValidateRequestParameters": True},
    )
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        assert "RequestValidatorId" in method["Properties"]


def test_request_models_are_passed_through() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    model = api.api.add_model(
        "Product",
        content_type="application/json",
        schema=apigateway.JsonSchema(type=apigateway.JsonSchemaType.OBJECT),
    )
    api.add_route(
        api.root, "POST", apigateway.MockIntegration(), request_models={"application/json": model}
    )
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGateway::Method",
        {"HttpMethod": "POST", "RequestModels": {"application/json": {"Ref": Match.any_value()}}},
    )


def test_a_method_without_the_validator_fails_synth() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    api.root.add_method("GET", apigateway.MockIntegration())
    with pytest.raises(RuntimeError, match="GET / has no request validator"):
        assertions.Template.from_stack(stack)


# --- authorization and the cache --------------------------------------------------------------


def _authorizer(stack: cdk.Stack) -> apigateway.TokenAuthorizer:
    return apigateway.TokenAuthorizer(stack, "Authorizer", handler=new_function(stack, id_="Auth"))


def test_authorized_route_is_not_cached_without_identity_in_the_key() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    with pytest.raises(ValueError, match="identity_cache_key is required to cache GET /"):
        api.add_cached_route(
            api.root,
            "GET",
            apigateway.MockIntegration(),
            policy=CachePolicy.DYNAMIC,
            authorizer=_authorizer(stack),
        )
    with pytest.raises(ValueError, match="identity_cache_key is required"):
        api.add_cached_route(
            api.root,
            "GET",
            apigateway.MockIntegration(),
            policy=CachePolicy.DYNAMIC,
            authorization_type=apigateway.AuthorizationType.IAM,
        )


def test_authorized_route_caches_per_identity() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    header = "method.request.header.Authorization"
    api.add_cached_route(
        api.root,
        "GET",
        apigateway.MockIntegration(),
        policy=CachePolicy.DYNAMIC,
        cache_key_parameters=["method.request.querystring.q"],
        authorizer=_authorizer(stack),
        identity_cache_key=header,
    )
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "AuthorizationType": "CUSTOM",
            "RequestParameters": {header: True, "method.request.querystring.q": False},
            "Integration": Match.object_like(
                {"CacheKeyParameters": ["method.request.querystring.q", header]}
            ),
        },
    )


def test_identity_key_already_in_the_cache_key_is_listed_once() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    header = "method.request.header.Authorization"
    api.add_cached_route(
        api.root,
        "GET",
        apigateway.MockIntegration(),
        policy=CachePolicy.DYNAMIC,
        cache_key_parameters=[header, "method.request.querystring.q"],
        authorizer=_authorizer(stack),
        identity_cache_key=header,
    )
    (method,) = (
        assertions.Template.from_stack(stack).find_resources("AWS::ApiGateway::Method").values()
    )
    keys = method["Properties"]["Integration"]["CacheKeyParameters"]
    assert keys == [header, "method.request.querystring.q"]


def test_authorized_route_without_api_layer_needs_no_identity_key() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    api.add_cached_route(
        api.root,
        "GET",
        apigateway.MockIntegration(),
        policy=CachePolicy.USER_PREFS,
        authorizer=_authorizer(stack),
    )
    settings = stage_properties(assertions.Template.from_stack(stack))["MethodSettings"]
    assert settings[1]["CachingEnabled"] is False


_NONE = apigateway.AuthorizationType.NONE


def test_public_writes_are_refused() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    with pytest.raises(ValueError, match="authorization_type must not be NONE for DELETE /"):
        api.add_route(api.root, "delete", apigateway.MockIntegration(), authorization_type=_NONE)


def test_only_get_routes_are_cached() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    with pytest.raises(ValueError, match="http_method must be 'GET' for a cached route"):
        api.add_cached_route(
            api.root, "POST", apigateway.MockIntegration(), policy=CachePolicy.DYNAMIC
        )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"cache_key_parameters": ["category"]}, "cache_key_parameters entries must look like"),
        (
            {"cache_key_parameters": ["method.request.body.x"]},
            "cache_key_parameters entries must look like",
        ),
        ({"request_parameters": {"q": True}}, "request_parameters entries must look like"),
        ({"identity_cache_key": "Authorization"}, "identity_cache_key entries must look like"),
    ],
)
def test_parameter_names_rule(props: dict[str, Any], message: str) -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    with pytest.raises(ValueError, match=message):
        api.add_cached_route(
            api.root, "GET", apigateway.MockIntegration(), policy=CachePolicy.DYNAMIC, **props
        )


# --- Cache-Control invalidation needs authorization ------------------------------------------


def test_custom_resource_requires_authorization_for_cache_control(
    template: assertions.Template,
) -> None:
    (resource,) = template.find_resources("Custom::AWS").values()
    props = resource["Properties"]
    for phase in ("Create", "Update"):
        rendered = json.dumps(props[phase])
        assert '\\"action\\":\\"updateStage\\"' in rendered
        assert '\\"service\\":\\"APIGateway\\"' in rendered
        assert "/*/*/caching/requireAuthorizationForCacheControl" in rendered
        assert '\\"value\\":\\"true\\"' in rendered
        assert "/*/*/caching/unauthorizedCacheControlHeaderStrategy" in rendered
        assert "FAIL_WITH_403" in rendered
    assert "Delete" not in props
    # Each method with its own settings entry gets the flags too (they are not inherited).
    rendered = json.dumps(props["Create"])
    for path in ("/*/*", "/~1products/GET", "/~1products~1{id}/GET"):
        assert f"{path}/caching/requireAuthorizationForCacheControl" in rendered
        assert f"{path}/caching/unauthorizedCacheControlHeaderStrategy" in rendered
    assert rendered.count("FAIL_WITH_403") == 3
    # It runs after the stage exists: it references it (CloudFormation orders on Ref).
    assert {"Ref": STAGE_ID} in props["Create"]["Fn::Join"][1]
    # ...and again whenever the deployment changes.
    assert list(props["DeploymentId"]) == ["Ref"]
    assert props["DeploymentId"]["Ref"].startswith("ApiDeployment")
    assert props["InstallLatestAwsSdk"] is False


def test_custom_resource_may_only_patch_this_stage(template: assertions.Template) -> None:
    policies = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if "apigateway:PATCH" in json.dumps(p)
    ]
    (policy,) = policies
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "apigateway:PATCH"
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":apigateway:eu-west-1::/restapis/",
                {"Ref": REST_API_ID},
                "/stages/",
                {"Ref": STAGE_ID},
            ],
        ]
    }


def _settings_hash(built: Built) -> str:
    (resource,) = built.template.find_resources("Custom::AWS").values()
    return str(resource["Properties"]["MethodSettingsHash"])


def test_custom_resource_reruns_when_the_stage_settings_change(built: Built) -> None:
    # Same settings, same hash (no needless updates); another TTL, another hash (the
    # CloudFormation stage update drops the flags, so the call must run again).
    assert _settings_hash(Built()) == _settings_hash(built)
    assert _settings_hash(Built(list_policy=CachePolicy.STATIC)) != _settings_hash(built)


class _OwnCacheControlApi(CachedRestApi):
    """Replaces the cache-control custom resource without touching any private attribute."""

    def _build_cache_control_setting(self) -> cr.AwsCustomResource:
        call = cr.AwsSdkCall(
            service="APIGateway",
            action="getStage",
            parameters={"restApiId": self.api.rest_api_id, "stageName": self.stage.stage_name},
            physical_resource_id=cr.PhysicalResourceId.of("own-cache-control"),
        )
        return cr.AwsCustomResource(
            self,
            "OwnCacheControl",
            on_create=call,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )


def test_an_overridden_cache_control_setting_is_still_rerun_on_changes() -> None:
    stack = new_stack()
    api = _OwnCacheControlApi(stack, "Api")
    api.add_cached_route(api.root, "GET", apigateway.MockIntegration(), policy=CachePolicy.DYNAMIC)
    (resource,) = assertions.Template.from_stack(stack).find_resources("Custom::AWS").values()
    assert "own-cache-control" in json.dumps(resource["Properties"]["Create"])
    assert len(resource["Properties"]["MethodSettingsHash"]) == 16
    assert "DeploymentId" in resource["Properties"]


# --- grants and metrics ------------------------------------------------------------------------


def test_grant_invalidate_is_scoped_to_cached_routes() -> None:
    b = Built()
    b.api.grant_invalidate(b.fn)
    b.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "execute-api:InvalidateCache",
                        "Effect": "Allow",
                        "Resource": {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    ":execute-api:eu-west-1:123456789012:",
                                    {"Ref": REST_API_ID},
                                    "/prod/GET/products",
                                ],
                            ]
                        },
                    }
                ]
            }
        },
    )


def test_grant_invalidate_needs_a_cached_route() -> None:
    stack = new_stack()
    api = make_api(stack, "Api")
    with pytest.raises(ValueError, match="grant_invalidate needs at least one cached route"):
        api.grant_invalidate(new_function(stack))


def test_metrics_have_api_name_and_stage_dimensions(built: Built) -> None:
    expected = {
        "metric_cache_hit_count": "CacheHitCount",
        "metric_cache_miss_count": "CacheMissCount",
        "metric_count": "Count",
        "metric_latency": "Latency",
        "metric_integration_latency": "IntegrationLatency",
        "metric_client_error": "4XXError",
        "metric_server_error": "5XXError",
    }
    for method, name in expected.items():
        metric = getattr(built.api, method)()
        assert metric.namespace == "AWS/ApiGateway"
        assert metric.metric_name == name
        assert set(metric.dimensions) == {"ApiName", "Stage"}
        assert built.stack.resolve(metric.dimensions["Stage"]) == {"Ref": STAGE_ID}


# --- web ACL -----------------------------------------------------------------------------------


def test_web_acl_is_built_and_associated_by_default(template: assertions.Template) -> None:
    template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "Rules": [
                Match.object_like(
                    {
                        "Name": "RateLimitPerIp",
                        "Action": {"Block": {}},
                        "Statement": {
                            "RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}
                        },
                    }
                ),
                Match.object_like({"Name": "AWSManagedRulesCommonRuleSet"}),
                Match.object_like({"Name": "AWSManagedRulesKnownBadInputsRuleSet"}),
            ],
        },
    )
    template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {
            "ResourceArn": {"Fn::Join": ["", Match.array_with([{"Ref": STAGE_ID}])]},
            "WebACLArn": {"Fn::GetAtt": [Match.string_like_regexp("ApiWebAcl"), "Arn"]},
        },
    )


def test_existing_web_acl_and_rate_limit() -> None:
    arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shared/abc"
    t = Built(web_acl_arn=arn).template
    t.resource_count_is("AWS::WAFv2::WebACL", 0)
    t.has_resource_properties("AWS::WAFv2::WebACLAssociation", {"WebACLArn": arn})
    t = Built(web_acl_rate_limit=500).template
    t.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Rules": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Statement": {
                                "RateBasedStatement": {"Limit": 500, "AggregateKeyType": "IP"}
                            }
                        }
                    )
                ]
            )
        },
    )


def test_web_acl_can_be_turned_off() -> None:
    t = Built(web_acl_enabled=False).template
    t.resource_count_is("AWS::WAFv2::WebACL", 0)
    t.resource_count_is("AWS::WAFv2::WebACLAssociation", 0)
    (stage,) = t.find_resources("AWS::ApiGateway::Stage").values()
    assert _checkov_skips(stage) == {"CKV2_AWS_29"}


def _checkov_skips(resource: dict[str, Any]) -> set[str]:
    skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    assert all(len(skip["comment"]) > 40 for skip in skips), skips
    return {skip["id"] for skip in skips}


# --- stage cache on/off ---------------------------------------------------------------------


def test_stage_cache_is_on_by_default(template: assertions.Template) -> None:
    props = stage_properties(template)
    assert props["CacheClusterEnabled"] is True
    assert props["CacheClusterSize"] == "0.5"


def test_stage_cache_can_be_switched_off() -> None:
    stack = new_stack()
    api = make_api(stack, "Api", stage_cache_enabled=False)
    products = api.root.add_resource("products")
    integration = apigateway.MockIntegration()
    with pytest.raises(ValueError, match=r"uses the 'api' layer, but the stage has no cache"):
        api.add_cached_route(products, "GET", integration, policy=CachePolicy.DYNAMIC)
    api.add_cached_route(
        products, "GET", integration, policy=CachePolicy.DYNAMIC.without_layers("api")
    )
    t = assertions.Template.from_stack(stack)
    (stage,) = t.find_resources("AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["CacheClusterEnabled"] is False
    assert "CacheClusterSize" not in stage["Properties"]
    assert {s["CachingEnabled"] for s in stage["Properties"]["MethodSettings"]} == {False}
    assert _checkov_skips(stage) == {"CKV_AWS_120"}
    assert api.stage_cache_enabled is False


# --- cache key rules (ValueError naming the prop) -----------------------------------------


def _api_with_item() -> tuple[CachedRestApi, apigateway.IResource]:
    api = make_api(new_stack(), "Api")
    return api, api.root.add_resource("products").add_resource("{id}")


def test_a_cache_key_for_a_path_parameter_the_route_lacks_is_refused() -> None:
    api, item = _api_with_item()
    with pytest.raises(
        ValueError,
        match=r"cache_key_parameters names the path parameter 'sku' .* GET /products/\{id\} "
        r"has \['id'\]",
    ):
        api.add_cached_route(
            item,
            "GET",
            apigateway.MockIntegration(),
            policy=CachePolicy.STATIC,
            cache_key_parameters=["method.request.path.sku"],
        )


def test_a_cache_key_for_the_routes_own_path_parameter_is_listed_once() -> None:
    api, item = _api_with_item()
    method = api.add_cached_route(
        item,
        "GET",
        apigateway.MockIntegration(),
        policy=CachePolicy.STATIC,
        cache_key_parameters=["method.request.path.id", "method.request.querystring.lang"],
    )
    stack = cdk.Stack.of(api)
    props = assertions.Template.from_stack(stack).to_json()["Resources"][
        stack.get_logical_id(method.node.default_child)  # type: ignore[arg-type]
    ]["Properties"]
    assert props["Integration"]["CacheKeyParameters"] == [
        "method.request.path.id",
        "method.request.querystring.lang",
    ]


def test_cache_keys_on_a_policy_without_the_api_layer_are_refused() -> None:
    api, item = _api_with_item()
    with pytest.raises(
        ValueError, match=re.escape("cache_key_parameters of GET /products/{id} would be dropped")
    ):
        api.add_cached_route(
            item,
            "GET",
            apigateway.MockIntegration(),
            policy=CachePolicy.REAL_TIME,
            cache_key_parameters=["method.request.querystring.lang"],
        )


def test_identity_cache_key_on_a_policy_without_the_api_layer_is_refused() -> None:
    api, item = _api_with_item()
    with pytest.raises(
        ValueError, match=re.escape("identity_cache_key of GET /products/{id} would be ignored")
    ):
        api.add_cached_route(
            item,
            "GET",
            apigateway.MockIntegration(),
            policy=CachePolicy.REAL_TIME,
            authorization_type=apigateway.AuthorizationType.IAM,
            identity_cache_key="method.request.header.Authorization",
        )


def test_a_policy_name_instead_of_a_policy_is_refused() -> None:
    api, item = _api_with_item()
    with pytest.raises(ValueError, match=r"policy must be a CachePolicy .*got str 'static'"):
        api.add_cached_route(
            item,
            "GET",
            apigateway.MockIntegration(),
            policy="static",  # type: ignore[arg-type]
        )


def test_a_typo_in_the_props_names_the_class_and_the_key() -> None:
    with pytest.raises(
        ValueError, match=r"CachedRestApiProps.stage is not a prop \(did you mean 'stage_name'\?\)"
    ):
        CachedRestApiProps(stage="v1")  # type: ignore[call-arg]


# --- log groups -----------------------------------------------------------------------------


def test_custom_resource_provider_logs_to_a_log_group_with_a_retention(built: Built) -> None:
    resources = built.template.to_json()["Resources"]
    (provider,) = [
        r
        for key, r in resources.items()
        if key.startswith("AWS679f53fac002430cb0da5b7982bd2287")
        and r["Type"] == "AWS::Lambda::Function"
    ]
    group_ref = provider["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert group_ref.startswith("CustomResourceProviderLogs")
    assert resources[group_ref]["Properties"]["RetentionInDays"] == 30
    assert _checkov_skips(provider) == {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}


def test_log_encryption_key_encrypts_every_log_group_and_lets_cloudwatch_logs_use_it() -> None:
    from aws_cdk import aws_kms as kms

    stack = new_stack()
    key = kms.Key(stack, "LogKey", enable_key_rotation=True)
    api = make_api(
        stack, "Api", log_encryption_key=key, access_log_retention=logs.RetentionDays.ONE_WEEK
    )
    api.add_route(api.root, "GET", apigateway.MockIntegration(), authorization_type=_NONE)
    t = assertions.Template.from_stack(stack)
    key_id = stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    groups = t.find_resources("AWS::Logs::LogGroup")
    assert len(groups) == 2  # the access logs and the custom resource provider's
    for group in groups.values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    statements = t.to_json()["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    (logs_statement,) = [st for st in statements if "logs." in json.dumps(st.get("Principal", {}))]
    assert "kms:GenerateDataKey*" in logs_statement["Action"]
    assert "kms:EncryptionContext:aws:logs:arn" in json.dumps(logs_statement["Condition"])


def test_public_methods_carry_the_reason_checkov_may_skip_their_open_access(built: Built) -> None:
    resources = built.template.find_resources("AWS::ApiGateway::Method")
    public = [r for r in resources.values() if r["Properties"]["AuthorizationType"] == "NONE"]
    assert public and all(_checkov_skips(r) == {"CKV_AWS_59"} for r in public)
    private = [r for r in resources.values() if r["Properties"]["AuthorizationType"] != "NONE"]
    assert private and not any(_checkov_skips(r) for r in private)


# --- cdk-nag -----------------------------------------------------------------------------------


@pytest.mark.synth
@pytest.mark.parametrize("props", [{}, {"web_acl_enabled": False}], ids=["default", "no-waf"])
def test_passes_aws_solutions_checks(props: dict[str, Any]) -> None:
    b = Built(nag=True, **props)
    b.api.grant_invalidate(b.fn)
    synth_app(b.stack)


# --- validation: one test per rule -------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"stage_name": "v 1"}, "stage_name must be 1..128 letters"),
        ({"stage_name": ""}, "stage_name must be 1..128 letters"),
        ({"cache_cluster_size": "1"}, "cache_cluster_size must be one of '0.5', '1.6'"),
        ({"throttling_rate_limit": 0}, "throttling_rate_limit must be between"),
        ({"throttling_burst_limit": -1}, "throttling_burst_limit must be between 0 and 5000"),
        ({"throttling_burst_limit": 5001}, "throttling_burst_limit must be between 0 and 5000"),
        (
            {"access_log_retention": logs.RetentionDays.ONE_DAY, "access_log_group": "x"},
            "give either CachedRestApiProps.access_log_group or "
            "CachedRestApiProps.access_log_retention",
        ),
        (
            {"logging_level": apigateway.MethodLoggingLevel.OFF},
            "logging_level must be ERROR or INFO",
        ),
        (
            {"web_acl_arn": "arn:aws:wafv2:x", "web_acl_rate_limit": 100},
            "give either CachedRestApiProps.web_acl_arn or CachedRestApiProps.web_acl_rate_limit",
        ),
        ({"web_acl_rate_limit": 99}, "web_acl_rate_limit must be between 100 and 2000000000"),
        (
            {"log_removal_policy": cdk.RemovalPolicy.SNAPSHOT},
            "log_removal_policy must be one of",
        ),
        (
            {"web_acl_enabled": False, "web_acl_arn": "arn:aws:wafv2:x"},
            "web_acl_arn and CachedRestApiProps.web_acl_rate_limit need web_acl_enabled=True",
        ),
    ],
)
def test_prop_rules(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_api(new_stack(), "Api", **props)


@pytest.mark.parametrize("size", ["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"])
def test_every_cache_size_is_accepted(size: str) -> None:
    assert make_api(new_stack(), "Api", cache_cluster_size=size).cache_cluster_size == size


def test_unresolved_cache_size_is_not_validated() -> None:
    stack = new_stack()
    size = cdk.CfnParameter(stack, "CacheSize", default="0.5").value_as_string
    api = make_api(stack, "Api", cache_cluster_size=size)
    api.add_route(api.root, "GET", apigateway.MockIntegration(), authorization_type=_NONE)
    assert stage_properties(assertions.Template.from_stack(stack))["CacheClusterSize"] == {
        "Ref": "CacheSize"
    }


def test_name_description_and_convenience_attributes() -> None:
    stack = new_stack()
    api = make_api(stack, "Api", rest_api_name="products", description="Product API")
    api.add_route(api.root, "GET", apigateway.MockIntegration(), authorization_type=_NONE)
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGateway::RestApi", {"Name": "products", "Description": "Product API"}
    )
    assert api.root.node.path == api.api.root.node.path
    assert stack.resolve(api.rest_api_id) == {"Ref": REST_API_ID}
    assert "execute-api" in json.dumps(stack.resolve(api.url))
