"""InvalidationChannel: an AWS AppSync Event API that pushes cache invalidations to clients.

One channel namespace (``invalidations`` by default) whose channels clients subscribe to over
the Event API's WebSocket; the service publishes to it over HTTP (``POST /event``) with IAM
only. Clients (browsers) subscribe with an API key by default, the right choice for a public
catalog; a Cognito user pool, an identity pool (IAM), OIDC or Lambda authorizer can replace it.

The construct owns its log group (retention, removal policy) and the narrow role AppSync
writes to it with, instead of the EventApi L2's log config, which adds a LogRetention custom
resource (a Lambda function) and the broad managed policy AWSAppSyncPushToCloudWatchLogs.

Monitoring merges into any dashboard or alarm set: ``metric_*`` methods (the
``PushChannelMetricsSource`` protocol of metric_sources.py), ``dashboard_widgets()`` and
``add_alarms(topic=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from aws_cdk import Aws, Duration, Expiration, Names, RemovalPolicy
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from cache_constructs._validation import is_unresolved, require_int_range, require_one_of
from cache_constructs.contract import environment as env_names
from cache_constructs.contract.metrics import PUSH_PUBLISH_FAILURE, PUSH_PUBLISHED
from cache_constructs.contract.push import CHANNEL_SEGMENT_PATTERN, NAMESPACE
from cache_constructs.metric_sources import ServiceMetrics

#: Where the alarm descriptions point: docs/runbook.md of this project, one anchor per alarm.
DEFAULT_RUNBOOK_URL = (
    "https://github.com/cache-constructs/cache-constructs/blob/main/docs/runbook.md"
)
APPSYNC_NAMESPACE = "AWS/AppSync"
#: The dimension of Event API metrics (GraphQL APIs use GraphQLAPIId instead).
EVENT_API_DIMENSION = "EventAPIId"
MAX_API_KEY_DAYS = 365
_API_NAME = re.compile(r"^[A-Za-z0-9_ -]{1,50}$")
_ALARM_NAME_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_LOG_LEVELS = tuple(appsync.AppSyncFieldLogLevel)
_REMOVAL_POLICIES = (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY)
_ONE_MINUTE = Duration.minutes(1)
_GRAPH_WIDTH = 8
_GRAPH_HEIGHT = 6

Level = Literal["warning", "critical"]


@dataclass(frozen=True)
class PushAlarmKind:
    """One family of push alarms: its key, runbook anchor and what breaching means."""

    key: str
    anchor: str
    summary: str


PUBLISH_FAILURES = PushAlarmKind(
    "PushPublishFailures",
    "push-publish-failures",
    "The invalidation function could not publish changes (clients fall back to polling)",
)
PUBLISH_ERRORS = PushAlarmKind(
    "PushPublishErrors",
    "push-publish-errors",
    "The Event API refused publish requests (HTTP 4XX/5XX)",
)
CONNECT_SERVER_ERRORS = PushAlarmKind(
    "PushConnectServerErrors",
    "push-connection-errors",
    "The Event API failed client connections (server side)",
)
CONNECT_CLIENT_ERRORS = PushAlarmKind(
    "PushConnectClientErrors",
    "push-connection-errors",
    "The Event API refused client connections (an expired API key refuses them all)",
)


class InvalidationChannel(Construct):
    """An AppSync Event API with one channel namespace for cache invalidations.

    :param scope: parent construct.
    :param id_: construct id.
    :param api_name: the Event API's name, 1..50 characters of ``A-Za-z0-9_ -``. Default: a
        name unique in the app, derived from the construct path.
    :param namespace: the channel namespace, 1..50 characters of ``A-Za-z0-9-``, starting
        and ending alphanumeric. Default ``"invalidations"`` (what the runtime and the
        browser client use).
    :param subscriber_auth: how clients connect and subscribe. Default: one API key (a public
        catalog: anyone may listen; nobody can publish with it). Give Cognito user pool,
        OIDC, Lambda or IAM (identity pool) providers to restrict who listens.
    :param api_key_expires: lifetime of the default API key, counted from each synth: more
        than 1 day, at most 365 (AppSync's limits). Default 365 days: every deploy moves the
        expiry forward (the key itself stays), so a stack deployed at least once a year keeps
        its key; an expired key refuses every client (the connection client-error alarm
        fires). Not with ``subscriber_auth``.
    :param log_level: what AppSync logs: ``NONE``, ``ERROR`` (default), ``INFO``, ``DEBUG``,
        ``ALL`` (INFO and above log event payloads).
    :param log_retention: retention of the API's log group. Default one month.
    :param removal_policy: what happens to the log group when it leaves the stack:
        ``RETAIN`` (default) or ``DESTROY``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        api_name: str | None = None,
        namespace: str = NAMESPACE,
        subscriber_auth: Sequence[appsync.AppSyncAuthProvider] | None = None,
        api_key_expires: Duration | None = None,
        log_level: appsync.AppSyncFieldLogLevel = appsync.AppSyncFieldLogLevel.ERROR,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id_)
        _validate(
            api_name=api_name,
            namespace=namespace,
            subscriber_auth=subscriber_auth,
            api_key_expires=api_key_expires,
            log_level=log_level,
            removal_policy=removal_policy,
        )
        #: The channel namespace clients subscribe to and the service publishes to.
        self.namespace_name = namespace
        subscribers = list(subscriber_auth or [_api_key_provider(api_key_expires)])
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
            api_name or Names.unique_resource_name(self, max_length=50, separator="-"),
            [*subscribers, *publishers],
        )
        #: The channel namespace: publish by IAM only, subscribe by ``subscriber_auth``.
        self.namespace = self.api.add_channel_namespace(
            "Namespace",
            channel_namespace_name=namespace,
            authorization_config=appsync.NamespaceAuthConfig(
                publish_auth_mode_types=[appsync.AppSyncAuthorizationType.IAM],
                subscribe_auth_mode_types=self.subscriber_auth_types,
            ),
        )
        #: The API's log group (``/aws/appsync/apis/<api id>``).
        self.log_group = self._build_logging(log_level, log_retention, removal_policy)
        #: The default API key (None when ``subscriber_auth`` is given).
        self.api_key: appsync.CfnApiKey | None = next(iter(self.api.api_keys.values()), None)

    # -- endpoints -------------------------------------------------------------------------

    @property
    def publish_url(self) -> str:
        """``https://<http dns>/event``: where the service publishes (``POST``, SigV4)."""
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
        The HTTP endpoint is public: ``fn`` needs a route to it (in a VPC, a NAT gateway).
        """
        grant = self.namespace.grant_publish(fn)
        for name, value in env_names.events_env(self.publish_url, auth="iam").items():
            fn.add_environment(name, value)
        return grant

    # -- metrics ---------------------------------------------------------------------------

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

        Only the service publishes over HTTP, so a 4XX here is our publisher's (IAM or
        payload), not a browser's.
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

    # -- dashboard and alarms (merge into any CacheDashboard/CacheAlarms) -------------------

    def dashboard_widgets(
        self, *, service_metrics: ServiceMetrics | None = None
    ) -> list[cloudwatch.IWidget]:
        """A "Push invalidation" section: the publisher's own counts (when ``service_metrics``
        is given), publish errors, connections and deliveries."""
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.TextWidget(markdown="## Push invalidation", width=24, height=1)
        ]
        if service_metrics is not None:
            widgets.append(
                _graph(
                    "Publishes by the invalidation function",
                    [
                        service_metrics.metric(PUSH_PUBLISHED),
                        service_metrics.metric(PUSH_PUBLISH_FAILURE),
                    ],
                )
            )
        widgets += [
            _graph("Event API publish errors", [self.metric_publish_errors()]),
            _graph(
                "Client connections",
                [
                    self.metric_active_connections(),
                    self.metric_connect_success(),
                    self.metric_connect_client_errors(),
                    self.metric_connect_server_errors(),
                ],
            ),
            _graph(
                "Deliveries and subscriptions",
                [self.metric_delivered_messages(), self.metric_subscribe_errors()],
            ),
        ]
        return widgets

    def add_alarms(
        self,
        *,
        topic: sns.ITopic,
        warning_topic: sns.ITopic | None = None,
        service_metrics: ServiceMetrics | None = None,
        runbook_url: str = DEFAULT_RUNBOOK_URL,
        alarm_name_prefix: str | None = None,
        evaluation_periods: int = 3,
        datapoints_to_alarm: int = 3,
        max_publish_failures_per_minute_warning: float | None = 0,
        max_publish_failures_per_minute_critical: float | None = 10,
        max_publish_errors_per_minute_warning: float | None = 0,
        max_publish_errors_per_minute_critical: float | None = 10,
        max_connect_server_errors_per_minute_warning: float | None = 0,
        max_connect_server_errors_per_minute_critical: float | None = 10,
        max_connect_client_errors_per_minute_warning: float | None = 10,
        max_connect_client_errors_per_minute_critical: float | None = 100,
    ) -> dict[str, cloudwatch.Alarm]:
        """Warning and critical alarms of the push path, notifying ``topic``; by key.

        Keys are ``<kind><Level>``, e.g. ``PushPublishFailuresCritical``. Each threshold is a
        count per minute (alarm above it), ``None`` turns that level off; warning must stay
        below critical. The publish-failure alarms need ``service_metrics`` (the functions'
        EMF metrics). Warnings go to ``warning_topic`` when given.
        """
        require_int_range("evaluation_periods", evaluation_periods, 1, 1440)
        require_int_range("datapoints_to_alarm", datapoints_to_alarm, 1, evaluation_periods)
        if alarm_name_prefix is not None and not _ALARM_NAME_PREFIX.match(alarm_name_prefix):
            raise ValueError(
                "alarm_name_prefix must be 1..200 characters of A-Z, a-z, 0-9, '_', '.', '-'; "
                f"got {alarm_name_prefix!r}"
            )
        kinds: list[tuple[PushAlarmKind, cloudwatch.IMetric, dict[Level, float]]] = []
        if service_metrics is not None:
            kinds.append(
                (
                    PUBLISH_FAILURES,
                    service_metrics.metric(PUSH_PUBLISH_FAILURE),
                    _levels(
                        "max_publish_failures_per_minute",
                        max_publish_failures_per_minute_warning,
                        max_publish_failures_per_minute_critical,
                    ),
                )
            )
        kinds += [
            (
                PUBLISH_ERRORS,
                self.metric_publish_errors(),
                _levels(
                    "max_publish_errors_per_minute",
                    max_publish_errors_per_minute_warning,
                    max_publish_errors_per_minute_critical,
                ),
            ),
            (
                CONNECT_SERVER_ERRORS,
                self.metric_connect_server_errors(),
                _levels(
                    "max_connect_server_errors_per_minute",
                    max_connect_server_errors_per_minute_warning,
                    max_connect_server_errors_per_minute_critical,
                ),
            ),
            (
                CONNECT_CLIENT_ERRORS,
                self.metric_connect_client_errors(),
                _levels(
                    "max_connect_client_errors_per_minute",
                    max_connect_client_errors_per_minute_warning,
                    max_connect_client_errors_per_minute_critical,
                ),
            ),
        ]
        alarms: dict[str, cloudwatch.Alarm] = {}
        for kind, metric, levels in kinds:
            for level, threshold in levels.items():
                key = f"{kind.key}{level.capitalize()}"
                alarm = cloudwatch.Alarm(
                    self,
                    key,
                    metric=metric,
                    threshold=threshold,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=evaluation_periods,
                    datapoints_to_alarm=datapoints_to_alarm,
                    # These metrics are only published when something happened.
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=(
                        f"{level.upper()}: {kind.summary}: above {threshold:g} per minute in "
                        f"{datapoints_to_alarm} of {evaluation_periods} minutes. "
                        f"Runbook: {runbook_url}#{kind.anchor}"
                    ),
                    alarm_name=f"{alarm_name_prefix}-{key}" if alarm_name_prefix else None,
                )
                notify = topic if level == "critical" else (warning_topic or topic)
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(notify))
                alarm.add_ok_action(cloudwatch_actions.SnsAction(notify))
                alarms[key] = alarm
        return alarms

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

    def _build_logging(
        self,
        log_level: appsync.AppSyncFieldLogLevel,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> logs.LogGroup:
        """The API's log group, and a role AppSync may write to that group only with."""
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/appsync/apis/{self.api.api_id}",
            retention=retention,
            removal_policy=removal_policy,
        )
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


