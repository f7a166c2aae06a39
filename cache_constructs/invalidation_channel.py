"""InvalidationChannel: an AWS AppSync Event API that pushes cache invalidations to clients.

One channel namespace (``invalidations`` by default) whose channels clients subscribe to over
the Event API's WebSocket; publishing is IAM only. Clients (browsers) subscribe with an API key
by default, the right choice for a public catalog; a Cognito user pool, an identity pool (IAM),
OIDC or Lambda authorizer can replace it.

Publishing without NAT: an Event API has no VPC endpoint, and a stream function in isolated
subnets cannot reach its public HTTP endpoint. Given ``publisher_code``, the channel builds a
small publisher function OUTSIDE any VPC (its own log group, ``appsync:EventPublish`` on this
namespace only); `grant_handover` lets a function in a VPC hand it publish requests by an
asynchronous Lambda invoke through the VPC's Lambda interface endpoint (`lambda_network`).
The invoke has bounded retries (``publish_retry_attempts``, ``publish_max_event_age``); events
Lambda gives up on are counted by ``AsyncEventsDropped`` (`metric_dropped_publishes`).
`grant_publish` still lets a function with a route to AppSync publish directly.

The construct owns its log group (retention, removal policy, key: `log_groups`) and the narrow
role AppSync writes to it with, instead of the EventApi L2's log config, which adds a
LogRetention custom resource (a Lambda function) and the broad managed policy
AWSAppSyncPushToCloudWatchLogs.

Monitoring: the channel is a `PushChannelMetricsSource` (metric_sources.py); a service that has
one lists it as ``MetricSources.push``, and CacheDashboard and CacheAlarms pick it up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from aws_cdk import Aws, Duration, Expiration, Names, RemovalPolicy
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cache_constructs._checkov import skip_checkov
from cache_constructs._nag import acknowledge_function_role
from cache_constructs._props import construct_props
from cache_constructs._validation import (
    is_unresolved,
    require_instance,
    require_int_range,
    require_one_of,
)
from cache_constructs.bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from cache_constructs.contract import environment as env_names
from cache_constructs.contract.metrics import PUSH_PUBLISH_FAILURE, PUSH_PUBLISHED
from cache_constructs.contract.push import (
    CHANNEL_SEGMENT_PATTERN,
    NAMESPACE,
    PUBLISHER_FUNCTION_TIMEOUT_SECONDS,
)
from cache_constructs.handlers import PUSH_PUBLISHER_HANDLER
from cache_constructs.lambda_network import allow_lambda_api
from cache_constructs.log_groups import LOG_REMOVAL_POLICIES, LogGroupSettings, build_log_group
from cache_constructs.metric_sources import ServiceMetrics

APPSYNC_NAMESPACE = "AWS/AppSync"
#: The dimension of Event API metrics (GraphQL APIs use GraphQLAPIId instead).
EVENT_API_DIMENSION = "EventAPIId"
MAX_API_KEY_DAYS = 365
DEFAULT_PUBLISH_MAX_EVENT_AGE = Duration.minutes(5)
_API_NAME = re.compile(r"^[A-Za-z0-9_ -]{1,50}$")
_LOG_LEVELS = tuple(appsync.AppSyncFieldLogLevel)
_ONE_MINUTE = Duration.minutes(1)

_PUBLISHER_ENV_REASON = (
    "the environment holds the publish URL, the auth mode and the Powertools settings, no "
    "secret; Lambda encrypts it at rest with its AWS-managed key"
)
_PUBLISHER_DLQ_REASON = (
    "a push that exhausted its retries is not worth replaying (clients revalidate on their "
    "own); Lambda counts every dropped event in AsyncEventsDropped, which is alarmed"
)
_PUBLISHER_VPC_REASON = (
    "AppSync Event APIs have no VPC endpoint: the publisher runs outside any VPC on purpose "
    "and touches nothing inside one (it only posts to the Event API)"
)
_PUBLISHER_CONCURRENCY_REASON = (
    "a handful of publishes per change: Lambda's asynchronous queue absorbs bursts and "
    "retries throttled events until publish_max_event_age"
)


@construct_props
class InvalidationChannelProps:
    """What a caller may choose about an `InvalidationChannel`; every field has its default."""

    api_name: str | None = None
    """The Event API's name, 1..50 characters of ``A-Za-z0-9_ -``. Default: a name unique in
    the app, derived from the construct path."""
    namespace: str = NAMESPACE
    """The channel namespace, 1..50 characters of ``A-Za-z0-9-``, alphanumeric at both ends.
    Default ``"invalidations"`` (what the runtime and the browser client use)."""
    subscriber_auth: tuple[appsync.AppSyncAuthProvider, ...] | None = None
    """How clients connect and subscribe. Default: one API key (a public catalog: anyone may
    listen; nobody can publish with it). Cognito user pool, OIDC, Lambda or IAM (identity
    pool) providers restrict who listens."""
    api_key_expires: Duration | None = None
    """Lifetime of the default API key, counted from each synth: more than 1 day, at most 365
    (AppSync's limits). Default 365 days: every deploy moves the expiry forward (same key).
    Not with ``subscriber_auth``."""
    log_level: appsync.AppSyncFieldLogLevel = appsync.AppSyncFieldLogLevel.ERROR
    """What AppSync logs: ``NONE``, ``ERROR`` (default), ``INFO``, ``DEBUG``, ``ALL`` (INFO
    and above log event payloads)."""
    log_retention: logs.RetentionDays | None = None
    """Retention of the API's and the publisher's log groups. Default: the owner's
    ``log_defaults``, else one month."""
    log_removal_policy: RemovalPolicy | None = None
    """``RETAIN`` or ``DESTROY`` for those log groups. Default: the owner's ``log_defaults``,
    else ``RETAIN``."""
    log_encryption_key: kms.IKey | None = None
    """A customer-managed KMS key for those log groups. Default: the owner's
    ``log_defaults``, else CloudWatch Logs' own encryption."""
    publish_retry_attempts: int = 2
    """How often Lambda retries a handover whose publish failed, 0..2. Default 2."""
    publish_max_event_age: Duration = DEFAULT_PUBLISH_MAX_EVENT_AGE
    """How long Lambda keeps a handover queued or retrying (throttles included), 60 s..6 h.
    Default 5 minutes: later, clients have revalidated on their own."""
    publisher_memory_size_mb: int = 256
    """Memory of the publisher function, 128..10240. Default 256."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        name = self.api_name
        if name is not None and not is_unresolved(name) and not _API_NAME.match(str(name)):
            raise ValueError(
                f"{owner}.api_name must be 1..50 characters of A-Z, a-z, 0-9, '_', ' ', '-'; "
                f"got {name!r}"
            )
        if not isinstance(self.namespace, str) or not CHANNEL_SEGMENT_PATTERN.fullmatch(
            self.namespace
        ):
            raise ValueError(
                f"{owner}.namespace must be 1..50 characters of A-Z, a-z, 0-9 and '-', starting "
                f"and ending with a letter or digit; got {self.namespace!r}"
            )
        if self.subscriber_auth is not None:
            if isinstance(self.subscriber_auth, appsync.AppSyncAuthProvider):
                raise ValueError(f"{owner}.subscriber_auth must be a tuple of providers")
            object.__setattr__(self, "subscriber_auth", tuple(self.subscriber_auth))
            if not self.subscriber_auth:
                raise ValueError(f"{owner}.subscriber_auth must hold at least one auth provider")
            if self.api_key_expires is not None:
                raise ValueError(
                    f"give either {owner}.subscriber_auth or {owner}.api_key_expires, not both "
                    "(api_key_expires only applies to the default API key)"
                )
        if self.api_key_expires is not None:
            require_instance(f"{owner}.api_key_expires", self.api_key_expires, Duration)
            days = self.api_key_expires.to_days(integral=False)
            # AppSync wants more than 1 day from the moment the key is written.
            if not is_unresolved(days) and not 1 < days <= MAX_API_KEY_DAYS:
                raise ValueError(
                    f"{owner}.api_key_expires must be more than 1 day and at most "
                    f"{MAX_API_KEY_DAYS} days; got {days:g}"
                )
        require_one_of(f"{owner}.log_level", self.log_level, _LOG_LEVELS)
        require_instance(f"{owner}.log_retention", self.log_retention, logs.RetentionDays)
        if self.log_removal_policy is not None:
            require_one_of(
                f"{owner}.log_removal_policy", self.log_removal_policy, LOG_REMOVAL_POLICIES
            )
        require_int_range(f"{owner}.publish_retry_attempts", self.publish_retry_attempts, 0, 2)
        require_instance(f"{owner}.publish_max_event_age", self.publish_max_event_age, Duration)
        seconds = self.publish_max_event_age.to_seconds()
        if not is_unresolved(seconds) and not 60 <= seconds <= 6 * 3600:
            raise ValueError(
                f"{owner}.publish_max_event_age must be between 60 seconds and 6 hours; "
                f"got {seconds:g} s"
            )
        require_int_range(
            f"{owner}.publisher_memory_size_mb", self.publisher_memory_size_mb, 128, 10240
        )


class InvalidationChannel(Construct):
    """An AppSync Event API with one channel namespace for cache invalidations.

    :param scope: parent construct.
    :param id_: construct id.
    :param publisher_code: the Lambda code holding ``cache_constructs.handlers`` and its
        requirements (``ProductServiceCode.of(scope)`` does): with it the channel builds the
        publisher function (outside any VPC) that `grant_handover` hands publishes to.
        Default: none (only `grant_publish`, for functions that reach AppSync themselves).
    :param publisher_metrics: where the publisher's EMF metrics go (namespace and ``service``
        dimension). Default ``ServiceMetrics()`` (``CachedProductService``/``product-service``).
    :param log_defaults: what an owner wants for the log groups built here when ``props``
        leaves them unset (``CachedProductService`` passes its own).
    :param props: `InvalidationChannelProps`. Default: every default there.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        publisher_code: lambda_.Code | None = None,
        publisher_metrics: ServiceMetrics | None = None,
        log_defaults: LogGroupSettings | None = None,
        props: InvalidationChannelProps | None = None,
    ) -> None:
        super().__init__(scope, id_)
        props = props or InvalidationChannelProps()
        require_instance("props", props, InvalidationChannelProps)
        require_instance("publisher_code", publisher_code, lambda_.Code)
        require_instance("publisher_metrics", publisher_metrics, ServiceMetrics)
        require_instance("log_defaults", log_defaults, LogGroupSettings)
        self.props = props
        self.log_settings = LogGroupSettings(
            retention=props.log_retention,
            removal_policy=props.log_removal_policy,
            encryption_key=props.log_encryption_key,
        ).or_else(log_defaults)
        """Retention, removal policy and key of the log groups built here."""
        #: The channel namespace clients subscribe to and the service publishes to.
        self.namespace_name = props.namespace
        subscribers = list(props.subscriber_auth or [_api_key_provider(props.api_key_expires)])
        #: How clients subscribe (connect with the same modes).
        self.subscriber_auth_types = _unique(p.authorization_type for p in subscribers)
        iam_provider = appsync.AppSyncAuthProvider(
            authorization_type=appsync.AppSyncAuthorizationType.IAM
        )
        publishers = (
            []
            if appsync.AppSyncAuthorizationType.IAM in self.subscriber_auth_types
            else [iam_provider]
        )
        #: The Event API.
        self.api = self._build_api(
            props.api_name or Names.unique_resource_name(self, max_length=50, separator="-"),
            [*subscribers, *publishers],
        )
        #: The channel namespace: publish by IAM only, subscribe by ``subscriber_auth``.
        self.namespace = self.api.add_channel_namespace(
            "Namespace",
            channel_namespace_name=props.namespace,
            authorization_config=appsync.NamespaceAuthConfig(
                publish_auth_mode_types=[appsync.AppSyncAuthorizationType.IAM],
                subscribe_auth_mode_types=self.subscriber_auth_types,
            ),
        )
        #: The API's log group (``/aws/appsync/apis/<api id>``).
        self.log_group = self._build_logging(props.log_level)
        #: The default API key (None when ``subscriber_auth`` is given).
        self.api_key: appsync.CfnApiKey | None = next(iter(self.api.api_keys.values()), None)
        #: The publisher function's EMF metrics (namespace and ``service`` dimension).
        self.publisher_metrics = publisher_metrics or ServiceMetrics()
        #: The publisher function outside any VPC (None without ``publisher_code``).
        self.publisher_function: lambda_.Function | None = None
        if publisher_code is not None:
            self.publisher_function = self._build_publisher_function(publisher_code)
            self.grant_publish(self.publisher_function)

    # -- endpoints -------------------------------------------------------------------------

    @property
    def publish_url(self) -> str:
        """``https://<http dns>/event``: where publishers post (``POST``, SigV4)."""
        return f"https://{self.api.http_dns}/event"

    @property
    def realtime_url(self) -> str:
        """``wss://<realtime dns>/event/realtime``: where clients connect and subscribe."""
        return f"wss://{self.api.realtime_dns}/event/realtime"

    @property
    def realtime_origin(self) -> str:
        """``wss://<realtime dns>``: what a page's Content-Security-Policy must allow."""
        return f"wss://{self.api.realtime_dns}"

    def client_authorization(self) -> dict[str, str]:
        """The authorization a client sends with the default API key (for its config).

        ``{"host": <HTTP dns>, "x-api-key": <key>}``: the Event API's WebSocket takes it as
        the ``header-<base64url>`` subprotocol and in each subscribe message. The key only
        lets clients connect and subscribe; publishing needs IAM.
        """
        if self.api_key is None:
            raise ValueError(
                "client_authorization() describes the default API key; with subscriber_auth "
                "the clients bring their own (e.g. a Cognito token)"
            )
        return {"host": self.api.http_dns, "x-api-key": self.api_key.attr_api_key}

    # -- grants ----------------------------------------------------------------------------

    def grant_publish(self, fn: lambda_.Function) -> iam.Grant:
        """Let ``fn`` publish to this namespace only, and tell it where (EVENTS_PUBLISH_*).

        ``appsync:EventPublish`` on this API's channel namespace ARN (no wildcard action, no
        other namespace or API); sets ``EVENTS_PUBLISH_URL`` and ``EVENTS_PUBLISH_AUTH=iam``.
        The HTTP endpoint is public: ``fn`` needs a route to it (outside a VPC, or NAT); a
        function in isolated subnets uses `grant_handover` instead.
        """
        grant = self.namespace.grant_publish(fn)
        for name, value in env_names.events_env(self.publish_url, auth="iam").items():
            fn.add_environment(name, value)
        return grant

    def grant_handover(
        self, fn: lambda_.Function, *, endpoint: ec2.IInterfaceVpcEndpoint | None = None
    ) -> iam.Grant:
        """Let ``fn`` hand publish requests to the publisher function (asynchronous invoke).

        ``lambda:InvokeFunction`` on the publisher function's ARN only (not its versions or
        aliases) and ``PUSH_PUBLISHER_FUNCTION=<that ARN>`` on ``fn``. ``endpoint``: the VPC's
        Lambda interface endpoint (`lambda_network.lambda_interface_endpoint`) when ``fn`` is
        in a VPC without NAT: its security group then admits 443 from ``fn``, and ``fn`` gets
        443 out to that security group only.
        """
        publisher = self.publisher_function
        if publisher is None:
            raise ValueError(
                "grant_handover needs the publisher function: build the channel with "
                "publisher_code (e.g. ProductServiceCode.of(scope))"
            )
        grant = iam.Grant.add_to_principal(
            grantee=fn,
            actions=["lambda:InvokeFunction"],
            resource_arns=[publisher.function_arn],
        )
        for name, value in env_names.handover_env(publisher.function_arn).items():
            fn.add_environment(name, value)
        if endpoint is not None:
            allow_lambda_api(fn, endpoint)
        return grant

    # -- metrics (the PushChannelMetricsSource protocol) -------------------------------------

    def metric(
        self, metric_name: str, *, statistic: str = "Sum", period: Duration | None = None
    ) -> cloudwatch.Metric:
        """An ``AWS/AppSync`` metric of this Event API (dimension ``EventAPIId``)."""
        return cloudwatch.Metric(
            namespace=APPSYNC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={EVENT_API_DIMENSION: self.api.api_id},
            statistic=statistic,
            period=period or _ONE_MINUTE,
        )

    def metric_publish_errors(self) -> cloudwatch.MathExpression:
        """HTTP publish requests the Event API refused: ``4XXError`` + ``5XXError`` (Sum).

        Only publishers post over HTTP, so a 4XX here is ours (IAM or payload), not a browser's.
        """
        return cloudwatch.MathExpression(
            expression="FILL(client, 0) + FILL(server, 0)",
            using_metrics={"client": self.metric("4XXError"), "server": self.metric("5XXError")},
            label="publish errors (4XX + 5XX)",
            period=_ONE_MINUTE,
        )

    def metric_connect_client_errors(self) -> cloudwatch.Metric:
        """WebSocket connections refused for the client's fault (``ConnectClientError``)."""
        return self.metric("ConnectClientError")

    def metric_connect_server_errors(self) -> cloudwatch.Metric:
        """WebSocket connections the Event API failed (``ConnectServerError``)."""
        return self.metric("ConnectServerError")

    def metric_active_connections(self) -> cloudwatch.Metric:
        """Concurrent client connections (``ActiveConnections``)."""
        return self.metric("ActiveConnections")

    def metric_connect_success(self) -> cloudwatch.Metric:
        """Connections opened (``ConnectSuccess``)."""
        return self.metric("ConnectSuccess")

    def metric_subscribe_errors(self) -> cloudwatch.MathExpression:
        """Subscriptions refused or failed: ``SubscribeClientError`` + ``SubscribeServerError``."""
        return cloudwatch.MathExpression(
            expression="FILL(sub_client, 0) + FILL(sub_server, 0)",
            using_metrics={
                "sub_client": self.metric("SubscribeClientError"),
                "sub_server": self.metric("SubscribeServerError"),
            },
            label="subscribe errors",
            period=_ONE_MINUTE,
        )

    def metric_delivered_messages(self) -> cloudwatch.Metric:
        """Messages delivered to subscribers (``PublishDataMessageSuccess``)."""
        return self.metric("PublishDataMessageSuccess")

    def metric_published(self) -> cloudwatch.IMetric | None:
        """Publish requests the publisher function got accepted (``PushPublished``, EMF)."""
        if self.publisher_function is None:
            return None
        return self.publisher_metrics.metric(PUSH_PUBLISHED)

    def metric_publish_failures(self) -> cloudwatch.IMetric | None:
        """Publish requests the publisher function could not publish (``PushPublishFailure``)."""
        if self.publisher_function is None:
            return None
        return self.publisher_metrics.metric(PUSH_PUBLISH_FAILURE)

    def metric_dropped_publishes(self) -> cloudwatch.IMetric | None:
        """Handovers Lambda gave up on after the retries or the maximum event age
        (``AsyncEventsDropped`` of the publisher function, Sum per minute)."""
        if self.publisher_function is None:
            return None
        return self.publisher_function.metric(
            "AsyncEventsDropped", statistic="Sum", period=_ONE_MINUTE
        )

    # -- overridable parts -------------------------------------------------------------------

    def _build_api(
        self, api_name: str, providers: Sequence[appsync.AppSyncAuthProvider]
    ) -> appsync.EventApi:
        """The Event API: clients connect with their modes; publishing is set per namespace."""
        return appsync.EventApi(
            self,
            "Api",
            api_name=api_name,
            authorization_config=appsync.EventApiAuthConfig(
                auth_providers=list(providers),
                connection_auth_mode_types=self.subscriber_auth_types,
                default_publish_auth_mode_types=[appsync.AppSyncAuthorizationType.IAM],
                default_subscribe_auth_mode_types=self.subscriber_auth_types,
            ),
        )

    def _build_logging(self, log_level: appsync.AppSyncFieldLogLevel) -> logs.LogGroup:
        """The API's log group, and a role AppSync may write to that group only with."""
        log_group = self._build_log_group("Logs", name=f"/aws/appsync/apis/{self.api.api_id}")
        role = iam.Role(
            self,
            "LogsRole",
            description=f"AppSync writes the logs of {self.node.path}",
            assumed_by=iam.ServicePrincipal(
                "appsync.amazonaws.com",
                # Only this account's AppSync APIs may assume it (no confused deputy). The
                # API's own ARN would make the role depend on the API that depends on it.
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:appsync:{Aws.REGION}:"
                        f"{Aws.ACCOUNT_ID}:apis/*"
                    },
                },
            ),
        )
        # A separate policy resource (the role's default policy): it references the log group,
        # which references the API, which references the role. AppSync gets no right to
        # create the group itself, so it can never race CloudFormation for the name.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        cfn_api = self.api.node.default_child
        assert isinstance(cfn_api, appsync.CfnApi)
        cfn_api.add_property_override(
            "EventConfig.LogConfig",
            {"CloudWatchLogsRoleArn": role.role_arn, "LogLevel": log_level.value},
        )
        #: The role AppSync assumes to write the API's logs.
        self.logs_role = role
        return log_group

    def _build_log_group(self, id_: str, *, name: str | None = None) -> logs.LogGroup:
        """A log group with the channel's retention, removal policy and key."""
        settings = self.log_settings
        return build_log_group(
            self,
            id_,
            retention=settings.retention or logs.RetentionDays.ONE_MONTH,
            removal_policy=settings.removal_policy or RemovalPolicy.RETAIN,
            encryption_key=settings.encryption_key,
            log_group_name=name,
        )

    def _build_publisher_function(self, code: lambda_.Code) -> lambda_.Function:
        """The publisher: no VPC, its own log group, bounded asynchronous retries."""
        props = self.props
        metrics = self.publisher_metrics
        function = lambda_.Function(
            self,
            "PublisherFunction",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=PUSH_PUBLISHER_HANDLER,
            code=code,
            description=f"Publishes cache invalidations to the Event API of {self.node.path}",
            memory_size=props.publisher_memory_size_mb,
            timeout=Duration.seconds(PUBLISHER_FUNCTION_TIMEOUT_SECONDS),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self._build_log_group("PublisherLogs"),
            environment={
                env_names.POWERTOOLS_SERVICE_NAME: metrics.service_name,
                env_names.POWERTOOLS_METRICS_NAMESPACE: metrics.namespace,
            },
            retry_attempts=props.publish_retry_attempts,
            max_event_age=props.publish_max_event_age,
        )
        for check_id, reason in (
            ("CKV_AWS_173", _PUBLISHER_ENV_REASON),
            ("CKV_AWS_116", _PUBLISHER_DLQ_REASON),
            ("CKV_AWS_117", _PUBLISHER_VPC_REASON),
            ("CKV_AWS_115", _PUBLISHER_CONCURRENCY_REASON),
        ):
            skip_checkov(function, check_id, reason)
        acknowledge_function_role(function, in_vpc=False)
        return function


def _api_key_provider(expires: Duration | None) -> appsync.AppSyncAuthProvider:
    lifetime = expires or Duration.days(MAX_API_KEY_DAYS)
    return appsync.AppSyncAuthProvider(
        authorization_type=appsync.AppSyncAuthorizationType.API_KEY,
        api_key_config=appsync.AppSyncApiKeyConfig(
            name="Subscribers",
            description="Lets clients connect and subscribe (publishing needs IAM)",
            expires=Expiration.after(lifetime),
        ),
    )


def _unique(
    types: Iterable[appsync.AppSyncAuthorizationType],
) -> list[appsync.AppSyncAuthorizationType]:
    unique: list[appsync.AppSyncAuthorizationType] = []
    for type_ in types:
        if type_ not in unique:
            unique.append(type_)
    return unique


__all__ = ["InvalidationChannel", "InvalidationChannelProps"]
