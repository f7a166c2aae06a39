"""CacheAlarms: the alarm matrix, every alarm's metric/threshold/missing-data rule, the topic."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from helpers import new_function, new_stack, new_vpc

from cache_constructs.cache_alarms import (
    ALARM_KINDS,
    DEFAULT_RUNBOOK_URL,
    CacheAlarms,
    CacheAlarmsProps,
    Thresholds,
)
from cache_constructs.cached_rest_api import CachedRestApi, CachedRestApiProps
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.dax_cache import DaxCache
from cache_constructs.invalidation_channel import InvalidationChannel
from cache_constructs.metric_sources import MetricSources, ServiceMetrics
from cache_constructs.stream_invalidator import StreamInvalidator
from cache_constructs.valkey_cache import ReplicatedValkeyCache, ServerlessValkeyCache

pytestmark = pytest.mark.synth

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
NOT_BREACHING, MISSING = "notBreaching", "missing"
ABOVE, BELOW = "GreaterThanThreshold", "LessThanThreshold"

#: key -> (threshold, comparison, treat missing data) with the default props.
DEFAULT_ALARMS: dict[str, tuple[float, str, str]] = {
    "L2HitRateWarning": (80, BELOW, NOT_BREACHING),
    "L2HitRateCritical": (50, BELOW, NOT_BREACHING),
    "BypassRateWarning": (5, ABOVE, NOT_BREACHING),
    "BypassRateCritical": (25, ABOVE, NOT_BREACHING),
    "ValkeyMemoryWarning": (75, ABOVE, MISSING),
    "ValkeyMemoryCritical": (90, ABOVE, MISSING),
    "ValkeyEvictionsWarning": (10, ABOVE, NOT_BREACHING),
    "ValkeyEvictionsCritical": (100, ABOVE, NOT_BREACHING),
    "IteratorAgeWarning": (30000, ABOVE, NOT_BREACHING),
    "IteratorAgeCritical": (120000, ABOVE, NOT_BREACHING),
    "DlqDepthCritical": (0, ABOVE, NOT_BREACHING),
    "LambdaErrorsReadWarning": (0, ABOVE, NOT_BREACHING),
    "LambdaErrorsReadCritical": (10, ABOVE, NOT_BREACHING),
    "LambdaErrorsInvalidateWarning": (0, ABOVE, NOT_BREACHING),
    "LambdaErrorsInvalidateCritical": (10, ABOVE, NOT_BREACHING),
    "ApiLatencyP95Warning": (1000, ABOVE, NOT_BREACHING),
    "ApiLatencyP95Critical": (3000, ABOVE, NOT_BREACHING),
    "DaxFaultsWarning": (0, ABOVE, NOT_BREACHING),
    "DaxFaultsCritical": (10, ABOVE, NOT_BREACHING),
    "L1TrackingUnavailableWarning": (0, ABOVE, NOT_BREACHING),
    "PushHandoverFailuresWarning": (0, ABOVE, NOT_BREACHING),
    "PushHandoverFailuresCritical": (10, ABOVE, NOT_BREACHING),
    "PushPublishFailuresWarning": (0, ABOVE, NOT_BREACHING),
    "PushPublishFailuresCritical": (10, ABOVE, NOT_BREACHING),
    "PushDroppedWarning": (0, ABOVE, NOT_BREACHING),
    "PushDroppedCritical": (10, ABOVE, NOT_BREACHING),
    "PushPublishErrorsWarning": (0, ABOVE, NOT_BREACHING),
    "PushPublishErrorsCritical": (10, ABOVE, NOT_BREACHING),
    "PushConnectServerErrorsWarning": (0, ABOVE, NOT_BREACHING),
    "PushConnectServerErrorsCritical": (10, ABOVE, NOT_BREACHING),
    "PushConnectClientErrorsWarning": (10, ABOVE, NOT_BREACHING),
    "PushConnectClientErrorsCritical": (100, ABOVE, NOT_BREACHING),
}

#: Every kind of alarm switched off.
NO_THRESHOLDS = CacheAlarmsProps(**{kind.prop: None for kind in ALARM_KINDS})


def alarms_of(
    stack: Stack,
    *,
    topic: sns.ITopic | None = None,
    topic_encryption_key: kms.IKey | None = None,
    warning_topic: sns.ITopic | None = None,
    props: CacheAlarmsProps | None = None,
    **parts: Any,
) -> CacheAlarms:
    """CacheAlarms watching a service made of ``parts`` (MetricSources fields)."""
    return CacheAlarms(
        stack,
        "Alarms",
        sources=MetricSources(**parts),
        topic=topic,
        topic_encryption_key=topic_encryption_key,
        warning_topic=warning_topic,
        props=props,
    )


class FakeApi:
    """Stands in for CachedRestApi (only metric_latency is alarmed on)."""

    def metric_cache_hit_count(self) -> cloudwatch.IMetric:
        return self._metric("CacheHitCount", "Sum")

    def metric_cache_miss_count(self) -> cloudwatch.IMetric:
        return self._metric("CacheMissCount", "Sum")

    def metric_latency(self) -> cloudwatch.IMetric:
        return self._metric("Latency", "Average")

    def metric_integration_latency(self) -> cloudwatch.IMetric:
        return self._metric("IntegrationLatency", "Average")

    @staticmethod
    def _metric(name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map={"ApiName": "products", "Stage": "prod"},
            statistic=statistic,
            period=Duration.minutes(5),
        )


def _sources(stack: Stack, *, valkey_mode: str = "replication-group") -> dict[str, Any]:
    """Every source CacheAlarms alarms on, built with the project's own constructs."""
    vpc = new_vpc(stack)
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )
    read, invalidate = new_function(stack, id_="Read"), new_function(stack, id_="Invalidate")
    return {
        "service_metrics": ServiceMetrics(),
        "valkey": (
            ReplicatedValkeyCache(stack, "Valkey", vpc=vpc)
            if valkey_mode == "replication-group"
            else ServerlessValkeyCache(stack, "Valkey", vpc=vpc)
        ),
        "stream": StreamInvalidator(stack, "Invalidator", table=table, function=invalidate),
        "functions": [read, invalidate],
        "api": FakeApi(),
        "dax": DaxCache(stack, "Dax", vpc=vpc, table=table),
        "push": InvalidationChannel(
            stack,
            "Push",
            publisher_code=lambda_.Code.from_inline("def handler(event, context):\n    pass\n"),
        ),
    }


