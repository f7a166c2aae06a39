"""CacheAlarms: warning and critical alarms for every cache layer, each linked to its runbook.

Thresholds are grouped per kind of alarm, as warning and critical levels
(``max_valkey_memory_percent=Thresholds(warning=75, critical=90)``, the cdk-monitoring-
constructs model), with direction and unit in the kind's name (``max_iterator_age`` takes
Durations). A level set to ``None`` has no alarm; a kind set to ``None`` has none at all. An
alarm is only built for the parts the watched service has (no Valkey, no Valkey alarms).

Notifications: every alarm (ALARM and OK transitions) goes to ``topic``; warnings go to
``warning_topic`` instead when one is given (e.g. a ticket queue rather than a pager).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from cache_constructs._props import construct_props
from cache_constructs._validation import is_unresolved, require_instance, require_int_range
from cache_constructs.contract.metrics import L1_TRACKING_UNAVAILABLE, PUSH_HANDOVER_FAILURE
from cache_constructs.metric_sources import MetricSources, MonitoredService

#: Where the alarm descriptions point: docs/runbook.md of this project, one anchor per alarm.
DEFAULT_RUNBOOK_URL = (
    "https://github.com/cache-constructs/cache-constructs/blob/main/docs/runbook.md"
)

Level = Literal["warning", "critical"]
_LEVELS: tuple[Level, ...] = ("warning", "critical")
_ONE_MINUTE = Duration.minutes(1)
_V = TypeVar("_V")


@construct_props
class Thresholds(Generic[_V]):
    """The warning and critical level of one kind of alarm; None: no alarm at that level.

    The warning must be the milder one: below the critical level for a "max" kind, above it
    for a "min" kind.
    """

    warning: _V | None = None
    critical: _V | None = None


_ALARM_NAME_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
_BELOW = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD


@dataclass(frozen=True)
class AlarmKind:
    """What one family of alarms watches and how a gap in its data is read."""

    key: str
    """Alarm key prefix in ``CacheAlarms.alarms`` (``<key><Level>``)."""
    anchor: str
    """Section anchor in docs/runbook.md."""
    summary: str
    """What breaching means, for the alarm description."""
    unit: str
    treat_missing_data: cloudwatch.TreatMissingData
    prop: str
    """The `CacheAlarmsProps` field holding its `Thresholds`."""
    direction: Literal["max", "min"] = "max"
    """"max" alarms above the threshold, "min" below it."""
    high: float | None = None
    """Largest allowed threshold (100 for percentages)."""
    duration: bool = False
    """Thresholds are Durations (compared in milliseconds)."""

    @property
    def comparison(self) -> cloudwatch.ComparisonOperator:
        return _BELOW if self.direction == "min" else _ABOVE


# Missing data, per metric: NOT_BREACHING where a metric is only published when there is
# something to count (no traffic, no stream records, DAX and SQS idle, no evictions) so a
# gap means "nothing happened"; MISSING for Valkey memory, which a healthy cache reports
# every minute, so a silent cache shows as INSUFFICIENT_DATA instead of as healthy.
HIT_RATE = AlarmKind(
    "L2HitRate",
    "l2-hit-rate",
    "L2 (Valkey) hit rate is low",
    "%",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="min_l2_hit_rate_percent",
    direction="min",
    high=100.0,
)
BYPASS_RATE = AlarmKind(
    "BypassRate",
    "cache-bypass-rate",
    "Reads are bypassing L2 (Valkey unreachable or circuit breaker open)",
    "%",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_bypass_rate_percent",
    high=100.0,
)
VALKEY_MEMORY = AlarmKind(
    "ValkeyMemory",
    "valkey-memory",
    "Valkey memory use is high",
    "%",
    cloudwatch.TreatMissingData.MISSING,
    prop="max_valkey_memory_percent",
    high=100.0,
)
VALKEY_EVICTIONS = AlarmKind(
    "ValkeyEvictions",
    "valkey-evictions",
    "Valkey is evicting keys before their TTL",
    "evictions/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_valkey_evictions_per_minute",
)
ITERATOR_AGE = AlarmKind(
    "IteratorAge",
    "stream-iterator-age",
    "Stream invalidation lags behind the writes (stale reads for longer)",
    "ms",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_iterator_age",
    duration=True,
)
DLQ_DEPTH = AlarmKind(
    "DlqDepth",
    "invalidation-dead-letter-queue",
    "Stream invalidation batches were given up on (cached items may stay stale)",
    "messages",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_dlq_messages",
)
LAMBDA_ERRORS = AlarmKind(
    "LambdaErrors",
    "lambda-errors",
    "Lambda function errors",
    "errors/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_lambda_errors_per_minute",
)
API_LATENCY = AlarmKind(
    "ApiLatencyP95",
    "api-latency-p95",
    "API Gateway p95 latency is high",
    "ms",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_api_latency_p95",
    duration=True,
)
DAX_FAULTS = AlarmKind(
    "DaxFaults",
    "dax-faults",
    "DAX returns server faults (reads fall back to DynamoDB)",
    "faults/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_dax_faults_per_minute",
)
L1_TRACKING = AlarmKind(
    "L1TrackingUnavailable",
    "l1-tracking-unavailable",
    "Lambda environments whose Valkey refused client tracking (their L1 is bounded by its "
    "TTL only)",
    "environments/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_l1_tracking_unavailable_per_minute",
)
PUSH_HANDOVER_FAILURES = AlarmKind(
    "PushHandoverFailures",
    "push-handover-failures",
    "The invalidation function could not hand changes to the push publisher (pages poll)",
    "requests/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_push_handover_failures_per_minute",
)
PUSH_PUBLISH_FAILURES = AlarmKind(
    "PushPublishFailures",
    "push-publish-failures",
    "The push publisher could not publish changes to the Event API (Lambda retries them)",
    "requests/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_push_publish_failures_per_minute",
)
PUSH_DROPPED = AlarmKind(
    "PushDropped",
    "push-handovers-dropped",
    "Lambda dropped push handovers after its retries (those pushes are lost)",
    "events/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_push_dropped_per_minute",
)
PUSH_PUBLISH_ERRORS = AlarmKind(
    "PushPublishErrors",
    "push-publish-errors",
    "The Event API refused publish requests (HTTP 4XX/5XX)",
    "errors/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_push_publish_errors_per_minute",
)
PUSH_CONNECT_SERVER_ERRORS = AlarmKind(
    "PushConnectServerErrors",
    "push-connection-errors",
    "The Event API failed client connections (server side)",
    "errors/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_push_connect_server_errors_per_minute",
)
PUSH_CONNECT_CLIENT_ERRORS = AlarmKind(
    "PushConnectClientErrors",
    "push-connection-errors",
    "The Event API refused client connections (an expired API key refuses them all)",
    "errors/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
    prop="max_push_connect_client_errors_per_minute",
)
ALARM_KINDS = (
    HIT_RATE,
    BYPASS_RATE,
    VALKEY_MEMORY,
    VALKEY_EVICTIONS,
    ITERATOR_AGE,
    DLQ_DEPTH,
    LAMBDA_ERRORS,
    API_LATENCY,
    DAX_FAULTS,
    L1_TRACKING,
    PUSH_HANDOVER_FAILURES,
    PUSH_PUBLISH_FAILURES,
    PUSH_DROPPED,
    PUSH_PUBLISH_ERRORS,
    PUSH_CONNECT_SERVER_ERRORS,
    PUSH_CONNECT_CLIENT_ERRORS,
)


@construct_props
class CacheAlarmsProps:
    """What a caller may choose about `CacheAlarms`; every threshold has its default here."""

    runbook_url: str = DEFAULT_RUNBOOK_URL
    """The runbook every alarm description links (``<url>#<anchor>``). Default: this project's
    docs/runbook.md on GitHub."""
    alarm_name_prefix: str | None = None
    """Alarm names become ``<prefix>-<key>``, 1..200 characters of ``A-Za-z0-9_.-``. Default:
    names generated by CloudFormation."""
    evaluation_periods: int = 3
    """One-minute periods evaluated, 1..1440. Default 3."""
    datapoints_to_alarm: int = 3
    """Breaching periods among them that raise the alarm, 1..evaluation_periods. Default 3."""
    min_requests_for_rates: int = 100
    """Lookups per minute below which the hit and bypass rates are not evaluated (a quiet
    minute is not a cold cache), >= 1. Default 100."""
    min_l2_hit_rate_percent: Thresholds[float] | None = Thresholds(warning=80, critical=50)
    """L2 hit rate, 0..100. Default warning below 80, critical below 50."""
    max_bypass_rate_percent: Thresholds[float] | None = Thresholds(warning=5, critical=25)
    """Reads that skip L2 (Valkey unreachable, breaker open), 0..100. Default 5 / 25."""
    max_valkey_memory_percent: Thresholds[float] | None = Thresholds(warning=75, critical=90)
    """Valkey memory (fullest node, or % of the serverless storage limit), 0..100.
    Default 75 / 90."""
    max_valkey_evictions_per_minute: Thresholds[float] | None = Thresholds(warning=10, critical=100)
    """Keys evicted per minute, >= 0. Default 10 / 100."""
    max_iterator_age: Thresholds[Duration] | None = Thresholds(
        warning=Duration.seconds(30), critical=Duration.minutes(2)
    )
    """Stream invalidation lag. Default 30 seconds / 2 minutes."""
    max_dlq_messages: Thresholds[float] | None = Thresholds(warning=None, critical=0)
    """Invalidation batches given up on, >= 0. Default: critical above 0 (one failed batch
    pages), no warning."""
    max_lambda_errors_per_minute: Thresholds[float] | None = Thresholds(warning=0, critical=10)
    """Errors per function per minute, >= 0. Default: any error warns, 10 page."""
    max_api_latency_p95: Thresholds[Duration] | None = Thresholds(
        warning=Duration.seconds(1), critical=Duration.seconds(3)
    )
    """API Gateway p95 latency. Default 1 second / 3 seconds."""
    max_dax_faults_per_minute: Thresholds[float] | None = Thresholds(warning=0, critical=10)
    """DAX server faults per minute, >= 0. Default: any fault warns, 10 page."""
    max_l1_tracking_unavailable_per_minute: Thresholds[float] | None = Thresholds(
        warning=0, critical=None
    )
    """Environments that started without L1 client tracking (``L1TrackingUnavailable``),
    >= 0. Default: any warns (reads stay within the L1 TTL bound, read-your-writes across
    environments does not hold), no critical."""
    max_push_handover_failures_per_minute: Thresholds[float] | None = Thresholds(
        warning=0, critical=10
    )
    """Publish requests the invalidation function could not hand to the push publisher
    (``PushHandoverFailure``), >= 0. Default: any failure warns, 10 page."""
    max_push_publish_failures_per_minute: Thresholds[float] | None = Thresholds(
        warning=0, critical=10
    )
    """Publish requests the push publisher could not publish (``PushPublishFailure``), >= 0.
    Default 0 / 10."""
    max_push_dropped_per_minute: Thresholds[float] | None = Thresholds(warning=0, critical=10)
    """Handovers Lambda dropped after its retries (``AsyncEventsDropped`` of the publisher),
    >= 0. Default 0 / 10."""
    max_push_publish_errors_per_minute: Thresholds[float] | None = Thresholds(
        warning=0, critical=10
    )
    """HTTP publish requests the Event API refused (4XX + 5XX), >= 0. Default 0 / 10."""
    max_push_connect_server_errors_per_minute: Thresholds[float] | None = Thresholds(
        warning=0, critical=10
    )
    """Client connections the Event API failed, >= 0. Default 0 / 10."""
    max_push_connect_client_errors_per_minute: Thresholds[float] | None = Thresholds(
        warning=10, critical=100
    )
    """Client connections the Event API refused (bad or expired key), >= 0. Default 10 / 100
    (a few refusals are browsers, not us)."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        url = self.runbook_url
        if not is_unresolved(url) and not re.match(r"^https?://\S+$", str(url)):
            raise ValueError(f"{owner}.runbook_url must be an http(s) URL; got {url!r}")
        prefix = self.alarm_name_prefix
        if prefix is not None and not _ALARM_NAME_PREFIX.match(str(prefix)):
            raise ValueError(
                f"{owner}.alarm_name_prefix must be 1..200 characters of A-Z, a-z, 0-9, '_', "
                f"'.', '-'; got {prefix!r}"
            )
        require_int_range(f"{owner}.evaluation_periods", self.evaluation_periods, 1, 1440)
        require_int_range(
            f"{owner}.datapoints_to_alarm", self.datapoints_to_alarm, 1, self.evaluation_periods
        )
        require_int_range(f"{owner}.min_requests_for_rates", self.min_requests_for_rates, 1)
        for kind in ALARM_KINDS:
            self.levels(kind)  # validates the kind's thresholds

    def levels(self, kind: AlarmKind) -> dict[Level, float]:
        """The levels of ``kind`` that are on, in the metric's unit (durations in ms)."""
        prop = f"{type(self).__name__}.{kind.prop}"
        thresholds = getattr(self, kind.prop)
        if thresholds is None:
            return {}
        if not isinstance(thresholds, Thresholds):
            raise ValueError(
                f"{prop} must be Thresholds(warning=..., critical=...) or None; got {thresholds!r}"
            )
        warning, critical = thresholds.warning, thresholds.critical
        if kind.duration:
            warning = _millis(f"{prop}.warning", warning)
            critical = _millis(f"{prop}.critical", critical)
        return _levels(prop, warning, critical, kind.direction, low=0.0, high=kind.high)


class CacheAlarms(Construct):
    """Warning and critical alarms for the cache layers, notifying an encrypted SNS topic.

    :param scope: parent construct.
    :param id_: construct id.
    :param sources: the service to watch: anything with ``metric_sources`` (a
        `CachedProductService`, or ``MetricSources(...)`` of an à-la-carte app's parts).
        Alarms per part: the handlers' EMF metrics (L2 hit rate, bypass rate, L1 tracking
        unavailable), Valkey (memory, evictions), the stream (iterator age, dead-letter queue), each
        function (errors), the API (p95 latency), DAX (server faults), the push channel (handover
        failures with the handlers' metrics, the publisher's publish failures and dropped events,
        Event API publish errors, connection errors).
    :param topic: an existing topic for the notifications. Default: a topic is created,
        encrypted with ``topic_encryption_key`` (or a key it creates, rotation on) and SSL
        only; the key allows CloudWatch to publish.
    :param topic_encryption_key: KMS key for the created topic. Not with ``topic``. An
        imported key's policy cannot be changed here: it must let
        ``cloudwatch.amazonaws.com`` use ``kms:Decrypt`` and ``kms:GenerateDataKey*``.
    :param warning_topic: where warning alarms notify. Default: ``topic``.
    :param props: `CacheAlarmsProps` (thresholds, naming, evaluation). Default: every
        default there.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        sources: MonitoredService,
        topic: sns.ITopic | None = None,
        topic_encryption_key: kms.IKey | None = None,
        warning_topic: sns.ITopic | None = None,
        props: CacheAlarmsProps | None = None,
    ) -> None:
        super().__init__(scope, id_)
        props = props or CacheAlarmsProps()
        require_instance("props", props, CacheAlarmsProps)
        if topic is not None and topic_encryption_key is not None:
            raise ValueError(
                "give either topic or topic_encryption_key, not both "
                "(the key only applies to the topic this construct creates)"
            )
        parts = getattr(sources, "metric_sources", None)
        if not isinstance(parts, MetricSources):
            raise ValueError(
                "sources must have metric_sources (a CachedProductService, or a "
                f"MetricSources of the parts to watch); got {type(sources).__name__}"
            )
        if parts.is_empty():
            raise ValueError(
                "sources has no part to alarm on (service_metrics, valkey, stream, functions, "
                "api, dax or push)"
            )
        _check_function_ids(parts.functions)

        self.props = props
        self.sources = parts
        self.runbook_url = props.runbook_url
        self.alarm_name_prefix = props.alarm_name_prefix
        self.evaluation_periods = props.evaluation_periods
        self.datapoints_to_alarm = props.datapoints_to_alarm
        #: The topic every critical alarm (and, without ``warning_topic``, every warning) notifies.
        self.topic: sns.ITopic = topic or self._build_topic(topic_encryption_key)
        #: The topic warning alarms notify.
        self.warning_topic: sns.ITopic = warning_topic or self.topic
        #: Every alarm built, by key ``<kind key>[<function id>]<Level>``,
        #: e.g. ``ValkeyMemoryCritical``, ``LambdaErrorsReadWarning``.
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        min_requests = props.min_requests_for_rates
        if parts.service_metrics is not None:
            metrics = parts.service_metrics
            self._add(HIT_RATE, metrics.metric_hit_rate_percent("L2", min_requests=min_requests))
            self._add(BYPASS_RATE, metrics.metric_bypass_rate_percent(min_requests=min_requests))
            self._add(L1_TRACKING, metrics.metric(L1_TRACKING_UNAVAILABLE))
        if parts.valkey is not None:
            self._add(VALKEY_MEMORY, parts.valkey.metric_memory_usage_percent())
            self._add(VALKEY_EVICTIONS, _per_minute_sum(parts.valkey.metric_evictions()))
        if parts.stream is not None:
            self._add(ITERATOR_AGE, parts.stream.metric_iterator_age())
            self._add(DLQ_DEPTH, parts.stream.metric_dlq_depth())
        for function in parts.functions:
            errors = function.metric_errors(statistic="Sum", period=_ONE_MINUTE)
            self._add(LAMBDA_ERRORS, errors, subject=function.node.id)
        if parts.api is not None:
            self._add(API_LATENCY, _p95(parts.api.metric_latency()))
        if parts.dax is not None:
            self._add(DAX_FAULTS, _per_minute_sum(parts.dax.metric_fault_request_count()))
        if parts.push is not None:
            self._add_push_alarms(parts)

    # -- overridable parts ----------------------------------------------------------------

    def _build_topic(self, encryption_key: kms.IKey | None) -> sns.Topic:
        """The alarm topic: KMS-encrypted (rotating key unless one is given), SSL only."""
        key = encryption_key or kms.Key(
            self,
            "TopicKey",
            enable_key_rotation=True,
            description="Encrypts the cache alarm notifications topic",
        )
        # CloudWatch publishes alarm notifications itself: without these on the key policy,
        # notifications to an encrypted topic are silently dropped. Only on behalf of this
        # account's alarms (no confused deputy: another account's alarms cannot use the key).
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        return sns.Topic(self, "Topic", master_key=key, enforce_ssl=True)

    def _build_alarm(
        self,
        key: str,
        kind: AlarmKind,
        level: Level,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        subject: str | None,
    ) -> cloudwatch.Alarm:
        """One alarm; its description says what breached and links the runbook section."""
        direction = "below" if comparison == _BELOW else "above"
        about = f" ({subject})" if subject else ""
        description = (
            f"{level.upper()}: {kind.summary}{about}: {direction} {_shown(threshold)} {kind.unit} "
            f"in {self.datapoints_to_alarm} of {self.evaluation_periods} minutes. "
            f"Runbook: {self.runbook_url}#{kind.anchor}"
        )
        return cloudwatch.Alarm(
            self,
            key,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=self.evaluation_periods,
            datapoints_to_alarm=self.datapoints_to_alarm,
            treat_missing_data=kind.treat_missing_data,
            alarm_description=description,
            alarm_name=f"{self.alarm_name_prefix}-{key}" if self.alarm_name_prefix else None,
        )

    # -- internals ---------------------------------------------------------------------------

    def _add_push_alarms(self, parts: MetricSources) -> None:
        push = parts.push
        assert push is not None
        if parts.service_metrics is not None:
            self._add(PUSH_HANDOVER_FAILURES, parts.service_metrics.metric(PUSH_HANDOVER_FAILURE))
        for kind, metric in (
            (PUSH_PUBLISH_FAILURES, push.metric_publish_failures()),
            (PUSH_DROPPED, push.metric_dropped_publishes()),
        ):
            if metric is not None:
                self._add(kind, _per_minute_sum(metric))
        self._add(PUSH_PUBLISH_ERRORS, _per_minute_sum(push.metric_publish_errors()))
        self._add(PUSH_CONNECT_SERVER_ERRORS, _per_minute_sum(push.metric_connect_server_errors()))
        self._add(PUSH_CONNECT_CLIENT_ERRORS, _per_minute_sum(push.metric_connect_client_errors()))

    def _add(
        self, kind: AlarmKind, metric: cloudwatch.IMetric, *, subject: str | None = None
    ) -> None:
        for level, threshold in self.props.levels(kind).items():
            key = f"{kind.key}{subject or ''}{level.capitalize()}"
            alarm = self._build_alarm(key, kind, level, metric, threshold, kind.comparison, subject)
            topic = self.topic if level == "critical" else self.warning_topic
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
            alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))
            self.alarms[key] = alarm


def _levels(
    prop: str,
    warning: float | None,
    critical: float | None,
    direction: Literal["max", "min"],
    *,
    low: float = 0.0,
    high: float | None = None,
) -> dict[Level, float]:
    """Validate one warning/critical pair; return the levels that are on."""
    levels: dict[Level, float] = {}
    for level, value in zip(_LEVELS, (warning, critical), strict=True):
        if value is None:
            continue
        name = f"{prop}.{level}"
        if is_unresolved(value):
            levels[level] = value  # a deploy-time parameter: CloudFormation decides
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number or None; got {value!r}")
        if value < low or (high is not None and value > high):
            bounds = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
            raise ValueError(f"{name} must be {bounds}; got {value}")
        levels[level] = float(value)
    if len(levels) == 2 and not any(is_unresolved(v) for v in levels.values()):
        milder = (
            levels["warning"] < levels["critical"]
            if direction == "max"
            else levels["warning"] > levels["critical"]
        )
        if not milder:
            relation = "below" if direction == "max" else "above"
            raise ValueError(
                f"{prop}.warning ({levels['warning']:g}) must be {relation} "
                f"{prop}.critical ({levels['critical']:g}): a warning comes before the page"
            )
    return levels


def _shown(threshold: float) -> str:
    return "the configured threshold" if is_unresolved(threshold) else f"{threshold:g}"


def _millis(prop: str, value: Duration | None) -> float | None:
    if value is None:
        return None
    if not isinstance(value, Duration):
        raise ValueError(f"{prop} must be a Duration or None; got {value!r}")
    return value.to_milliseconds()


def _per_minute_sum(metric: cloudwatch.IMetric) -> cloudwatch.IMetric:
    """Counts per one-minute period, whatever period the source metric came with."""
    if isinstance(metric, cloudwatch.Metric):
        return metric.with_(statistic="Sum", period=_ONE_MINUTE)
    if isinstance(metric, cloudwatch.MathExpression):
        return metric.with_(period=_ONE_MINUTE)
    return metric


def _p95(metric: cloudwatch.IMetric) -> cloudwatch.IMetric:
    """The p95 of a latency metric over one minute (other metric kinds as they come)."""
    if isinstance(metric, cloudwatch.Metric):
        return metric.with_(statistic="p95", period=_ONE_MINUTE)
    return metric


def _check_function_ids(functions: Sequence[lambda_.IFunction]) -> None:
    ids = [f.node.id for f in functions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(
            f"functions must have distinct construct ids (they name the alarms); "
            f"repeated: {', '.join(duplicates)}"
        )
