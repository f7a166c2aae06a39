"""InvalidationChannel: the Event API, its namespace, auth, logging, least-privilege publish
grant, metrics, dashboard widgets and alarms."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from helpers import new_function, new_stack, synth_app

from cache_constructs.invalidation_channel import (
    CONNECT_CLIENT_ERRORS,
    CONNECT_SERVER_ERRORS,
    PUBLISH_ERRORS,
    PUBLISH_FAILURES,
    InvalidationChannel,
)
from cache_constructs.metric_sources import PushChannelMetricsSource, ServiceMetrics

pytestmark = pytest.mark.synth
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
YEAR = 365 * 24 * 3600


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _one(template: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    (item,) = _resources(template, type_).items()
    return item


def _build(**props: Any) -> tuple[cdk.Stack, InvalidationChannel, dict[str, Any]]:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push", **props)
    return stack, channel, assertions.Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def default() -> tuple[cdk.Stack, InvalidationChannel, dict[str, Any]]:
    return _build()


def _api_id(stack: cdk.Stack, channel: InvalidationChannel) -> str:
    return stack.get_logical_id(channel.api.node.default_child)


# --- the API, its namespace and auth -------------------------------------------------------


def test_browsers_subscribe_with_an_api_key_and_only_iam_publishes(default) -> None:
    _, _, template = default
    _, api = _one(template, "AWS::AppSync::Api")
    config = api["Properties"]["EventConfig"]
    assert config["AuthProviders"] == [{"AuthType": "API_KEY"}, {"AuthType": "AWS_IAM"}]
    assert config["ConnectionAuthModes"] == [{"AuthType": "API_KEY"}]
    assert config["DefaultSubscribeAuthModes"] == [{"AuthType": "API_KEY"}]
    assert config["DefaultPublishAuthModes"] == [{"AuthType": "AWS_IAM"}]
    _, namespace = _one(template, "AWS::AppSync::ChannelNamespace")
    assert namespace["Properties"]["Name"] == "invalidations"
    assert namespace["Properties"]["PublishAuthModes"] == [{"AuthType": "AWS_IAM"}]
    assert namespace["Properties"]["SubscribeAuthModes"] == [{"AuthType": "API_KEY"}]


def test_the_default_api_key_expires_a_year_after_the_synth() -> None:
    before = time.time()
    _, _, template = _build()
    after = time.time()
    _, key = _one(template, "AWS::AppSync::ApiKey")
    # Epoch seconds, rounded to the nearest second.
    assert before + YEAR - 1 <= key["Properties"]["Expires"] <= after + YEAR + 1


def test_api_key_lifetime_is_a_prop() -> None:
    before = time.time()
    _, _, template = _build(api_key_expires=cdk.Duration.days(30))
    _, key = _one(template, "AWS::AppSync::ApiKey")
    assert before + 30 * 86400 - 1 <= key["Properties"]["Expires"] <= time.time() + 30 * 86400 + 1


def test_api_name_is_unique_by_default_and_a_prop() -> None:
    _, _, template = _build()
    _, api = _one(template, "AWS::AppSync::Api")
    assert re.fullmatch(r"TestStack-Push-[0-9A-F]{8}", api["Properties"]["Name"])
    _, _, named = _build(api_name="catalog push")
    assert _one(named, "AWS::AppSync::Api")[1]["Properties"]["Name"] == "catalog push"


def test_cognito_subscribers_replace_the_api_key() -> None:
    stack = new_stack()
    pool = cognito.UserPool(stack, "Users")
    provider = appsync.AppSyncAuthProvider(
        authorization_type=appsync.AppSyncAuthorizationType.USER_POOL,
        cognito_config=appsync.AppSyncCognitoConfig(user_pool=pool),
    )
    channel = InvalidationChannel(stack, "Push", subscriber_auth=[provider])
    template = assertions.Template.from_stack(stack).to_json()
    config = _one(template, "AWS::AppSync::Api")[1]["Properties"]["EventConfig"]
    cognito_mode = {"AuthType": "AMAZON_COGNITO_USER_POOLS"}
    assert config["ConnectionAuthModes"] == [cognito_mode]
    assert config["DefaultSubscribeAuthModes"] == [cognito_mode]
    assert config["DefaultPublishAuthModes"] == [{"AuthType": "AWS_IAM"}]
    assert _resources(template, "AWS::AppSync::ApiKey") == {}
    assert channel.api_key is None
    with pytest.raises(ValueError, match="client_authorization"):
        channel.client_authorization()


def test_iam_subscribers_share_the_one_iam_provider() -> None:
    iam_provider = appsync.AppSyncAuthProvider(
        authorization_type=appsync.AppSyncAuthorizationType.IAM
    )
    _, _, template = _build(subscriber_auth=[iam_provider])
    config = _one(template, "AWS::AppSync::Api")[1]["Properties"]["EventConfig"]
    assert config["AuthProviders"] == [{"AuthType": "AWS_IAM"}]
    assert config["DefaultSubscribeAuthModes"] == [{"AuthType": "AWS_IAM"}]


def test_endpoints_and_the_client_authorization(default) -> None:
    stack, channel, _ = default
    api = _api_id(stack, channel)

    def resolved(value: Any) -> Any:
        return stack.resolve(value)

    assert resolved(channel.publish_url) == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [api, "Dns.Http"]}, "/event"]]
    }
    assert resolved(channel.realtime_url) == {
        "Fn::Join": ["", ["wss://", {"Fn::GetAtt": [api, "Dns.Realtime"]}, "/event/realtime"]]
    }
    assert resolved(channel.realtime_origin) == {
        "Fn::Join": ["", ["wss://", {"Fn::GetAtt": [api, "Dns.Realtime"]}]]
    }
    authorization = resolved(channel.client_authorization())
    assert authorization["host"] == {"Fn::GetAtt": [api, "Dns.Http"]}
    key = stack.get_logical_id(channel.api_key)  # type: ignore[arg-type]
    assert authorization["x-api-key"] == {"Fn::GetAtt": [key, "ApiKey"]}


# --- logging -------------------------------------------------------------------------------


def test_appsync_logs_errors_to_its_own_log_group_with_a_retention(default) -> None:
    stack, channel, template = default
    api_id = _api_id(stack, channel)
    role_id = stack.get_logical_id(channel.logs_role.node.default_child)
    log_config = _one(template, "AWS::AppSync::Api")[1]["Properties"]["EventConfig"]["LogConfig"]
    assert log_config == {
        "CloudWatchLogsRoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
        "LogLevel": "ERROR",
    }
    log_id, log_group = _one(template, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["/aws/appsync/apis/", {"Fn::GetAtt": [api_id, "ApiId"]}]]
    }
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["DeletionPolicy"] == "Retain"
    # No LogRetention custom resource (a Lambda function) as the EventApi L2 would add.
    assert _resources(template, "Custom::LogRetention") == {}
    assert _resources(template, "AWS::Lambda::Function") == {}
    assert log_id


def test_the_logs_role_may_only_write_that_log_group(default) -> None:
    stack, channel, template = default
    role = template["Resources"][stack.get_logical_id(channel.logs_role.node.default_child)]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "appsync.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "ManagedPolicyArns" not in role["Properties"]
    log_id, _ = _one(template, "AWS::Logs::LogGroup")
    (policy,) = _resources(template, "AWS::IAM::Policy").values()
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_id, "Arn"]},
        }
    ]


def test_logging_props() -> None:
    _, _, template = _build(
        log_level=appsync.AppSyncFieldLogLevel.INFO,
        log_retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    api = _one(template, "AWS::AppSync::Api")[1]
    assert api["Properties"]["EventConfig"]["LogConfig"]["LogLevel"] == "INFO"
    _, log_group = _one(template, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 7
    assert log_group["DeletionPolicy"] == "Delete"


# --- the publish grant ---------------------------------------------------------------------


def _granted(namespace: str = "invalidations") -> tuple[cdk.Stack, InvalidationChannel, Any]:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push", namespace=namespace)
    function = new_function(stack)
    channel.grant_publish(function)
    return stack, channel, function


@pytest.mark.parametrize("namespace", ["invalidations", "catalog-v2"])
def test_grant_publish_allows_event_publish_on_the_namespace_only(namespace: str) -> None:
    stack, channel, function = _granted(namespace)
    template = assertions.Template.from_stack(stack).to_json()
    policy_id = stack.get_logical_id(
        function.role.node.find_child("DefaultPolicy").node.default_child
    )
    statements = template["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Action": "appsync:EventPublish",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":appsync:eu-west-1:123456789012:apis/",
                        {"Fn::GetAtt": [_api_id(stack, channel), "ApiId"]},
                        f"/channelNamespace/{namespace}",
                    ],
                ]
            },
        }
    ]
    namespace_resource = _one(template, "AWS::AppSync::ChannelNamespace")[1]
    assert namespace_resource["Properties"]["Name"] == namespace


def test_grant_publish_tells_the_function_where_and_how(default) -> None:
    stack, channel, function = _granted()
    template = assertions.Template.from_stack(stack).to_json()
    variables = template["Resources"][stack.get_logical_id(function.node.default_child)][
        "Properties"
    ]["Environment"]["Variables"]
    assert variables["EVENTS_PUBLISH_URL"] == stack.resolve(channel.publish_url)
    assert variables["EVENTS_PUBLISH_AUTH"] == "iam"


def test_cdk_nag_aws_solutions_passes_with_the_grant_and_the_alarms() -> None:
    stack = new_stack(nag=True)
    channel = InvalidationChannel(stack, "Push")
    channel.grant_publish(new_function(stack))
    topic = sns.Topic(stack, "Topic", enforce_ssl=True, master_key=None)
    cdk.Validations.of(topic).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions::AwsSolutions-SNS2", reason="test scaffolding topic (no data in it)"
        )
    )
    channel.add_alarms(topic=topic, service_metrics=ServiceMetrics())
    synth_app(stack)  # raises on any unacknowledged finding


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "named"),
    [
        ({"api_name": "bad/name"}, "api_name"),
        ({"api_name": "x" * 51}, "api_name"),
        ({"namespace": "in_valid"}, "namespace"),
        ({"namespace": "-starts-with-dash"}, "namespace"),
        ({"namespace": "n" * 51}, "namespace"),
        ({"api_key_expires": cdk.Duration.hours(12)}, "api_key_expires"),
        ({"api_key_expires": cdk.Duration.days(1)}, "api_key_expires"),
        ({"api_key_expires": cdk.Duration.days(366)}, "api_key_expires"),
        ({"subscriber_auth": []}, "subscriber_auth"),
        (
            {
                "subscriber_auth": [
                    appsync.AppSyncAuthProvider(
                        authorization_type=appsync.AppSyncAuthorizationType.IAM
                    )
                ],
                "api_key_expires": cdk.Duration.days(30),
            },
            "subscriber_auth or api_key_expires",
        ),
        ({"removal_policy": cdk.RemovalPolicy.SNAPSHOT}, "removal_policy"),
    ],
)
def test_bad_props_are_rejected_by_name(props: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        InvalidationChannel(new_stack(), "Push", **props)


def test_api_key_lifetime_bounds() -> None:
    for lifetime in (cdk.Duration.hours(25), cdk.Duration.days(365)):
        InvalidationChannel(new_stack(), "Push", api_key_expires=lifetime)


# --- metrics, dashboard and alarms ---------------------------------------------------------


def test_it_is_a_push_channel_metrics_source(default) -> None:
    stack, channel, _ = default
    source: PushChannelMetricsSource = channel
    api = {"Fn::GetAtt": [_api_id(stack, channel), "ApiId"]}
    for metric, name in (
        (source.metric_connect_client_errors(), "ConnectClientError"),
        (source.metric_connect_server_errors(), "ConnectServerError"),
        (source.metric_active_connections(), "ActiveConnections"),
    ):
        assert isinstance(metric, cloudwatch.Metric)
        assert (metric.namespace, metric.metric_name) == ("AWS/AppSync", name)
        assert stack.resolve(metric.dimensions) == {"EventAPIId": api}
        assert metric.statistic == "Sum"
    errors = source.metric_publish_errors()
    assert isinstance(errors, cloudwatch.MathExpression)
    assert errors.expression == "FILL(client, 0) + FILL(server, 0)"
    names = {
        key: metric.metric_name
        for key, metric in errors.using_metrics.items()
        if isinstance(metric, cloudwatch.Metric)
    }
    assert names == {"client": "4XXError", "server": "5XXError"}


def _dashboard_body(stack: cdk.Stack) -> str:
    template = assertions.Template.from_stack(stack).to_json()
    (dashboard,) = _resources(template, "AWS::CloudWatch::Dashboard").values()
    return json.dumps(stack.resolve(dashboard["Properties"]["DashboardBody"]))


def test_dashboard_widgets_show_the_publisher_the_api_and_the_clients() -> None:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push")
    widgets = channel.dashboard_widgets(service_metrics=ServiceMetrics())
    assert len(widgets) == 5
    cloudwatch.Dashboard(stack, "Dashboard", widgets=[widgets])
    body = _dashboard_body(stack)
    for name in (
        "PushPublished",
        "PushPublishFailure",
        "4XXError",
        "5XXError",
        "ActiveConnections",
        "ConnectClientError",
        "ConnectServerError",
        "PublishDataMessageSuccess",
        "SubscribeClientError",
    ):
        assert name in body, name
    assert "Push invalidation" in body


def test_without_service_metrics_the_publisher_graph_is_left_out() -> None:
    stack = new_stack()
    widgets = InvalidationChannel(stack, "Push").dashboard_widgets()
    assert len(widgets) == 4
    cloudwatch.Dashboard(stack, "Dashboard", widgets=[widgets])
    assert "PushPublishFailure" not in _dashboard_body(stack)


@pytest.fixture(scope="module")
def alarmed() -> tuple[
    cdk.Stack, dict[str, cloudwatch.Alarm], dict[str, Any], sns.Topic, sns.Topic
]:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push")
    topic, warnings = sns.Topic(stack, "Pages"), sns.Topic(stack, "Tickets")
    alarms = channel.add_alarms(
        topic=topic, warning_topic=warnings, service_metrics=ServiceMetrics()
    )
    return stack, alarms, assertions.Template.from_stack(stack).to_json(), topic, warnings


def _alarm(stack: cdk.Stack, template: dict[str, Any], alarm: cloudwatch.Alarm) -> dict[str, Any]:
    return template["Resources"][stack.get_logical_id(alarm.node.default_child)]["Properties"]


def test_alarms_at_both_levels_for_each_kind(alarmed) -> None:
    _, alarms, _, _, _ = alarmed
    assert sorted(alarms) == sorted(
        f"{kind.key}{level}"
        for kind in (PUBLISH_FAILURES, PUBLISH_ERRORS, CONNECT_SERVER_ERRORS, CONNECT_CLIENT_ERRORS)
        for level in ("Warning", "Critical")
    )


@pytest.mark.parametrize(
    ("key", "threshold"),
    [
        ("PushPublishFailuresWarning", 0),
        ("PushPublishFailuresCritical", 10),
        ("PushPublishErrorsWarning", 0),
        ("PushPublishErrorsCritical", 10),
        ("PushConnectServerErrorsWarning", 0),
        ("PushConnectServerErrorsCritical", 10),
        ("PushConnectClientErrorsWarning", 10),
        ("PushConnectClientErrorsCritical", 100),
    ],
)
def test_default_thresholds(alarmed, key: str, threshold: float) -> None:
    stack, alarms, template, _, _ = alarmed
    props = _alarm(stack, template, alarms[key])
    assert props["Threshold"] == threshold
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["TreatMissingData"] == "notBreaching"
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 3)


def test_the_publish_failure_alarm_reads_the_runtime_metric(alarmed) -> None:
    stack, alarms, template, _, _ = alarmed
    props = _alarm(stack, template, alarms["PushPublishFailuresCritical"])
    assert props["MetricName"] == "PushPublishFailure"
    assert props["Namespace"] == "CachedProductService"
    assert props["Dimensions"] == [{"Name": "service", "Value": "product-service"}]


def test_warnings_and_pages_go_to_their_topics_on_alarm_and_ok(alarmed) -> None:
    stack, alarms, template, topic, warnings = alarmed
    for key, alarm in alarms.items():
        props = _alarm(stack, template, alarm)
        expected = {
            "Ref": stack.get_logical_id(
                (topic if "Critical" in key else warnings).node.default_child
            )
        }
        assert props["AlarmActions"] == [expected]
        assert props["OKActions"] == [expected]


def test_descriptions_link_a_runbook_section_that_exists(alarmed) -> None:
    stack, alarms, template, _, _ = alarmed
    headings = re.findall(r"^## (.+)$", RUNBOOK.read_text(encoding="utf-8"), flags=re.M)
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
    for alarm in alarms.values():
        description = _alarm(stack, template, alarm)["AlarmDescription"]
        anchor = description.rsplit("#", 1)[1]
        assert anchor in anchors, anchor


def test_alarm_props_turn_levels_off_and_name_the_alarms() -> None:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push")
    alarms = channel.add_alarms(
        topic=sns.Topic(stack, "Topic"),
        alarm_name_prefix="shop-prod",
        evaluation_periods=5,
        datapoints_to_alarm=2,
        max_publish_errors_per_minute_warning=None,
        max_connect_client_errors_per_minute_critical=None,
    )
    # No service_metrics: no publish-failure alarms either.
    assert sorted(alarms) == [
        "PushConnectClientErrorsWarning",
        "PushConnectServerErrorsCritical",
        "PushConnectServerErrorsWarning",
        "PushPublishErrorsCritical",
    ]
    template = assertions.Template.from_stack(stack).to_json()
    props = _alarm(stack, template, alarms["PushPublishErrorsCritical"])
    assert props["AlarmName"] == "shop-prod-PushPublishErrorsCritical"
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (5, 2)


@pytest.mark.parametrize(
    ("props", "named"),
    [
        (
            {
                "max_publish_failures_per_minute_warning": 10,
                "max_publish_failures_per_minute_critical": 10,
            },
            "max_publish_failures_per_minute_warning",
        ),
        ({"max_connect_client_errors_per_minute_warning": -1}, "max_connect_client_errors"),
        ({"max_publish_errors_per_minute_critical": True}, "max_publish_errors_per_minute"),
        ({"evaluation_periods": 0}, "evaluation_periods"),
        ({"evaluation_periods": 2, "datapoints_to_alarm": 3}, "datapoints_to_alarm"),
        ({"alarm_name_prefix": "bad prefix"}, "alarm_name_prefix"),
    ],
)
def test_bad_alarm_props_are_rejected_by_name(props: dict[str, Any], named: str) -> None:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push")
    with pytest.raises(ValueError, match=named):
        channel.add_alarms(
            topic=sns.Topic(stack, "Topic"), service_metrics=ServiceMetrics(), **props
        )
