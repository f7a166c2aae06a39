"""CachedRestApi: a regional REST API whose stage cache is driven by CachePolicy per route.

Secure by default: access logs (JSON) to a log group, execution logs at ERROR, X-Ray,
throttling, a request validator on every method, a WAF web ACL, cache entries encrypted, and
client cache invalidation (`Cache-Control: max-age=0`) only for authorized callers: others get
403. That last setting has no CloudFormation property, so a custom resource applies it with
UpdateStage after every stage change. The web ACL and the stage cache cost money every hour
they exist (docs/constructs.md, "What the defaults cost"): both can be switched off.
"""

from __future__ import annotations

import dataclasses
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
    Validations,
)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import custom_resources as cr
from constructs import Construct, IValidation

from cache_constructs._checkov import skip_checkov
from cache_constructs._custom_resources import acknowledge_provider
from cache_constructs._props import construct_props
from cache_constructs._validation import (
    is_unresolved,
    require_instance,
    require_int_range,
    require_not_both,
    require_number_range,
    require_one_of,
)
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.log_groups import (
    LOG_REMOVAL_POLICIES,
    LogGroupSettings,
    build_log_group,
    custom_resource_log_group,
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
_NAG_PUBLIC_REASON = (
    "public read-only method: the caller chose authorization NONE for this GET/HEAD/OPTIONS "
    "route (add_route refuses public writes; writes default to IAM)"
)


@construct_props
class CachedRestApiProps:
    """What a caller may choose about a `CachedRestApi`; every field has its default here."""

    rest_api_name: str | None = None
    """The API name. Default: the construct path."""
    description: str | None = None
    """The API description. Default: none."""
    stage_name: str = "prod"
    """The stage (1..128 letters, digits, "-", "_"). Default "prod"."""
    stage_cache_enabled: bool = True
    """Provision the stage cache (billed per hour whether used or not; docs/constructs.md).
    With False no route is cached at API Gateway: a route whose policy has the "api" layer
    is refused (drop it with ``policy.without_layers("api")``). Default True."""
    cache_cluster_size: str = "0.5"
    """Stage cache size in GB, one of `CACHE_CLUSTER_SIZES`. Default "0.5"."""
    throttling_rate_limit: float = 100
    """Steady requests per second for the stage, > 0. Default 100."""
    throttling_burst_limit: int = 200
    """Burst, 0..5000. Default 200."""
    access_log_group: logs.ILogGroup | None = None
    """An existing log group for the access logs. Default: one is built here."""
    access_log_retention: logs.RetentionDays | None = None
    """Retention of the access log group built here (excludes ``access_log_group``).
    Default: the owner's ``log_defaults``, else three months."""
    log_removal_policy: RemovalPolicy | None = None
    """``RETAIN`` or ``DESTROY`` for the log groups built here (excludes
    ``access_log_group`` for the access logs). Default: the owner's ``log_defaults``, else
    ``RETAIN`` (keeps the audit trail)."""
    log_encryption_key: kms.IKey | None = None
    """A customer-managed KMS key for the log groups built here (access logs, the custom
    resource provider's logs); CloudWatch Logs is allowed to use it. Default: the owner's
    ``log_defaults``, else no customer key (CloudWatch Logs' own encryption)."""
    logging_level: apigateway.MethodLoggingLevel = apigateway.MethodLoggingLevel.ERROR
    """Execution logging level: ERROR (default) or INFO; OFF is refused."""
    cloud_watch_role: bool = True
    """Create the account's API Gateway CloudWatch role, which execution logging needs.
    Default True. The role is set on `AWS::ApiGateway::Account`, a singleton per account and
    region: with several APIs in one account and region, let one stack own it and pass False
    everywhere else."""
    tracing_enabled: bool = True
    """X-Ray tracing. Default True."""
    web_acl_enabled: bool = True
    """Associate a WAF web ACL with the stage (billed per month and per request;
    docs/constructs.md). False runs without one. Default True."""
    web_acl_arn: str | None = None
    """An existing regional WAFv2 web ACL to associate. Default: one is built here."""
    web_acl_rate_limit: int | None = None
    """Requests per 5 minutes per client IP allowed by the web ACL built here (excludes
    ``web_acl_arn``), 100..2000000000. Default 2000. The built ACL also runs the AWS managed
    common and known-bad-inputs rule sets."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        require_one_of(f"{owner}.cache_cluster_size", self.cache_cluster_size, CACHE_CLUSTER_SIZES)
        require_number_range(
            f"{owner}.throttling_rate_limit", self.throttling_rate_limit, 0.001, 1_000_000
        )
        require_int_range(f"{owner}.throttling_burst_limit", self.throttling_burst_limit, 0, 5000)
        require_not_both(
            f"{owner}.access_log_group",
            self.access_log_group,
            f"{owner}.access_log_retention",
            self.access_log_retention,
        )
        if self.log_removal_policy is not None:
            require_one_of(
                f"{owner}.log_removal_policy", self.log_removal_policy, LOG_REMOVAL_POLICIES
            )
        require_not_both(
            f"{owner}.web_acl_arn",
            self.web_acl_arn,
            f"{owner}.web_acl_rate_limit",
            self.web_acl_rate_limit,
        )
        if self.web_acl_rate_limit is not None:
            require_int_range(
                f"{owner}.web_acl_rate_limit", self.web_acl_rate_limit, 100, 2_000_000_000
            )
        if not self.web_acl_enabled and (
            self.web_acl_arn is not None or self.web_acl_rate_limit is not None
        ):
            raise ValueError(
                f"{owner}.web_acl_arn and {owner}.web_acl_rate_limit need web_acl_enabled=True"
            )
        for flag in ("stage_cache_enabled", "web_acl_enabled", "cloud_watch_role"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{owner}.{flag} must be a bool; got {getattr(self, flag)!r}")
        if not is_unresolved(self.stage_name) and not _STAGE_NAME.match(str(self.stage_name)):
            raise ValueError(
                f"{owner}.stage_name must be 1..128 letters, digits, '-' or '_'; "
                f"got {self.stage_name!r}"
            )
        if self.logging_level == apigateway.MethodLoggingLevel.OFF:
            raise ValueError(f"{owner}.logging_level must be ERROR or INFO: execution logs stay on")


@dataclasses.dataclass(frozen=True)
class _RouteSetting:
    """The stage method setting of one route added with `add_cached_route`."""

    path: str
    http_method: str
    caching_enabled: bool
    cache_ttl_seconds: int

    @property
    def escaped_path(self) -> str:
        return _escape_path(self.path)


class CachedRestApi(Construct):
    """A regional REST API with a stage cache configured per route from a CachePolicy.

    Add routes with `add_cached_route` (GETs served by the stage cache per the policy) and
    `add_route` (uncached; IAM-authorized by default). Both attach the shared request
    validator; a synth-time check refuses any method of the API that lacks one.

    :param scope: parent construct.
    :param id_: construct id.
    :param props: `CachedRestApiProps`. Default: every default there.
    :param log_defaults: what an owner construct wants for the log groups built here when
        ``props`` leaves them unset (e.g. `CachedProductService` passes its own).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        props: CachedRestApiProps | None = None,
        log_defaults: LogGroupSettings | None = None,
    ) -> None:
        super().__init__(scope, id_)
        props = props or CachedRestApiProps()
        require_instance("props", props, CachedRestApiProps)
        require_instance("log_defaults", log_defaults, LogGroupSettings)
        self.props = props
        self.stage_name = props.stage_name
        self.stage_cache_enabled = props.stage_cache_enabled
        """Whether the stage has a cache (routes with the "api" layer need it)."""
        self.cache_cluster_size = props.cache_cluster_size
        self._route_settings: list[_RouteSetting] = []
        self.log_settings = LogGroupSettings(
            retention=props.access_log_retention,
            removal_policy=props.log_removal_policy,
            encryption_key=props.log_encryption_key,
        ).or_else(log_defaults)
        """The retention, removal policy and key of the log groups built here."""

        self.access_log_group: logs.ILogGroup = (
            props.access_log_group or self._build_access_log_group()
        )
        """Where the JSON access log goes."""
        self.api = self._build_rest_api()
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
        if props.web_acl_enabled:
            web_acl_arn = props.web_acl_arn
            if web_acl_arn is None:
                self.web_acl = self._build_web_acl(props.web_acl_rate_limit or 2000)
                web_acl_arn = self.web_acl.attr_arn
            self.web_acl_association = wafv2.CfnWebACLAssociation(
                self,
                "WebAclAssociation",
                resource_arn=self.stage.stage_arn,
                web_acl_arn=web_acl_arn,
            )
        else:
            _acknowledge(
                self.stage,
                ("APIG3",),
                "the caller turned the web ACL off (CachedRestApiProps.web_acl_enabled=False)",
            )
            skip_checkov(
                self.stage,
                "CKV2_AWS_29",
                "the caller turned the web ACL off (CachedRestApiProps.web_acl_enabled=False)",
            )
        if not props.stage_cache_enabled:
            skip_checkov(
                self.stage,
                "CKV_AWS_120",
                "the caller turned the stage cache off (stage_cache_enabled=False); "
                "no route is cached at API Gateway",
            )
        if props.cloud_watch_role:
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

    def _build_access_log_group(self) -> logs.ILogGroup:
        settings = self.log_settings
        return build_log_group(
            self,
            "AccessLogs",
            retention=settings.retention or logs.RetentionDays.THREE_MONTHS,
            removal_policy=settings.removal_policy or RemovalPolicy.RETAIN,
            encryption_key=settings.encryption_key,
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

    def _build_rest_api(self) -> apigateway.RestApi:
        props = self.props
        return apigateway.RestApi(
            self,
            "Api",
            rest_api_name=props.rest_api_name,
            description=props.description,
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=props.cloud_watch_role,
            deploy_options=apigateway.StageOptions(
                stage_name=self.stage_name,
                cache_cluster_enabled=props.stage_cache_enabled,
                cache_cluster_size=(self.cache_cluster_size if props.stage_cache_enabled else None),
                cache_data_encrypted=True,
                caching_enabled=False,
                tracing_enabled=props.tracing_enabled,
                logging_level=props.logging_level,
                metrics_enabled=True,
                data_trace_enabled=False,
                throttling_rate_limit=props.throttling_rate_limit,
                throttling_burst_limit=props.throttling_burst_limit,
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
            log_group=custom_resource_log_group(self, self.log_settings),
        )
        # No explicit dependency on the stage: the call and the policy reference it already
        # (an extra DependsOn is cfn-lint W3005).
        acknowledge_provider(self)
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
        if not isinstance(policy, CachePolicy):
            raise ValueError(
                f"policy must be a CachePolicy (e.g. CachePolicy.named('static')); "
                f"got {type(policy).__name__} {policy!r}"
            )
        cached = "api" in policy.layers
        route = f"{http_method.upper()} {resource.path}"
        if cached and not self.stage_cache_enabled:
            raise ValueError(
                f"policy {policy.name!r} of {route} uses the 'api' layer, but the stage has no "
                "cache (CachedRestApiProps.stage_cache_enabled=False): use "
                "policy.without_layers('api')"
            )
        authorized = (
            authorizer is not None or authorization_type != apigateway.AuthorizationType.NONE
        )
        if isinstance(cache_key_parameters, str):
            raise ValueError("cache_key_parameters must be a sequence of names, not one string")
        path_params = set(_path_params(resource.path))
        for key in cache_key_parameters:
            _require_parameter_name("cache_key_parameters", key)
            name = _path_param_of(key)
            if name is not None and name not in path_params:
                raise ValueError(
                    f"cache_key_parameters names the path parameter {name!r} ({key}), but "
                    f"{route} has {sorted(path_params) or 'no path parameters'}"
                )
        for key in request_parameters or {}:
            _require_parameter_name("request_parameters", key)
        if identity_cache_key is not None:
            _require_parameter_name("identity_cache_key", identity_cache_key)
        if not cached and cache_key_parameters:
            raise ValueError(
                f"cache_key_parameters of {route} would be dropped: policy {policy.name!r} "
                "has no 'api' layer, so the stage cache does not serve the route"
            )
        if not cached and identity_cache_key is not None:
            raise ValueError(
                f"identity_cache_key of {route} would be ignored: policy {policy.name!r} has "
                "no 'api' layer, so the stage cache does not serve the route"
            )
        if cached and authorized and identity_cache_key is None:
            raise ValueError(
                f"identity_cache_key is required to cache {route}: it is authorized, and "
                "without the caller's identity in the cache key one caller's response would "
                "be served to another (or use a policy without the 'api' layer)"
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
            _RouteSetting(
                path=resource.path,
                http_method="GET",
                caching_enabled=cached,
                cache_ttl_seconds=policy.api_ttl_seconds if cached else 0,
            )
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
            skip_checkov(method, "CKV_AWS_59", _NAG_PUBLIC_REASON)
        elif authorizer is None and authorization_type == apigateway.AuthorizationType.IAM:
            _acknowledge(method, ("COG4",), _NAG_IAM_REASON)
        return method

    # --- grants --------------------------------------------------------------------------

    def grant_invalidate(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow `grantee` to flush entries of the cached routes with `Cache-Control: max-age=0`.

        Scoped to the GET routes added so far with caching on (path parameters become `*`):
        call it after adding them.
        """
        paths = [route.path for route in self._route_settings if route.caching_enabled]
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
        """Stage method settings: the stage-wide entry, then one per cached-route entry.

        A per-method entry replaces the stage-wide one for that method, so logging, metrics
        and throttling are repeated in it to stay on.
        """
        props = self.props

        def setting(path: str, method: str, caching: bool, ttl: int | None) -> dict[str, Any]:
            values = {
                "http_method": method,
                "resource_path": path,
                "logging_level": props.logging_level.value,
                "data_trace_enabled": False,
                "metrics_enabled": True,
                "throttling_rate_limit": props.throttling_rate_limit,
                "throttling_burst_limit": props.throttling_burst_limit,
                # Only routes added with a policy that includes "api" are cached.
                "caching_enabled": caching,
                "cache_ttl_in_seconds": ttl,
                "cache_data_encrypted": True,
            }
            return {key: value for key, value in values.items() if value is not None}

        return [
            setting("/*", "*", False, None),
            *(
                setting(r.escaped_path, r.http_method, r.caching_enabled, r.cache_ttl_seconds)
                for r in self._route_settings
            ),
        ]

    def _cache_control_patch_operations(self) -> list[dict[str, str]]:
        """UpdateStage operations: authorized `Cache-Control: max-age=0` only, else 403."""
        paths = ["/*/*"] + [
            f"/{route.escaped_path.lstrip('/')}/{route.http_method}"
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
            apigateway.CfnStage.MethodSettingProperty(**setting) for setting in rendered
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


def _path_params(path: str) -> list[str]:
    return [
        part[1:-1].rstrip("+")
        for part in path.split("/")
        if part.startswith("{") and part.endswith("}")
    ]


def _path_keys(path: str) -> list[str]:
    return [f"{_PARAM_PREFIX}path.{name}" for name in _path_params(path)]


def _path_param_of(key: str) -> str | None:
    """``"id"`` for ``"method.request.path.id"``; None for other kinds of parameters."""
    prefix = f"{_PARAM_PREFIX}path."
    return key[len(prefix) :] if key.startswith(prefix) else None


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
