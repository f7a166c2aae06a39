"""CachedRestApi: a regional REST API whose stage cache is driven by CachePolicy per route.

Secure by default: access logs (JSON) to a log group, execution logs at ERROR, X-Ray,
throttling, a request validator on every method, cache entries encrypted, and client cache
invalidation (`Cache-Control: max-age=0`) only for authorized callers: others get 403. That
last setting has no CloudFormation property, so a custom resource applies it with
UpdateStage after every stage change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    CfnResource,
    Duration,
    IStableAnyProducer,
    Lazy,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import custom_resources as cr
from constructs import Construct, IValidation

from cache_constructs.contract.policy import CachePolicy

from ._validation import (
    is_unresolved,
    require_exactly_one,
    require_int_range,
    require_number_range,
    require_one_of,
)

CACHE_CLUSTER_SIZES: tuple[str, ...] = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
"""API Gateway stage cache sizes (GB)."""

ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "user": "$context.identity.user",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}
"""The JSON access log record (one line per request)."""

_PARAM_PREFIX = "method.request."
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_NAG_IAM_REASON = "IAM (SigV4) authorization: callers are AWS principals, not Cognito users"
_SNAKE_CASE = {
    "HttpMethod": "http_method",
    "ResourcePath": "resource_path",
    "LoggingLevel": "logging_level",
    "DataTraceEnabled": "data_trace_enabled",
    "MetricsEnabled": "metrics_enabled",
    "ThrottlingRateLimit": "throttling_rate_limit",
    "ThrottlingBurstLimit": "throttling_burst_limit",
    "CachingEnabled": "caching_enabled",
    "CacheTtlInSeconds": "cache_ttl_in_seconds",
    "CacheDataEncrypted": "cache_data_encrypted",
}
_NAG_PUBLIC_REASON = (
    "public read-only route: the product catalogue is meant to be read anonymously; "
    "writes are IAM-authorized"
)


class CachedRestApi(Construct):
    """A regional REST API with a stage cache configured per route from a CachePolicy.

    Add routes with `add_cached_route` (GETs served by the stage cache per the policy) and
    `add_route` (uncached; IAM-authorized by default). Both attach the shared request
    validator; a synth-time check refuses any method of the API that lacks one.

    :param rest_api_name: the API name. Default: the construct path.
    :param description: the API description.
    :param stage_name: the stage (letters, digits, "-", "_"). Default "prod".
    :param cache_cluster_size: stage cache size in GB, one of `CACHE_CLUSTER_SIZES`.
        Default "0.5".
    :param throttling_rate_limit: steady requests per second for the stage, > 0. Default 100.
    :param throttling_burst_limit: burst, 0..5000. Default 200.
    :param access_log_group: an existing log group for the access logs.
    :param access_log_retention: retention of the access log group built here (excludes
        `access_log_group`). Default three months.
    :param log_removal_policy: what happens to the access log group built here when it leaves
        the stack (excludes `access_log_group`): `RETAIN` (default) keeps the audit trail,
        `DESTROY` deletes it with the stack.
    :param logging_level: execution logging level. Default ERROR.
    :param cloud_watch_role: create the account's API Gateway CloudWatch role, which execution
        logging needs. Default True. The role is set on `AWS::ApiGateway::Account`, a
        singleton per account and region: every stack that builds one shares it, and the last
        one deployed points it at its own role (both are retained when a stack is deleted, so
        the others keep logging). With several APIs in one account and region, let one stack
        own it and pass False everywhere else.
    :param tracing_enabled: X-Ray tracing. Default True.
    :param web_acl_arn: an existing regional WAFv2 web ACL to associate with the stage.
    :param web_acl_rate_limit: requests per 5 minutes per client IP allowed by the web ACL
        built here (excludes `web_acl_arn`), 100..2000000000. Default 2000. The built ACL also
        runs the AWS managed common and known-bad-inputs rule sets.
    :param web_acl_enabled: set False to run without a web ACL (not recommended). Default True.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        rest_api_name: str | None = None,
        description: str | None = None,
        stage_name: str = "prod",
        cache_cluster_size: str = "0.5",
        throttling_rate_limit: float = 100,
        throttling_burst_limit: int = 200,
        access_log_group: logs.ILogGroup | None = None,
        access_log_retention: logs.RetentionDays | None = None,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        logging_level: apigateway.MethodLoggingLevel = apigateway.MethodLoggingLevel.ERROR,
        cloud_watch_role: bool = True,
        tracing_enabled: bool = True,
        web_acl_arn: str | None = None,
        web_acl_rate_limit: int | None = None,
        web_acl_enabled: bool = True,
    ) -> None:
        super().__init__(scope, id_)
        require_one_of("cache_cluster_size", cache_cluster_size, CACHE_CLUSTER_SIZES)
        require_number_range("throttling_rate_limit", throttling_rate_limit, 0.001, 1_000_000)
        require_int_range("throttling_burst_limit", throttling_burst_limit, 0, 5000)
        require_exactly_one(
            "access_log_group", access_log_group, "access_log_retention", access_log_retention
        )
        require_one_of(
            "log_removal_policy",
            log_removal_policy,
            (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY),
        )
        require_exactly_one("web_acl_arn", web_acl_arn, "web_acl_rate_limit", web_acl_rate_limit)
        if web_acl_rate_limit is not None:
            require_int_range("web_acl_rate_limit", web_acl_rate_limit, 100, 2_000_000_000)
        if not web_acl_enabled and (web_acl_arn or web_acl_rate_limit is not None):
            raise ValueError("web_acl_arn and web_acl_rate_limit need web_acl_enabled=True")
        if not is_unresolved(stage_name) and not _STAGE_NAME.match(stage_name):
            raise ValueError(
                f"stage_name must be 1..128 letters, digits, '-' or '_'; got {stage_name!r}"
            )
        if logging_level == apigateway.MethodLoggingLevel.OFF:
            raise ValueError("logging_level must be ERROR or INFO: execution logs stay on")
        self.stage_name = stage_name
        self.cache_cluster_size = cache_cluster_size
        self._throttling = (throttling_rate_limit, throttling_burst_limit)
        self._logging_level = logging_level
        self._route_settings: list[dict[str, Any]] = []
        self._log_removal_policy = log_removal_policy

        self.access_log_group: logs.ILogGroup = access_log_group or self._build_access_log_group(
            access_log_retention or logs.RetentionDays.THREE_MONTHS
        )
        """Where the JSON access log goes."""
        self.api = self._build_rest_api(
            rest_api_name=rest_api_name,
            description=description,
            cloud_watch_role=cloud_watch_role,
            tracing_enabled=tracing_enabled,
        )
        """The underlying `apigateway.RestApi`."""
        self.request_validator = apigateway.RequestValidator(
            self,
            "RequestValidator",
            rest_api=self.api,
            validate_request_body=True,
            validate_request_parameters=True,
        )
        """Validates parameters and bodies of every method."""
        self.stage: apigateway.Stage = self.api.deployment_stage
        self.cache_control_setting = self._build_cache_control_setting()
        """Custom resource: authorized `Cache-Control: max-age=0` only, others get 403."""
        self._custom_resource_cfn = self._rerun_on_stage_changes(self.cache_control_setting)
        self._apply_method_settings()
        self.web_acl: wafv2.CfnWebACL | None = None
        """The web ACL built here (None when one was given or the ACL is disabled)."""
        self.web_acl_association: wafv2.CfnWebACLAssociation | None = None
        if web_acl_enabled:
            if web_acl_arn is None:
                self.web_acl = self._build_web_acl(web_acl_rate_limit or 2000)
                web_acl_arn = self.web_acl.attr_arn
            self.web_acl_association = wafv2.CfnWebACLAssociation(
                self,
                "WebAclAssociation",
                resource_arn=self.stage.stage_arn,
                web_acl_arn=web_acl_arn,
            )
        else:
            _acknowledge(
                self.stage, ("APIG3",), "the caller turned the web ACL off (web_acl_enabled=False)"
            )
        if cloud_watch_role:
            self._acknowledge_cloud_watch_role()
        self.node.add_validation(_EveryMethodValidated(self))

    # --- convenience ---------------------------------------------------------------------

    @property
    def root(self) -> apigateway.IResource:
        """The API's root resource ("/")."""
        return self.api.root

    @property
    def url(self) -> str:
        """The stage's invoke URL."""
        return self.api.url

    @property
    def rest_api_id(self) -> str:
        return self.api.rest_api_id

    # --- building blocks (override in a subclass to change one part) -----------------------

    def _build_access_log_group(self, retention: logs.RetentionDays) -> logs.ILogGroup:
        return logs.LogGroup(
            self, "AccessLogs", retention=retention, removal_policy=self._log_removal_policy
        )

    def _build_web_acl(self, rate_limit: int) -> wafv2.CfnWebACL:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        def managed(priority: int, name: str) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=visibility(name),
            )

        rate_rule = wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerIp",
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=rate_limit, aggregate_key_type="IP"
                )
            ),
            visibility_config=visibility("RateLimitPerIp"),
        )
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("CachedRestApi"),
            rules=[
                rate_rule,
                managed(1, "AWSManagedRulesCommonRuleSet"),
                managed(2, "AWSManagedRulesKnownBadInputsRuleSet"),
            ],
        )

    def _stage_wide_setting(self) -> dict[str, Any]:
        rate, burst = self._throttling
        return {
            "HttpMethod": "*",
            "ResourcePath": "/*",
            "LoggingLevel": self._logging_level.value,
            "DataTraceEnabled": False,
            "MetricsEnabled": True,
            "ThrottlingRateLimit": rate,
            "ThrottlingBurstLimit": burst,
            # Only the routes added with a policy that includes "api" are cached.
            "CachingEnabled": False,
            "CacheDataEncrypted": True,
        }

    def _build_rest_api(
        self,
        *,
        rest_api_name: str | None,
        description: str | None,
        cloud_watch_role: bool,
        tracing_enabled: bool,
    ) -> apigateway.RestApi:
        rate, burst = self._throttling
        return apigateway.RestApi(
            self,
            "Api",
            rest_api_name=rest_api_name,
            description=description,
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=cloud_watch_role,
            deploy_options=apigateway.StageOptions(
                stage_name=self.stage_name,
                cache_cluster_enabled=True,
                cache_cluster_size=self.cache_cluster_size,
                cache_data_encrypted=True,
                caching_enabled=False,
                tracing_enabled=tracing_enabled,
                logging_level=self._logging_level,
                metrics_enabled=True,
                data_trace_enabled=False,
                throttling_rate_limit=rate,
                throttling_burst_limit=burst,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigateway.AccessLogFormat.custom(
                    json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))
                ),
            ),
        )

    def _build_cache_control_setting(self) -> cr.AwsCustomResource:
        stage_arn = self.stage.stage_arn
        call = cr.AwsSdkCall(
            service="APIGateway",
            action="updateStage",
            parameters={
                "restApiId": self.api.rest_api_id,
                "stageName": self.stage.stage_name,
                # Every method with its own settings entry needs the flags too: it does not
                # inherit them from "*/*". Rendered at synth, after the routes are added.
                "patchOperations": Lazy.any(_AnyProducer(self._cache_control_patch_operations)),
            },
            physical_resource_id=cr.PhysicalResourceId.of(
                f"{self.api.rest_api_id}-{self.stage_name}-cache-control"
            ),
        )
        setting = cr.AwsCustomResource(
            self,
            "CacheControlSetting",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["apigateway:PATCH"], resources=[stage_arn])]
            ),
            install_latest_aws_sdk=False,
        )
        # No explicit dependency on the stage: the call and the policy reference it already
        # (an extra DependsOn is cfn-lint W3005).
        self._acknowledge_custom_resource_provider()
        return setting

    def _rerun_on_stage_changes(self, setting: cr.AwsCustomResource) -> CfnResource:
        """Return the setting's CloudFormation resource, made to run on every deployment.

        A CloudFormation update of the stage rewrites its method settings and drops the two
        cache-control flags: run again whenever the deployment changes (here) or the
        rendered method settings change (`_apply_method_settings`).
        """
        resource = setting.node.find_child("Resource").node.default_child
        assert isinstance(resource, CfnResource)
        deployment = self.api.latest_deployment
        assert deployment is not None  # RestApi deploys by default
        resource.add_property_override("DeploymentId", deployment.deployment_id)
        return resource

    # --- routes --------------------------------------------------------------------------

    def add_cached_route(
        self,
        resource: apigateway.IResource,
        http_method: str,
        integration: apigateway.Integration,
        *,
        policy: CachePolicy,
        cache_key_parameters: Sequence[str] = (),
        request_parameters: Mapping[str, bool] | None = None,
        authorization_type: apigateway.AuthorizationType = apigateway.AuthorizationType.NONE,
        authorizer: apigateway.IAuthorizer | None = None,
        identity_cache_key: str | None = None,
        request_models: Mapping[str, apigateway.IModel] | None = None,
        method_responses: Sequence[apigateway.MethodResponse] | None = None,
    ) -> apigateway.Method:
        """Add a GET whose stage cache follows `policy` ("api" layer and its TTL).

        `cache_key_parameters` ("method.request.querystring.category", ...) and the
        resource's path parameters form the cache key: they are declared on the method's
        request parameters AND on the integration. A route with an authorizer (or any
        authorization) is only cached when `identity_cache_key` (e.g.
        "method.request.header.Authorization") puts the caller's identity in the key.
        The integration's own cache key parameters, if any, are replaced by these.
        A policy without the "api" layer turns caching off for the method explicitly.
        """
        if http_method.upper() != "GET":
            raise ValueError(f"http_method must be 'GET' for a cached route; got {http_method!r}")
        cached = "api" in policy.layers
        authorized = (
            authorizer is not None or authorization_type != apigateway.AuthorizationType.NONE
        )
        for key in cache_key_parameters:
            _require_parameter_name("cache_key_parameters", key)
        for key in request_parameters or {}:
            _require_parameter_name("request_parameters", key)
        if identity_cache_key is not None:
            _require_parameter_name("identity_cache_key", identity_cache_key)
        if cached and authorized and identity_cache_key is None:
            raise ValueError(
                f"identity_cache_key is required to cache {http_method} {resource.path}: it is "
                "authorized, and without the caller's identity in the cache key one caller's "
                "response would be served to another (or use a policy without the 'api' layer)"
            )
        # The identity joins the key list before de-duplication: it may already be one of
        # the cache key parameters, and CacheKeyParameters must not name it twice.
        identity_keys = [identity_cache_key] if identity_cache_key is not None else []
        keys = list(
            dict.fromkeys([*_path_keys(resource.path), *cache_key_parameters, *identity_keys])
        )
        params = {key: False for key in keys}
        params.update(request_parameters or {})
        params.update({key: True for key in _path_keys(resource.path)})
        if identity_cache_key is not None:
            params[identity_cache_key] = True
        method = self._add_method(
            resource,
            "GET",
            integration,
            request_parameters=params,
            authorization_type=authorization_type,
            authorizer=authorizer,
            request_models=request_models,
            method_responses=method_responses,
        )
        cfn_method = method.node.default_child
        assert isinstance(cfn_method, apigateway.CfnMethod)
        if cached:
            cfn_method.add_property_override("Integration.CacheKeyParameters", keys)
            cfn_method.add_property_override("Integration.CacheNamespace", resource.resource_id)
        self._route_settings.append(
            {
                "_path": resource.path,
                "HttpMethod": "GET",
                "ResourcePath": _escape_path(resource.path),
                "CachingEnabled": cached,
                "CacheTtlInSeconds": policy.api_ttl_seconds if cached else 0,
                "CacheDataEncrypted": True,
            }
        )
        self._apply_method_settings()
        return method

    def add_route(
        self,
        resource: apigateway.IResource,
        http_method: str,
        integration: apigateway.Integration,
        *,
        request_parameters: Mapping[str, bool] | None = None,
        authorization_type: apigateway.AuthorizationType = apigateway.AuthorizationType.IAM,
        authorizer: apigateway.IAuthorizer | None = None,
        request_models: Mapping[str, apigateway.IModel] | None = None,
        method_responses: Sequence[apigateway.MethodResponse] | None = None,
    ) -> apigateway.Method:
        """Add an uncached method (writes), IAM-authorized unless told otherwise.

        Only GET, HEAD and OPTIONS may be public (no authorization and no authorizer).
        """
        public = authorizer is None and authorization_type == apigateway.AuthorizationType.NONE
        if public and http_method.upper() not in _SAFE_METHODS:
            raise ValueError(
                f"authorization_type must not be NONE for {http_method.upper()} "
                f"{resource.path}: only {', '.join(_SAFE_METHODS)} routes may be public"
            )
        for key in request_parameters or {}:
            _require_parameter_name("request_parameters", key)
        params = dict(request_parameters or {})
        params.update({key: True for key in _path_keys(resource.path)})
        return self._add_method(
            resource,
            http_method.upper(),
            integration,
            request_parameters=params,
            authorization_type=authorization_type,
            authorizer=authorizer,
            request_models=request_models,
            method_responses=method_responses,
        )

    def _add_method(
        self,
        resource: apigateway.IResource,
        http_method: str,
        integration: apigateway.Integration,
        *,
        request_parameters: Mapping[str, bool],
        authorization_type: apigateway.AuthorizationType,
        authorizer: apigateway.IAuthorizer | None,
        request_models: Mapping[str, apigateway.IModel] | None,
        method_responses: Sequence[apigateway.MethodResponse] | None,
    ) -> apigateway.Method:
        method = resource.add_method(
            http_method,
            integration,
            # An authorizer brings its own authorization type.
            authorization_type=None if authorizer is not None else authorization_type,
            authorizer=authorizer,
            request_parameters=dict(request_parameters) or None,
            request_models=dict(request_models) if request_models else None,
            request_validator=self.request_validator,
            method_responses=list(method_responses) if method_responses else None,
        )
        if authorizer is None and authorization_type == apigateway.AuthorizationType.NONE:
            _acknowledge(method, ("APIG4", "COG4"), _NAG_PUBLIC_REASON)
        elif authorizer is None and authorization_type == apigateway.AuthorizationType.IAM:
            _acknowledge(method, ("COG4",), _NAG_IAM_REASON)
        return method

    # --- grants --------------------------------------------------------------------------

    def grant_invalidate(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow `grantee` to flush entries of the cached routes with `Cache-Control: max-age=0`.

        Scoped to the GET routes added so far with caching on (path parameters become `*`):
        call it after adding them.
        """
        paths = [route["_path"] for route in self._route_settings if route["CachingEnabled"]]
        if not paths:
            raise ValueError("grant_invalidate needs at least one cached route: add them first")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:InvalidateCache"],
            resource_arns=[
                self.api.arn_for_execute_api("GET", _arn_path(path), self.stage_name)
                for path in paths
            ],
        )

    # --- metrics (AWS/ApiGateway, dimensions ApiName + Stage) -------------------------------

    def metric_cache_hit_count(self) -> cloudwatch.Metric:
        """Requests served from the stage cache."""
        return self.stage.metric_cache_hit_count(period=Duration.minutes(1))

    def metric_cache_miss_count(self) -> cloudwatch.Metric:
        """Requests served by the integration while caching was on."""
        return self.stage.metric_cache_miss_count(period=Duration.minutes(1))

    def metric_count(self) -> cloudwatch.Metric:
        """All requests."""
        return self.stage.metric_count(period=Duration.minutes(1))

    def metric_latency(self) -> cloudwatch.Metric:
        """End-to-end latency (p99 by default)."""
        return self.stage.metric_latency(period=Duration.minutes(1), statistic="p99")

    def metric_integration_latency(self) -> cloudwatch.Metric:
        """Backend latency (p99 by default)."""
        return self.stage.metric_integration_latency(period=Duration.minutes(1), statistic="p99")

    def metric_client_error(self) -> cloudwatch.Metric:
        """4xx responses."""
        return self.stage.metric_client_error(period=Duration.minutes(1))

    def metric_server_error(self) -> cloudwatch.Metric:
        """5xx responses."""
        return self.stage.metric_server_error(period=Duration.minutes(1))

    # --- rendering -----------------------------------------------------------------------

    def _render_method_settings(self) -> list[dict[str, Any]]:
        """Stage method settings: the stage-wide entry, then one per route (template keys)."""
        wide = self._stage_wide_setting()
        inherited = {
            key: wide[key]
            for key in (
                "LoggingLevel",
                "DataTraceEnabled",
                "MetricsEnabled",
                "ThrottlingRateLimit",
                "ThrottlingBurstLimit",
            )
        }
        # A per-method entry replaces the stage-wide one for that method: repeat logging,
        # metrics and throttling so they stay on.
        routes = (
            {key: value for key, value in route.items() if not key.startswith("_")}
            for route in self._route_settings
        )
        return [wide, *({**inherited, **route} for route in routes)]

    def _cache_control_patch_operations(self) -> list[dict[str, str]]:
        """UpdateStage operations: authorized `Cache-Control: max-age=0` only, else 403."""
        paths = ["/*/*"] + [
            f"/{_escape_path(route['_path']).lstrip('/')}/{route['HttpMethod']}"
            for route in self._route_settings
        ]
        operations = []
        for path in paths:
            operations += [
                {
                    "op": "replace",
                    "path": f"{path}/caching/requireAuthorizationForCacheControl",
                    "value": "true",
                },
                {
                    "op": "replace",
                    "path": f"{path}/caching/unauthorizedCacheControlHeaderStrategy",
                    "value": "FAIL_WITH_403",
                },
            ]
        return operations

    def _apply_method_settings(self) -> None:
        # Routes arrive after the stage exists, so the stage's settings are rewritten as each
        # route is added (typed, so cdk-nag and the template see the same values).
        rendered = self._render_method_settings()
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigateway.CfnStage)
        cfn_stage.method_settings = [
            apigateway.CfnStage.MethodSettingProperty(
                **{_SNAKE_CASE[key]: value for key, value in setting.items()}
            )
            for setting in rendered
        ]
        digest = hashlib.sha256(json.dumps(rendered, sort_keys=True).encode()).hexdigest()
        self._custom_resource_cfn.add_property_override("MethodSettingsHash", digest[:16])

    def _acknowledge_cloud_watch_role(self) -> None:
        role = self.api.node.try_find_child("CloudWatchRole")
        if role is not None:
            Validations.of(role).acknowledge(
                Acknowledgment(
                    id=(
                        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:"
                        "policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]"
                    ),
                    reason="API Gateway's own managed policy for the account logging role",
                )
            )

    def _acknowledge_custom_resource_provider(self) -> None:
        provider = Stack.of(self).node.try_find_child(_CUSTOM_RESOURCE_PROVIDER_ID)
        if provider is None:
            return
        Validations.of(provider).acknowledge(
            Acknowledgment(
                id=(
                    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:"
                    "policy/service-role/AWSLambdaBasicExecutionRole]"
                ),
                reason="the CDK AwsCustomResource provider only writes its own logs",
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-L1",
                reason="the CDK AwsCustomResource provider's runtime is chosen by aws-cdk-lib",
            ),
        )


_CUSTOM_RESOURCE_PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"
"""The construct id of the singleton function behind every AwsCustomResource in a stack."""


@jsii.implements(IStableAnyProducer)
class _AnyProducer:
    """Adapts a Python callable to a CDK lazy value (computed at synth time)."""

    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self) -> Any:
        return self._produce()


@jsii.implements(IValidation)
class _EveryMethodValidated:
    """Synth-time check: every method of the API (but CORS preflights) has a validator."""

    def __init__(self, api: CachedRestApi) -> None:
        self._api = api

    def validate(self) -> list[str]:
        errors = []
        for child in self._api.api.node.find_all():
            if isinstance(child, apigateway.Method) and child.http_method != "OPTIONS":
                cfn = child.node.default_child
                if isinstance(cfn, apigateway.CfnMethod) and cfn.request_validator_id is None:
                    errors.append(
                        f"{child.http_method} {child.resource.path} has no request validator: "
                        "add it with add_cached_route/add_route"
                    )
        return errors


def _acknowledge(scope: Construct, rules: Sequence[str], reason: str) -> None:
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason) for rule in rules)
    )


def _path_keys(path: str) -> list[str]:
    keys = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            keys.append(f"{_PARAM_PREFIX}path.{part[1:-1].rstrip('+')}")
    return keys


def _arn_path(path: str) -> str:
    # A request path ARN matches real paths: "{id}" becomes "*".
    return "/".join("*" if part.startswith("{") else part for part in path.split("/"))


def _escape_path(path: str) -> str:
    # Method settings address a resource path with "/" escaped as "~1".
    return "/" + path.replace("/", "~1") if path != "/" else "/~1"


def _require_parameter_name(prop: str, name: str) -> None:
    if is_unresolved(name):
        return
    kinds = ("path.", "querystring.", "multivaluequerystring.", "header.", "multivalueheader.")
    if not name.startswith(_PARAM_PREFIX) or not name[len(_PARAM_PREFIX) :].startswith(kinds):
        raise ValueError(
            f"{prop} entries must look like 'method.request.querystring.<name>' "
            f"(path, querystring, header, multivalue...); got {name!r}"
        )