def _props(stack: Stack, alarms: CacheAlarms, key: str) -> dict[str, Any]:
    logical_id = stack.get_logical_id(alarms.alarms[key].node.default_child)
    return Template.from_stack(stack).to_json()["Resources"][logical_id]["Properties"]


def _ref(stack: Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


@pytest.fixture(scope="module")
def full() -> tuple[Stack, CacheAlarms, dict[str, Any]]:
    stack = new_stack()
    alarms = alarms_of(stack, **_sources(stack))
    resources = Template.from_stack(stack).to_json()["Resources"]
    by_key = {
        key: resources[stack.get_logical_id(alarm.node.default_child)]["Properties"]
        for key, alarm in alarms.alarms.items()
    }
    return stack, alarms, by_key


# -- the matrix ---------------------------------------------------------------------------


def test_all_alarms_with_default_thresholds(full) -> None:
    stack, alarms, _ = full
    assert set(alarms.alarms) == set(DEFAULT_ALARMS)
    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", len(DEFAULT_ALARMS))


def test_no_alarms_when_every_threshold_is_off() -> None:
    stack = new_stack()
    alarms = alarms_of(stack, **_sources(stack), props=NO_THRESHOLDS)
    assert alarms.alarms == {}
    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)


def test_critical_only_when_warnings_are_off() -> None:
    stack = new_stack()
    defaults = CacheAlarmsProps()
    warnings_off = CacheAlarmsProps(
        **{
            kind.prop: Thresholds(critical=getattr(defaults, kind.prop).critical)
            for kind in ALARM_KINDS
        }
    )
    alarms = alarms_of(stack, **_sources(stack), props=warnings_off)
    expected = {key for key in DEFAULT_ALARMS if key.endswith("Critical")}
    assert set(alarms.alarms) == expected
    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", len(expected))


