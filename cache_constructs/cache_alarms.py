"""CacheAlarms: warning and critical alarms for every cache layer, each linked to its runbook.

Thresholds are named levels with their unit in the name (``max_valkey_memory_percent_warning``,
``max_iterator_age_critical: Duration``). A level set to ``None`` has no alarm. An alarm is
only built for the sources given (no Valkey, no Valkey alarms).

Notifications: every alarm (ALARM and OK transitions) goes to ``topic``; warnings go to
``warning_topic`` instead when one is given (e.g. a ticket queue rather than a pager).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from cache_constructs._validation import is_unresolved, require_int_range
from cache_constructs.metric_sources import (
    ApiMetricsSource,
    DaxMetricsSource,
    ServiceMetrics,
    StreamMetricsSource,
    ValkeyMetricsSource,
)

#: Where the alarm descriptions point: docs/runbook.md of this project, one anchor per alarm.
DEFAULT_RUNBOOK_URL = (
    "https://github.com/cache-constructs/cache-constructs/blob/main/docs/runbook.md"
)

Level = Literal["warning", "critical"]
_LEVELS: tuple[Level, ...] = ("warning", "critical")
_ONE_MINUTE = Duration.minutes(1)
# Duration defaults live here: None already means "no alarm at this level".
DEFAULT_MAX_ITERATOR_AGE_WARNING = Duration.seconds(30)
DEFAULT_MAX_ITERATOR_AGE_CRITICAL = Duration.minutes(2)
DEFAULT_MAX_API_LATENCY_P95_WARNING = Duration.seconds(1)
DEFAULT_MAX_API_LATENCY_P95_CRITICAL = Duration.seconds(3)
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
)
BYPASS_RATE = AlarmKind(
    "BypassRate",
    "cache-bypass-rate",
    "Reads are bypassing L2 (Valkey unreachable or circuit breaker open)",
    "%",
    cloudwatch.TreatMissingData.NOT_BREACHING,
)
VALKEY_MEMORY = AlarmKind(
    "ValkeyMemory",
    "valkey-memory",
    "Valkey memory use is high",
    "%",
    cloudwatch.TreatMissingData.MISSING,
)
VALKEY_EVICTIONS = AlarmKind(
    "ValkeyEvictions",
    "valkey-evictions",
    "Valkey is evicting keys before their TTL",
    "evictions/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
)
ITERATOR_AGE = AlarmKind(
    "IteratorAge",
    "stream-iterator-age",
    "Stream invalidation lags behind the writes (stale reads for longer)",
    "ms",
    cloudwatch.TreatMissingData.NOT_BREACHING,
)
DLQ_DEPTH = AlarmKind(
    "DlqDepth",
    "invalidation-dead-letter-queue",
    "Stream invalidation batches were given up on (cached items may stay stale)",
    "messages",
    cloudwatch.TreatMissingData.NOT_BREACHING,
)
LAMBDA_ERRORS = AlarmKind(
    "LambdaErrors",
    "lambda-errors",
    "Lambda function errors",
    "errors/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
)
API_LATENCY = AlarmKind(
    "ApiLatencyP95",
    "api-latency-p95",
    "API Gateway p95 latency is high",
    "ms",
    cloudwatch.TreatMissingData.NOT_BREACHING,
)
DAX_FAULTS = AlarmKind(
    "DaxFaults",
    "dax-faults",
    "DAX returns server faults (reads fall back to DynamoDB)",
    "faults/minute",
    cloudwatch.TreatMissingData.NOT_BREACHING,
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
)


class CacheAlarms(Construct):
    """Warning and critical alarms for the cache layers, notifying an encrypted SNS topic.

    Every threshold prop is one level of one alarm; ``None`` turns that level off.
    "max" thresholds alarm above the value, "min" thresholds below it; the warning level
    must be the milder one (max: warning < critical; min: warning > critical).

    :param scope: parent construct.
    :param id_: construct id.
    :param topic: an existing topic for the notifications. Default: a topic is created,
        encrypted with ``topic_encryption_key`` (or a key it creates, rotation on) and
        SSL only; the key allows CloudWatch to publish.
    :param topic_encryption_key: KMS key for the created topic. Not with ``topic``. An
        imported key's policy cannot be changed here: it must let
        ``cloudwatch.amazonaws.com`` use ``kms:Decrypt`` and ``kms:GenerateDataKey*``.
    :param warning_topic: where warning alarms notify. Default: ``topic``.
    :param runbook_url: the runbook every alarm description links (``<url>#<anchor>``).
        Default: this project's docs/runbook.md on GitHub.
    :param alarm_name_prefix: alarm names become ``<prefix>-<key>``, 1..200 characters of
        ``A-Za-z0-9_.-``. Default: names generated by CloudFormation.
    :param evaluation_periods: one-minute periods evaluated, 1..1440. Default 3.
    :param datapoints_to_alarm: breaching periods among them that raise the alarm,
        1..evaluation_periods. Default 3.
    :param service_metrics: the handlers' EMF metrics: L2 hit rate and bypass rate alarms.
    :param valkey: ``ValkeyCache`` (or alike): memory and evictions alarms.
    :param stream: ``StreamInvalidator`` (or alike): iterator age and dead-letter alarms.
    :param functions: functions whose errors alarm (one alarm per function and level).
    :param api: ``CachedRestApi`` (or alike): p95 latency alarm.
    :param dax: ``DaxCache`` (or alike): server fault alarm.
    :param min_requests_for_rates: lookups per minute below which the hit and bypass rates
        are not evaluated (a quiet minute is not a cold cache), >= 1. Default 100.
    :param min_hit_rate_percent_warning: 0..100. Default 80.
    :param min_hit_rate_percent_critical: 0..100. Default 50.
    :param max_bypass_rate_percent_warning: 0..100. Default 5.
    :param max_bypass_rate_percent_critical: 0..100. Default 25.
    :param max_valkey_memory_percent_warning: 0..100. Default 75.
    :param max_valkey_memory_percent_critical: 0..100. Default 90.
    :param max_evictions_per_minute_warning: >= 0. Default 10.
    :param max_evictions_per_minute_critical: >= 0. Default 100.
    :param max_iterator_age_warning: invalidation lag. Default 30 seconds.
    :param max_iterator_age_critical: Default 2 minutes.
    :param max_dlq_messages_warning: >= 0. Default None (any message is critical).
    :param max_dlq_messages_critical: >= 0. Default 0: one failed batch alarms.
    :param max_lambda_errors_per_minute_warning: >= 0. Default 0: any error warns.
    :param max_lambda_errors_per_minute_critical: >= 0. Default 10.
    :param max_api_latency_p95_warning: Default 1 second.
    :param max_api_latency_p95_critical: Default 3 seconds.
    :param max_dax_faults_per_minute_warning: >= 0. Default 0: any fault warns.
    :param max_dax_faults_per_minute_critical: >= 0. Default 10.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        topic: sns.ITopic | None = None,
        topic_encryption_key: kms.IKey | None = None,
        warning_topic: sns.ITopic | None = None,
        runbook_url: str = DEFAULT_RUNBOOK_URL,
        alarm_name_prefix: str | None = None,
        evaluation_periods: int = 3,
        datapoints_to_alarm: int = 3,
        service_metrics: ServiceMetrics | None = None,
        valkey: ValkeyMetricsSource | None = None,
        stream: StreamMetricsSource | None = None,
        functions: Sequence[lambda_.IFunction] = (),
        api: ApiMetricsSource | None = None,
        dax: DaxMetricsSource | None = None,
        min_requests_for_rates: int = 100,
        min_hit_rate_percent_warning: float | None = 80,
        min_hit_rate_percent_critical: float | None = 50,
        max_bypass_rate_percent_warning: float | None = 5,
        max_bypass_rate_percent_critical: float | None = 25,
        max_valkey_memory_percent_warning: float | None = 75,
        max_valkey_memory_percent_critical: float | None = 90,
        max_evictions_per_minute_warning: float | None = 10,
        max_evictions_per_minute_critical: float | None = 100,
        max_iterator_age_warning: Duration | None = DEFAULT_MAX_ITERATOR_AGE_WARNING,
        max_iterator_age_critical: Duration | None = DEFAULT_MAX_ITERATOR_AGE_CRITICAL,
        max_dlq_messages_warning: float | None = None,
        max_dlq_messages_critical: float | None = 0,
        max_lambda_errors_per_minute_warning: float | None = 0,
        max_lambda_errors_per_minute_critical: float | None = 10,
        max_api_latency_p95_warning: Duration | None = DEFAULT_MAX_API_LATENCY_P95_WARNING,
        max_api_latency_p95_critical: Duration | None = DEFAULT_MAX_API_LATENCY_P95_CRITICAL,
        max_dax_faults_per_minute_warning: float | None = 0,
        max_dax_faults_per_minute_critical: float | None = 10,
    ) -> None:
        super().__init__(scope, id_)
        if topic is not None and topic_encryption_key is not None:
            raise ValueError(
                "give either topic or topic_encryption_key, not both "
                "(the key only applies to the topic this construct creates)"
            )
        if not any((service_metrics, valkey, stream, functions, api, dax)):
            raise ValueError(
                "give at least one of service_metrics, valkey, stream, functions, api or dax: "
                "there is nothing to alarm on otherwise"
            )
        if not is_unresolved(runbook_url) and not re.match(r"^https?://\S+$", runbook_url):
            raise ValueError(f"runbook_url must be an http(s) URL; got {runbook_url!r}")
        if alarm_name_prefix is not None and not _ALARM_NAME_PREFIX.match(alarm_name_prefix):
            raise ValueError(
                "alarm_name_prefix must be 1..200 characters of A-Z, a-z, 0-9, '_', '.', '-'; "
                f"got {alarm_name_prefix!r}"
            )
        require_int_range("evaluation_periods", evaluation_periods, 1, 1440)
        require_int_range("datapoints_to_alarm", datapoints_to_alarm, 1, evaluation_periods)
        require_int_range("min_requests_for_rates", min_requests_for_rates, 1)
        _check_function_ids(functions)

        percent = {"low": 0.0, "high": 100.0}
        hit_rate = _levels(
            "min_hit_rate_percent",
            min_hit_rate_percent_warning,
            min_hit_rate_percent_critical,
            "min",
            **percent,
        )
        bypass_rate = _levels(
            "max_bypass_rate_percent",
            max_bypass_rate_percent_warning,
            max_bypass_rate_percent_critical,
            "max",
            **percent,
        )
        memory = _levels(
            "max_valkey_memory_percent",
            max_valkey_memory_percent_warning,
            max_valkey_memory_percent_critical,
            "max",
            **percent,
        )
        evictions = _levels(
            "max_evictions_per_minute",
            max_evictions_per_minute_warning,
            max_evictions_per_minute_critical,
            "max",
        )
        iterator_age = _levels(
            "max_iterator_age",
            _millis("max_iterator_age_warning", max_iterator_age_warning),
            _millis("max_iterator_age_critical", max_iterator_age_critical),
            "max",
        )
        dlq = _levels(
            "max_dlq_messages", max_dlq_messages_warning, max_dlq_messages_critical, "max"
        )
        lambda_errors = _levels(
            "max_lambda_errors_per_minute",
            max_lambda_errors_per_minute_warning,
            max_lambda_errors_per_minute_critical,
            "max",
        )
        api_latency = _levels(
            "max_api_latency_p95",
            _millis("max_api_latency_p95_warning", max_api_latency_p95_warning),
            _millis("max_api_latency_p95_critical", max_api_latency_p95_critical),
            "max",
        )
        dax_faults = _levels(
            "max_dax_faults_per_minute",
            max_dax_faults_per_minute_warning,
            max_dax_faults_per_minute_critical,
            "max",
        )

        self.runbook_url = runbook_url
        self.alarm_name_prefix = alarm_name_prefix
        self.evaluation_periods = evaluation_periods
        self.datapoints_to_alarm = datapoints_to_alarm
        #: The topic every critical alarm (and, without ``warning_topic``, every warning) notifies.
        self.topic: sns.ITopic = topic or self._build_topic(topic_encryption_key)
        #: The topic warning alarms notify.
        self.warning_topic: sns.ITopic = warning_topic or self.topic
        #: Every alarm built, by key ``<kind key>[<function id>]<Level>``,
        #: e.g. ``ValkeyMemoryCritical``, ``LambdaErrorsReadWarning``.
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        if service_metrics is not None:
            self._add(
                HIT_RATE,
                service_metrics.metric_hit_rate_percent("L2", min_requests=min_requests_for_rates),
                hit_rate,
                _BELOW,
            )
            self._add(
                BYPASS_RATE,
                service_metrics.metric_bypass_rate_percent(min_requests=min_requests_for_rates),
                bypass_rate,
                _ABOVE,
            )
        if valkey is not None:
            self._add(VALKEY_MEMORY, valkey.metric_memory_usage_percent(), memory, _ABOVE)
            self._add(
                VALKEY_EVICTIONS, _per_minute_sum(valkey.metric_evictions()), evictions, _ABOVE
            )
        if stream is not None:
            self._add(ITERATOR_AGE, stream.metric_iterator_age(), iterator_age, _ABOVE)
            self._add(DLQ_DEPTH, stream.metric_dlq_depth(), dlq, _ABOVE)
        for function in functions:
            errors = function.metric_errors(statistic="Sum", period=_ONE_MINUTE)
            self._add(LAMBDA_ERRORS, errors, lambda_errors, _ABOVE, subject=function.node.id)
        if api is not None:
            self._add(API_LATENCY, _p95(api.metric_latency()), api_latency, _ABOVE)
        if dax is not None:
            self._add(
                DAX_FAULTS, _per_minute_sum(dax.metric_fault_request_count()), dax_faults, _ABOVE
            )

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

    def _add(
        self,
        kind: AlarmKind,
        metric: cloudwatch.IMetric,
        thresholds: dict[Level, float],
        comparison: cloudwatch.ComparisonOperator,
        *,
        subject: str | None = None,
    ) -> None:
        for level, threshold in thresholds.items():
            key = f"{kind.key}{subject or ''}{level.capitalize()}"
            alarm = self._build_alarm(key, kind, level, metric, threshold, comparison, subject)
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
        name = f"{prop}_{level}"
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
                f"{prop}_warning ({levels['warning']:g}) must be {relation} "
                f"{prop}_critical ({levels['critical']:g}): a warning comes before the page"
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