def _graph(title: str, metrics: Sequence[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(metrics),
        left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
        width=_GRAPH_WIDTH,
        height=_GRAPH_HEIGHT,
    )


def _levels(prop: str, warning: float | None, critical: float | None) -> dict[Level, float]:
    levels: dict[Level, float] = {}
    pairs: tuple[tuple[Level, float | None], ...] = (("warning", warning), ("critical", critical))
    for level, value in pairs:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{prop}_{level} must be a number >= 0 or None; got {value!r}")
        levels[level] = float(value)
    if len(levels) == 2 and levels["warning"] >= levels["critical"]:
        raise ValueError(
            f"{prop}_warning ({levels['warning']:g}) must be below {prop}_critical "
            f"({levels['critical']:g}): a warning comes before the page"
        )
    return levels


def _validate(
    *,
    api_name: str | None,
    namespace: str,
    subscriber_auth: Sequence[appsync.AppSyncAuthProvider] | None,
    api_key_expires: Duration | None,
    log_level: appsync.AppSyncFieldLogLevel,
    removal_policy: RemovalPolicy,
) -> None:
    if api_name is not None and not is_unresolved(api_name) and not _API_NAME.match(api_name):
        raise ValueError(
            f"api_name must be 1..50 characters of A-Z, a-z, 0-9, '_', ' ', '-'; got {api_name!r}"
        )
    if not isinstance(namespace, str) or not CHANNEL_SEGMENT_PATTERN.fullmatch(namespace):
        raise ValueError(
            "namespace must be 1..50 characters of A-Z, a-z, 0-9 and '-', starting and ending "
            f"with a letter or digit; got {namespace!r}"
        )
    if subscriber_auth is not None:
        if api_key_expires is not None:
            raise ValueError(
                "give either subscriber_auth or api_key_expires, not both (api_key_expires "
                "only applies to the default API key)"
            )
        if len(subscriber_auth) == 0:
            raise ValueError("subscriber_auth must hold at least one auth provider")
    if api_key_expires is not None:
        days = api_key_expires.to_days(integral=False)
        # AppSync wants more than 1 day from the moment the key is written.
        if not is_unresolved(days) and not 1 < days <= MAX_API_KEY_DAYS:
            raise ValueError(
                f"api_key_expires must be more than 1 day and at most {MAX_API_KEY_DAYS} days; "
                f"got {days:g}"
            )
    require_one_of("log_level", log_level, _LOG_LEVELS)
    require_one_of("removal_policy", removal_policy, _REMOVAL_POLICIES)


__all__ = ["InvalidationChannel"]