@pytest.mark.parametrize(
    ("source", "kinds"),
    [
        ("service_metrics", ("L2HitRate", "BypassRate", "L1TrackingUnavailable")),
        ("valkey", ("ValkeyMemory", "ValkeyEvictions")),
        ("stream", ("IteratorAge", "DlqDepth")),
        ("functions", ("LambdaErrorsRead", "LambdaErrorsInvalidate")),
        ("api", ("ApiLatencyP95",)),
        ("dax", ("DaxFaults",)),
        # Without the handlers' metrics there is no handover alarm.
        ("push", ("PushPublishFailures", "PushDropped", "PushPublishErrors", "PushConnect")),
    ],
)
def test_alarms_exist_only_for_the_sources_given(source: str, kinds: tuple[str, ...]) -> None:
    stack = new_stack()
    alarms = alarms_of(stack, **{source: _sources(stack)[source]})
    assert set(alarms.alarms) == {key for key in DEFAULT_ALARMS if key.startswith(kinds)}


# -- each alarm ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(DEFAULT_ALARMS))
def test_threshold_direction_and_missing_data_per_alarm(full, key: str) -> None:
    _, _, by_key = full
    threshold, comparison, missing = DEFAULT_ALARMS[key]
    props = by_key[key]
    assert props["Threshold"] == threshold
    assert props["ComparisonOperator"] == comparison
    assert props["TreatMissingData"] == missing
    assert props["EvaluationPeriods"] == 3
    assert props["DatapointsToAlarm"] == 3


@pytest.mark.parametrize("key", list(DEFAULT_ALARMS))
def test_description_links_the_runbook_section_and_names_the_level(full, key: str) -> None:
    _, _, by_key = full
    kind = next(k for k in ALARM_KINDS if key.startswith(k.key))
    description = by_key[key]["AlarmDescription"]
    assert description.startswith("CRITICAL: " if key.endswith("Critical") else "WARNING: ")
    assert description.endswith(f"Runbook: {DEFAULT_RUNBOOK_URL}#{kind.anchor}")
    assert len(description) <= 1024


def _github_anchors(markdown: str) -> set[str]:
    """Heading anchors as GitHub renders them (lowercase, punctuation dropped, - for space)."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_every_alarm_anchor_is_a_section_of_the_runbook() -> None:
    anchors = _github_anchors(RUNBOOK.read_text(encoding="utf-8"))
    missing = [kind.anchor for kind in ALARM_KINDS if kind.anchor not in anchors]
    assert missing == []


def test_critical_and_warning_alarms_notify_the_topic_on_alarm_and_ok(full) -> None:
    stack, alarms, by_key = full
    topic_ref = {"Ref": _ref(stack, alarms.topic)}
    for props in by_key.values():
        assert props["AlarmActions"] == [topic_ref]
        assert props["OKActions"] == [topic_ref]


def test_hit_rate_alarm_is_guarded_by_the_minimum_request_count(full) -> None:
    _, _, by_key = full
    metrics = by_key["L2HitRateCritical"]["Metrics"]
    (expression,) = [m for m in metrics if "Expression" in m]
    h, m = "FILL(l2_hits, 0)", "FILL(l2_misses, 0)"
    assert expression["Expression"] == f"IF(({h} + {m}) >= 100, 100 * {h} / ({h} + {m}), 100)"
    assert expression["ReturnData"] is True
    inputs = {m["Id"]: m["MetricStat"] for m in metrics if "MetricStat" in m}
    assert set(inputs) == {"l2_hits", "l2_misses"}
    for metric_id, name in (("l2_hits", "L2Hit"), ("l2_misses", "L2Miss")):
        stat = inputs[metric_id]
        assert stat["Metric"] == {
            "Namespace": "CachedProductService",
            "MetricName": name,
            "Dimensions": [{"Name": "service", "Value": "product-service"}],
        }
        assert (stat["Stat"], stat["Period"]) == ("Sum", 60)


def test_bypass_rate_alarm_divides_bypasses_by_reads_past_l1(full) -> None:
    _, _, by_key = full
    metrics = by_key["BypassRateWarning"]["Metrics"]
    (expression,) = [m["Expression"] for m in metrics if "Expression" in m]
    assert expression == (
        "IF((FILL(l2_hits, 0) + FILL(l2_misses, 0) + FILL(bypasses, 0)) >= 100, "
        "100 * FILL(bypasses, 0) / (FILL(l2_hits, 0) + FILL(l2_misses, 0) + FILL(bypasses, 0)), 0)"
    )
    names = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in metrics if "MetricStat" in m}
    assert names == {"l2_hits": "L2Hit", "l2_misses": "L2Miss", "bypasses": "CacheBypass"}


def test_min_requests_for_rates_reaches_both_rate_guards() -> None:
    stack = new_stack()
    alarms = alarms_of(
        stack, service_metrics=ServiceMetrics(), props=CacheAlarmsProps(min_requests_for_rates=20)
    )
    for key in ("L2HitRateWarning", "BypassRateCritical"):
        metrics = _props(stack, alarms, key)["Metrics"]
        (expression,) = [m["Expression"] for m in metrics if "Expression" in m]
        assert ">= 20," in expression


def test_stream_alarms_watch_iterator_age_in_ms_and_the_dead_letter_queue(full) -> None:
    stack, _, by_key = full
    age = by_key["IteratorAgeCritical"]
    assert (age["Namespace"], age["MetricName"], age["Statistic"], age["Period"]) == (
        "AWS/Lambda",
        "IteratorAge",
        "Maximum",
        60,
    )
    invalidate = stack.node.find_child("Invalidate")
    assert age["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": _ref(stack, invalidate)}}
    ]
    dlq = by_key["DlqDepthCritical"]
    assert (dlq["Namespace"], dlq["MetricName"], dlq["Statistic"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
    )


def test_lambda_error_alarms_are_per_function_sums_per_minute(full) -> None:
    stack, _, by_key = full
    for name in ("Read", "Invalidate"):
        props = by_key[f"LambdaErrors{name}Critical"]
        assert (props["MetricName"], props["Statistic"], props["Period"]) == ("Errors", "Sum", 60)
        function = stack.node.find_child(name)
        assert props["Dimensions"] == [
            {"Name": "FunctionName", "Value": {"Ref": _ref(stack, function)}}
        ]
        assert f"({name})" in props["AlarmDescription"]


def test_api_latency_alarm_uses_p95_per_minute(full) -> None:
    _, _, by_key = full
    props = by_key["ApiLatencyP95Warning"]
    assert (props["MetricName"], props["ExtendedStatistic"], props["Period"]) == (
        "Latency",
        "p95",
        60,
    )
    assert "Statistic" not in props


def test_valkey_alarms_use_the_cache_metrics_evictions_summed_per_minute(full) -> None:
    _, _, by_key = full
    memory = by_key["ValkeyMemoryCritical"]
    memory_names = {
        m["MetricStat"]["Metric"]["MetricName"] for m in memory["Metrics"] if "MetricStat" in m
    }
    assert memory_names == {"DatabaseMemoryUsagePercentage"}
    evictions = by_key["ValkeyEvictionsCritical"]["Metrics"]
    stats = [m["MetricStat"] for m in evictions if "MetricStat" in m]
    assert stats and all(s["Metric"]["MetricName"] == "Evictions" for s in stats)
    assert all((s["Stat"], s["Period"]) == ("Sum", 60) for s in stats)


def test_serverless_valkey_evictions_alarm_is_a_plain_sum_per_minute() -> None:
    stack = new_stack()
    sources = _sources(stack, valkey_mode="serverless")
    alarms = alarms_of(stack, valkey=sources["valkey"])
    props = _props(stack, alarms, "ValkeyEvictionsWarning")
    assert (props["MetricName"], props["Statistic"], props["Period"]) == ("Evictions", "Sum", 60)
    assert props["TreatMissingData"] == NOT_BREACHING


def test_dax_fault_alarm_counts_server_faults_not_client_errors(full) -> None:
    _, _, by_key = full
    props = by_key["DaxFaultsCritical"]
    assert (props["Namespace"], props["MetricName"], props["Statistic"], props["Period"]) == (
        "AWS/DAX",
        "FaultRequestCount",
        "Sum",
        60,
    )


# -- props -----------------------------------------------------------------------------------


def test_push_alarms_read_the_handover_the_publisher_and_the_event_api(full) -> None:
    _, _, by_key = full
    emf = {
        "Namespace": "CachedProductService",
        "Dimensions": [{"Name": "service", "Value": "product-service"}],
    }
    handover = by_key["PushHandoverFailuresCritical"]
    assert {k: handover[k] for k in ("MetricName", *emf)} == {
        "MetricName": "PushHandoverFailure",
        **emf,
    }
    publish = by_key["PushPublishFailuresCritical"]
    assert {k: publish[k] for k in ("MetricName", *emf)} == {
        "MetricName": "PushPublishFailure",
        **emf,
    }
    dropped = by_key["PushDroppedCritical"]
    assert (dropped["Namespace"], dropped["MetricName"], dropped["Statistic"]) == (
        "AWS/Lambda",
        "AsyncEventsDropped",
        "Sum",
    )
    (dimension,) = dropped["Dimensions"]
    assert dimension["Name"] == "FunctionName"
    assert dimension["Value"]["Ref"].startswith("PushPublisherFunction")
    errors = by_key["PushPublishErrorsCritical"]["Metrics"]
    assert errors[0]["Expression"] == "FILL(client, 0) + FILL(server, 0)"
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in errors[1:]} == {"4XXError", "5XXError"}
    for key in ("PushConnectServerErrorsCritical", "PushConnectClientErrorsCritical"):
        assert (by_key[key]["Namespace"], by_key[key]["Period"]) == ("AWS/AppSync", 60)


def test_l1_tracking_alarm_counts_environments_that_run_without_tracking(full) -> None:
    _, _, by_key = full
    alarm = by_key["L1TrackingUnavailableWarning"]
    assert {k: alarm[k] for k in ("Namespace", "MetricName", "Statistic", "Period")} == {
        "Namespace": "CachedProductService",
        "MetricName": "L1TrackingUnavailable",
        "Statistic": "Sum",
        "Period": 60,
    }
    assert (
        "WARNING: Lambda environments whose Valkey refused client tracking"
        in (alarm["AlarmDescription"])
    )
    assert "L1TrackingUnavailableCritical" not in by_key  # no page: reads stay bounded by TTL


def test_every_threshold_prop_sets_its_alarm() -> None:
    stack = new_stack()
    alarms = alarms_of(
        stack,
        **_sources(stack),
        props=CacheAlarmsProps(
            min_l2_hit_rate_percent=Thresholds(warning=95, critical=70),
            max_bypass_rate_percent=Thresholds(warning=1, critical=2),
            max_valkey_memory_percent=Thresholds(warning=60, critical=80),
            max_valkey_evictions_per_minute=Thresholds(warning=0, critical=5),
            max_iterator_age=Thresholds(warning=Duration.seconds(5), critical=Duration.seconds(10)),
            max_dlq_messages=Thresholds(warning=0, critical=3),
            max_lambda_errors_per_minute=Thresholds(warning=2, critical=4),
            max_api_latency_p95=Thresholds(
                warning=Duration.millis(300), critical=Duration.millis(900)
            ),
            max_dax_faults_per_minute=Thresholds(warning=1, critical=2),
            max_l1_tracking_unavailable_per_minute=Thresholds(warning=2, critical=20),
            max_push_handover_failures_per_minute=Thresholds(warning=1, critical=3),
            max_push_publish_failures_per_minute=Thresholds(warning=2, critical=4),
            max_push_dropped_per_minute=Thresholds(warning=None, critical=1),
            max_push_publish_errors_per_minute=Thresholds(warning=3, critical=5),
            max_push_connect_server_errors_per_minute=Thresholds(warning=4, critical=6),
            max_push_connect_client_errors_per_minute=Thresholds(warning=50, critical=500),
            evaluation_periods=5,
            datapoints_to_alarm=2,
        ),
    )
    expected = {
        "L2HitRateWarning": 95,
        "L2HitRateCritical": 70,
        "BypassRateWarning": 1,
        "BypassRateCritical": 2,
        "ValkeyMemoryWarning": 60,
        "ValkeyMemoryCritical": 80,
        "ValkeyEvictionsWarning": 0,
        "ValkeyEvictionsCritical": 5,
        "IteratorAgeWarning": 5000,
        "IteratorAgeCritical": 10000,
        "DlqDepthWarning": 0,
        "DlqDepthCritical": 3,
        "LambdaErrorsReadWarning": 2,
        "LambdaErrorsInvalidateCritical": 4,
        "ApiLatencyP95Warning": 300,
        "ApiLatencyP95Critical": 900,
        "DaxFaultsWarning": 1,
        "DaxFaultsCritical": 2,
        "L1TrackingUnavailableWarning": 2,
        "L1TrackingUnavailableCritical": 20,
        "PushHandoverFailuresWarning": 1,
        "PushHandoverFailuresCritical": 3,
        "PushPublishFailuresWarning": 2,
        "PushPublishFailuresCritical": 4,
        "PushDroppedCritical": 1,
        "PushPublishErrorsWarning": 3,
        "PushPublishErrorsCritical": 5,
        "PushConnectServerErrorsWarning": 4,
        "PushConnectServerErrorsCritical": 6,
        "PushConnectClientErrorsWarning": 50,
        "PushConnectClientErrorsCritical": 500,
    }
    resources = Template.from_stack(stack).to_json()["Resources"]
    for key, threshold in expected.items():
        props = resources[_ref(stack, alarms.alarms[key])]["Properties"]
        assert props["Threshold"] == threshold, key
        assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (5, 2)
        assert "in 2 of 5 minutes" in props["AlarmDescription"]


def test_alarm_name_prefix_and_runbook_url() -> None:
    stack = new_stack()
    alarms = alarms_of(
        stack,
        service_metrics=ServiceMetrics(),
        props=CacheAlarmsProps(
            alarm_name_prefix="shop-prod", runbook_url="https://wiki.example.com/cache-runbook"
        ),
    )
    props = _props(stack, alarms, "L2HitRateCritical")
    assert props["AlarmName"] == "shop-prod-L2HitRateCritical"
    assert props["AlarmDescription"].endswith("https://wiki.example.com/cache-runbook#l2-hit-rate")


def test_created_topic_is_kms_encrypted_ssl_only_and_cloudwatch_may_use_the_key() -> None:
    stack = new_stack()
    alarms = alarms_of(stack, service_metrics=ServiceMetrics())
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SNS::Topic", 1)
    key_id = _ref(stack, alarms.node.find_child("TopicKey"))
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Effect": "Allow",
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                                },
                            }
                        )
                    ]
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_given_key_encrypts_the_created_topic() -> None:
    stack = new_stack()
    key = kms.Key(stack, "OwnKey", enable_key_rotation=True)
    alarms_of(stack, service_metrics=ServiceMetrics(), topic_encryption_key=key)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [_ref(stack, key), "Arn"]}}
    )


def test_given_topic_is_used_and_nothing_is_created() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Pager", enforce_ssl=True)
    alarms = alarms_of(stack, service_metrics=ServiceMetrics(), topic=topic)
    assert alarms.topic is topic and alarms.warning_topic is topic
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SNS::Topic", 1)
    template.resource_count_is("AWS::KMS::Key", 0)
    props = _props(stack, alarms, "L2HitRateCritical")
    assert props["AlarmActions"] == [{"Ref": _ref(stack, topic)}]


def test_warning_topic_takes_the_warnings_only() -> None:
    stack = new_stack()
    pager = sns.Topic(stack, "Pager")
    tickets = sns.Topic(stack, "Tickets")
    alarms = alarms_of(stack, service_metrics=ServiceMetrics(), topic=pager, warning_topic=tickets)
    resources = Template.from_stack(stack).to_json()["Resources"]
    for key, alarm in alarms.alarms.items():
        props = resources[_ref(stack, alarm)]["Properties"]
        expected = pager if key.endswith("Critical") else tickets
        assert props["AlarmActions"] == [{"Ref": _ref(stack, expected)}], key
        assert props["OKActions"] == [{"Ref": _ref(stack, expected)}], key


def test_a_subclass_replaces_how_alarms_are_built() -> None:
    class PrefixedDescriptions(CacheAlarms):
        def _build_alarm(self, key, *args):  # type: ignore[no-untyped-def]
            alarm = super()._build_alarm(key, *args)
            alarm.node.add_metadata("team", "catalog")
            return alarm

    stack = new_stack()
    alarms = PrefixedDescriptions(
        stack, "Alarms", sources=MetricSources(service_metrics=ServiceMetrics())
    )
    assert all(
        any(entry.type == "team" for entry in alarm.node.metadata)
        for alarm in alarms.alarms.values()
    )


# -- validation ------------------------------------------------------------------------------


def _build(props: CacheAlarmsProps) -> CacheAlarms:
    return alarms_of(new_stack(), service_metrics=ServiceMetrics(), props=props)


_P = "CacheAlarmsProps"


@pytest.mark.parametrize(
    ("kind", "levels", "message"),
    [
        (
            "min_l2_hit_rate_percent",
            {"warning": 101},
            f"{_P}.min_l2_hit_rate_percent.warning must be between",
        ),
        (
            "min_l2_hit_rate_percent",
            {"critical": -1},
            f"{_P}.min_l2_hit_rate_percent.critical must be between",
        ),
        ("max_bypass_rate_percent", {"critical": 100.5}, f"{_P}.max_bypass_rate_percent.critical"),
        ("max_valkey_memory_percent", {"warning": 120}, f"{_P}.max_valkey_memory_percent.warning"),
        (
            "max_valkey_evictions_per_minute",
            {"warning": -1},
            "max_valkey_evictions_per_minute.warning must be >=",
        ),
        ("max_dlq_messages", {"critical": -1}, f"{_P}.max_dlq_messages.critical must be >= 0"),
        ("max_lambda_errors_per_minute", {"critical": True}, "must be a number"),
        ("max_dax_faults_per_minute", {"warning": "1"}, f"{_P}.max_dax_faults_per_minute.warning"),
        ("max_iterator_age", {"warning": 30}, f"{_P}.max_iterator_age.warning must be a Duration"),
        (
            "max_api_latency_p95",
            {"critical": 3.0},
            f"{_P}.max_api_latency_p95.critical must be a Duration",
        ),
    ],
)
def test_threshold_values_are_validated(kind: str, levels: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        CacheAlarmsProps(**{kind: Thresholds(**levels)})


def test_a_kind_takes_thresholds_not_a_bare_number() -> None:
    with pytest.raises(ValueError, match=r"CacheAlarmsProps.max_dlq_messages must be Thresholds"):
        CacheAlarmsProps(max_dlq_messages=0)  # type: ignore[arg-type]


def test_a_typo_in_the_props_names_the_class_and_the_key() -> None:
    with pytest.raises(
        ValueError, match=r"CacheAlarmsProps.min_hit_rate_percent is not a prop \(did you mean"
    ):
        CacheAlarmsProps(min_hit_rate_percent=Thresholds(warning=90))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kind", "levels"),
    [
        ("min_l2_hit_rate_percent", {"warning": 50, "critical": 60}),
        ("min_l2_hit_rate_percent", {"warning": 50, "critical": 50}),
        ("max_bypass_rate_percent", {"warning": 30, "critical": 25}),
        ("max_valkey_memory_percent", {"warning": 90, "critical": 90}),
        ("max_valkey_evictions_per_minute", {"warning": 200, "critical": 100}),
        ("max_iterator_age", {"warning": Duration.minutes(5), "critical": Duration.minutes(2)}),
        ("max_dlq_messages", {"warning": 1, "critical": 0}),
        ("max_lambda_errors_per_minute", {"warning": 10, "critical": 10}),
        ("max_api_latency_p95", {"warning": Duration.seconds(3), "critical": Duration.seconds(3)}),
        ("max_dax_faults_per_minute", {"warning": 11, "critical": 10}),
    ],
)
def test_warning_must_be_milder_than_critical(kind: str, levels: dict[str, Any]) -> None:
    pattern = rf"{_P}.{kind}.warning \(.*\) must be (below|above) {_P}.{kind}.critical"
    with pytest.raises(ValueError, match=pattern):
        CacheAlarmsProps(**{kind: Thresholds(**levels)})


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"evaluation_periods": 0}, "evaluation_periods must be between 1 and 1440"),
        ({"datapoints_to_alarm": 4}, "datapoints_to_alarm must be between 1 and 3"),
        ({"datapoints_to_alarm": 0}, "datapoints_to_alarm must be between 1 and 3"),
        ({"min_requests_for_rates": 0}, "min_requests_for_rates must be >= 1"),
        ({"runbook_url": "docs/runbook.md"}, "runbook_url must be an http(s) URL"),
        ({"alarm_name_prefix": "has space"}, "alarm_name_prefix must be 1..200 characters"),
        ({"alarm_name_prefix": ""}, "alarm_name_prefix must be 1..200 characters"),
    ],
)
def test_other_props_are_validated(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{_P}.{message}")):
        CacheAlarmsProps(**props)


def test_topic_and_topic_key_together_are_rejected() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="either topic or topic_encryption_key"):
        alarms_of(
            stack,
            service_metrics=ServiceMetrics(),
            topic=sns.Topic(stack, "Pager"),
            topic_encryption_key=kms.Key(stack, "Key"),
        )


def test_no_source_is_rejected() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="sources has no part to alarm on"):
        alarms_of(stack, functions=[])


def test_sources_must_say_what_to_watch() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="sources must have metric_sources"):
        CacheAlarms(stack, "Alarms", sources=ServiceMetrics())  # type: ignore[arg-type]


def test_functions_with_the_same_id_are_rejected() -> None:
    stack = new_stack()
    first = new_function(stack, id_="Handler")
    other_scope = Stack(stack.node.scope, "Other")
    second = new_function(other_scope, id_="Handler")
    with pytest.raises(ValueError, match=r"functions must have distinct construct ids.*Handler"):
        alarms_of(stack, functions=[first, second])


def test_token_thresholds_are_not_validated() -> None:
    stack = new_stack()
    warning = CfnParameter(stack, "HitRateWarning", type="Number").value_as_number
    alarms = alarms_of(
        stack,
        service_metrics=ServiceMetrics(),
        # 90 would be "above the warning" if a token warning were checked.
        props=CacheAlarmsProps(min_l2_hit_rate_percent=Thresholds(warning=warning, critical=90)),
    )
    props = _props(stack, alarms, "L2HitRateWarning")
    assert props["Threshold"] == {"Ref": "HitRateWarning"}


def test_cdk_nag_aws_solutions_passes() -> None:
    stack = new_stack(nag=True)
    alarms_of(stack, **_sources(stack))
    stack.node.root.synth()  # raises on any unacknowledged finding


def test_api_latency_alarm_of_the_project_cached_rest_api() -> None:
    stack = new_stack(nag=True)
    api = CachedRestApi(stack, "Api", props=CachedRestApiProps(rest_api_name="products"))
    api.add_cached_route(
        api.api.root.add_resource("products"),
        "GET",
        apigateway.LambdaIntegration(new_function(stack)),
        policy=CachePolicy.DYNAMIC,
    )
    alarms = alarms_of(stack, api=api)
    props = _props(stack, alarms, "ApiLatencyP95Critical")
    assert (props["Namespace"], props["MetricName"], props["ExtendedStatistic"]) == (
        "AWS/ApiGateway",
        "Latency",
        "p95",
    )
    assert props["Dimensions"] == [
        {"Name": "ApiName", "Value": "products"},
        {"Name": "Stage", "Value": {"Ref": _ref(stack, api.stage)}},
    ]
    stack.node.root.synth()  # cdk-nag clean together with the API
