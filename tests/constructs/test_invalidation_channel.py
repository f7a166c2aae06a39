"""InvalidationChannel: the Event API, its namespace, auth, logging, typed props, the
least-privilege publish grant, the publisher function outside the VPC, the handover grant and
the metrics it offers the dashboard and alarms."""

from __future__ import annotations

import re
import time
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from helpers import new_function, new_stack, new_vpc, synth_app

from cache_constructs import lambda_network
from cache_constructs.handlers import PUSH_PUBLISHER_HANDLER
from cache_constructs.invalidation_channel import InvalidationChannel, InvalidationChannelProps
from cache_constructs.log_groups import LogGroupSettings
from cache_constructs.metric_sources import PushChannelMetricsSource, ServiceMetrics

pytestmark = pytest.mark.synth
YEAR = 365 * 24 * 3600
#: Stands in for the bundled asset (ProductServiceCode) in these synth-only tests.
CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _one(template: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    (item,) = _resources(template, type_).items()
    return item


def _build(**props: Any) -> tuple[cdk.Stack, InvalidationChannel, dict[str, Any]]:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push", props=InvalidationChannelProps(**props))
    return stack, channel, assertions.Template.from_stack(stack).to_json()


def _with_publisher(**kwargs: Any) -> tuple[cdk.Stack, InvalidationChannel, dict[str, Any]]:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push", publisher_code=CODE, **kwargs)
    return stack, channel, assertions.Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def published() -> tuple[cdk.Stack, InvalidationChannel, dict[str, Any]]:
    return _with_publisher()


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
    channel = InvalidationChannel(
        stack, "Push", props=InvalidationChannelProps(subscriber_auth=(provider,))
    )
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
    _, _, template = _build(subscriber_auth=(iam_provider,))
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
        log_removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    api = _one(template, "AWS::AppSync::Api")[1]
    assert api["Properties"]["EventConfig"]["LogConfig"]["LogLevel"] == "INFO"
    _, log_group = _one(template, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 7
    assert log_group["DeletionPolicy"] == "Delete"


def test_log_groups_follow_the_owners_defaults_and_take_its_key() -> None:
    stack = new_stack()
    key = kms.Key(stack, "LogKey", enable_key_rotation=True)
    InvalidationChannel(
        stack,
        "Push",
        publisher_code=CODE,
        log_defaults=LogGroupSettings(
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            encryption_key=key,
        ),
        # A prop wins over the owner's default.
        props=InvalidationChannelProps(log_retention=logs.RetentionDays.TWO_WEEKS),
    )
    template = assertions.Template.from_stack(stack).to_json()
    groups = _resources(template, "AWS::Logs::LogGroup")
    assert len(groups) == 2  # the API's and the publisher's
    key_arn = {"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 14
        assert group["Properties"]["KmsKeyId"] == key_arn
        assert group["DeletionPolicy"] == "Delete"


# --- the publish grant ---------------------------------------------------------------------


def _granted(namespace: str = "invalidations") -> tuple[cdk.Stack, InvalidationChannel, Any]:
    stack = new_stack()
    channel = InvalidationChannel(
        stack, "Push", props=InvalidationChannelProps(namespace=namespace)
    )
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


def test_cdk_nag_aws_solutions_passes_with_the_publisher_and_both_grants() -> None:
    stack = new_stack(nag=True)
    vpc = new_vpc(stack)
    channel = InvalidationChannel(stack, "Push", publisher_code=CODE)
    channel.grant_publish(new_function(stack, id_="Direct"))
    endpoint = lambda_network.lambda_interface_endpoint(
        vpc, wanted=None, subnets=ec2.SubnetSelection()
    )
    channel.grant_handover(new_function(stack, vpc, id_="InVpc"), endpoint=endpoint)
    synth_app(stack)  # raises on any unacknowledged finding


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "named"),
    [
        ({"api_nam": "x"}, r"InvalidationChannelProps.api_nam is not a prop \(did you mean"),
        ({"removal_policy": cdk.RemovalPolicy.DESTROY}, "removal_policy is not a prop"),
        ({"api_name": "bad/name"}, "api_name"),
        ({"api_name": "x" * 51}, "api_name"),
        ({"namespace": "in_valid"}, "namespace"),
        ({"namespace": "-starts-with-dash"}, "namespace"),
        ({"namespace": "n" * 51}, "namespace"),
        ({"api_key_expires": cdk.Duration.hours(12)}, "api_key_expires"),
        ({"api_key_expires": cdk.Duration.days(1)}, "api_key_expires"),
        ({"api_key_expires": cdk.Duration.days(366)}, "api_key_expires"),
        ({"subscriber_auth": ()}, "subscriber_auth"),
        (
            {
                "subscriber_auth": [
                    appsync.AppSyncAuthProvider(
                        authorization_type=appsync.AppSyncAuthorizationType.IAM
                    )
                ],
                "api_key_expires": cdk.Duration.days(30),
            },
            "subscriber_auth or InvalidationChannelProps.api_key_expires",
        ),
        ({"log_removal_policy": cdk.RemovalPolicy.SNAPSHOT}, "log_removal_policy"),
        ({"log_retention": 30}, "log_retention"),
        ({"publish_retry_attempts": 3}, "publish_retry_attempts"),
        ({"publish_retry_attempts": -1}, "publish_retry_attempts"),
        ({"publish_max_event_age": cdk.Duration.seconds(59)}, "publish_max_event_age"),
        ({"publish_max_event_age": cdk.Duration.hours(7)}, "publish_max_event_age"),
        ({"publish_max_event_age": 300}, "publish_max_event_age"),
        ({"publisher_memory_size_mb": 64}, "publisher_memory_size_mb"),
    ],
)
def test_bad_props_are_rejected_by_name(props: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        InvalidationChannelProps(**props)


def test_props_must_be_the_props_class_and_the_wiring_its_types() -> None:
    with pytest.raises(ValueError, match="props must be a InvalidationChannelProps"):
        InvalidationChannel(new_stack(), "Push", props={"namespace": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="publisher_code must be a Code"):
        InvalidationChannel(new_stack(), "Push", publisher_code="src/")  # type: ignore[arg-type]


def test_api_key_lifetime_bounds() -> None:
    for lifetime in (cdk.Duration.hours(25), cdk.Duration.days(365)):
        InvalidationChannelProps(api_key_expires=lifetime)


# --- the publisher function outside the VPC -------------------------------------------------


def _function(template: dict[str, Any], stack: cdk.Stack, fn: lambda_.IFunction) -> dict[str, Any]:
    return template["Resources"][stack.get_logical_id(fn.node.default_child)]["Properties"]


def test_without_publisher_code_there_is_no_publisher(default) -> None:
    stack, channel, _ = default
    assert channel.publisher_function is None
    assert channel.metric_published() is None
    assert channel.metric_publish_failures() is None
    assert channel.metric_dropped_publishes() is None
    with pytest.raises(ValueError, match="publisher_code"):
        channel.grant_handover(new_function(stack))


def test_the_publisher_runs_outside_any_vpc_with_its_own_log_group(published) -> None:
    stack, channel, template = published
    assert channel.publisher_function is not None
    props = _function(template, stack, channel.publisher_function)
    assert "VpcConfig" not in props
    assert props["Handler"] == PUSH_PUBLISHER_HANDLER
    assert (props["Runtime"], props["Architectures"]) == ("python3.14", ["arm64"])
    assert (props["Timeout"], props["MemorySize"]) == (10, 256)
    assert props["TracingConfig"] == {"Mode": "Active"}
    log_ids = {
        stack.get_logical_id(group.node.default_child)
        for group in (channel.log_group, channel.node.find_child("PublisherLogs"))
    }
    assert len(log_ids) == 2
    assert props["LoggingConfig"] == {
        "LogGroup": {
            "Ref": stack.get_logical_id(channel.node.find_child("PublisherLogs").node.default_child)
        }
    }


def test_the_publisher_may_publish_to_the_namespace_and_nothing_else(published) -> None:
    stack, channel, template = published
    assert channel.publisher_function is not None
    role = channel.publisher_function.role
    assert role is not None
    policy_id = stack.get_logical_id(role.node.find_child("DefaultPolicy").node.default_child)
    statements = template["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Effect": "Allow",
            "Resource": "*",
        },
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
                        "/channelNamespace/invalidations",
                    ],
                ]
            },
        },
    ]
    variables = _function(template, stack, channel.publisher_function)["Environment"]["Variables"]
    assert variables == {
        "EVENTS_PUBLISH_URL": stack.resolve(channel.publish_url),
        "EVENTS_PUBLISH_AUTH": "iam",
        "POWERTOOLS_SERVICE_NAME": "product-service",
        "POWERTOOLS_METRICS_NAMESPACE": "CachedProductService",
    }


def test_asynchronous_invokes_have_bounded_retries(published) -> None:
    stack, channel, template = published
    _, config = _one(template, "AWS::Lambda::EventInvokeConfig")
    assert config["Properties"] == {
        "FunctionName": {
            "Ref": stack.get_logical_id(channel.publisher_function.node.default_child)
        },  # type: ignore[union-attr]
        "MaximumEventAgeInSeconds": 300,
        "MaximumRetryAttempts": 2,
        "Qualifier": "$LATEST",
    }
    # No destination: a lost push is counted (AsyncEventsDropped) and alarmed, not replayed.
    assert "DestinationConfig" not in config["Properties"]
    _, _, tuned = _with_publisher(
        props=InvalidationChannelProps(
            publish_retry_attempts=0, publish_max_event_age=cdk.Duration.minutes(1)
        )
    )
    properties = _one(tuned, "AWS::Lambda::EventInvokeConfig")[1]["Properties"]
    assert (properties["MaximumRetryAttempts"], properties["MaximumEventAgeInSeconds"]) == (0, 60)


def test_the_publisher_metrics_use_the_given_namespace() -> None:
    stack, channel, _ = _with_publisher(
        publisher_metrics=ServiceMetrics(namespace="Shop", service_name="catalog")
    )
    failures = channel.metric_publish_failures()
    assert isinstance(failures, cloudwatch.Metric)
    assert (failures.namespace, failures.metric_name) == ("Shop", "PushPublishFailure")
    assert failures.dimensions == {"service": "catalog"}
    dropped = channel.metric_dropped_publishes()
    assert isinstance(dropped, cloudwatch.Metric)
    assert (dropped.namespace, dropped.metric_name, dropped.statistic) == (
        "AWS/Lambda",
        "AsyncEventsDropped",
        "Sum",
    )
    assert stack.resolve(dropped.dimensions) == {
        "FunctionName": {"Ref": stack.get_logical_id(channel.publisher_function.node.default_child)}  # type: ignore[union-attr]
    }


def test_checkov_skips_of_the_publisher_say_why(published) -> None:
    stack, channel, template = published
    assert channel.publisher_function is not None
    resource = template["Resources"][
        stack.get_logical_id(channel.publisher_function.node.default_child)
    ]
    skips = {s["id"]: s["comment"] for s in resource["Metadata"]["checkov"]["skip"]}
    assert set(skips) == {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
    assert "no VPC endpoint" in skips["CKV_AWS_117"]
    assert all(len(comment) >= 40 for comment in skips.values())


# --- the handover grant --------------------------------------------------------------------


@pytest.fixture(scope="module")
def handed_over() -> tuple[cdk.Stack, InvalidationChannel, lambda_.Function, Any, dict[str, Any]]:
    stack = new_stack()
    vpc = new_vpc(stack)
    channel = InvalidationChannel(stack, "Push", publisher_code=CODE)
    # Like the service's functions: a security group that allows no outbound by default.
    function = lambda_.Function(
        stack,
        "Invalidator",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=CODE,
        vpc=vpc,
        security_groups=[
            ec2.SecurityGroup(stack, "InvalidatorSecurityGroup", vpc=vpc, allow_all_outbound=False)
        ],
    )
    endpoint = lambda_network.lambda_interface_endpoint(
        vpc, wanted=None, subnets=ec2.SubnetSelection()
    )
    assert endpoint is not None
    channel.grant_handover(function, endpoint=endpoint)
    return stack, channel, function, endpoint, assertions.Template.from_stack(stack).to_json()


def test_handover_may_invoke_the_publisher_function_arn_only(handed_over) -> None:
    stack, channel, function, _, template = handed_over
    assert channel.publisher_function is not None and function.role is not None
    policy_id = stack.get_logical_id(
        function.role.node.find_child("DefaultPolicy").node.default_child
    )
    statements = template["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
    publisher_id = stack.get_logical_id(channel.publisher_function.node.default_child)
    # Exactly the ARN: not "<arn>:*" (versions, aliases), no other action.
    assert statements == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [publisher_id, "Arn"]},
        }
    ]
    variables = _function(template, stack, function)["Environment"]["Variables"]
    assert variables == {"PUSH_PUBLISHER_FUNCTION": {"Fn::GetAtt": [publisher_id, "Arn"]}}


def test_handover_opens_443_between_the_function_and_the_endpoint_only(handed_over) -> None:
    stack, _, function, endpoint, template = handed_over
    (function_sg,) = function.connections.security_groups
    (endpoint_sg,) = endpoint.connections.security_groups
    function_sg_id = {
        "Fn::GetAtt": [stack.get_logical_id(function_sg.node.default_child), "GroupId"]
    }
    endpoint_sg_id = {
        "Fn::GetAtt": [stack.get_logical_id(endpoint_sg.node.default_child), "GroupId"]
    }
    ingress = [
        r["Properties"] for r in _resources(template, "AWS::EC2::SecurityGroupIngress").values()
    ]
    egress = [
        r["Properties"] for r in _resources(template, "AWS::EC2::SecurityGroupEgress").values()
    ]
    rule = {"FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"}
    assert [{k: i[k] for k in (*rule, "GroupId", "SourceSecurityGroupId")} for i in ingress] == [
        {**rule, "GroupId": endpoint_sg_id, "SourceSecurityGroupId": function_sg_id}
    ]
    to_endpoint = [e for e in egress if e.get("DestinationSecurityGroupId") == endpoint_sg_id]
    assert [{k: e[k] for k in (*rule, "GroupId")} for e in to_endpoint] == [
        {**rule, "GroupId": function_sg_id}
    ]


def test_handover_without_an_endpoint_grants_and_opens_nothing_else() -> None:
    stack = new_stack()
    channel = InvalidationChannel(stack, "Push", publisher_code=CODE)
    channel.grant_handover(new_function(stack))  # not in a VPC: the Lambda API is reachable
    template = assertions.Template.from_stack(stack).to_json()
    assert _resources(template, "AWS::EC2::SecurityGroupIngress") == {}
    assert _resources(template, "AWS::EC2::VPCEndpoint") == {}


# --- metrics (what the dashboard and alarms read) ------------------------------------------


def test_it_is_a_push_channel_metrics_source(published) -> None:
    stack, channel, _ = published
    source: PushChannelMetricsSource = channel
    api = {"Fn::GetAtt": [_api_id(stack, channel), "ApiId"]}
    for metric, name in (
        (source.metric_connect_client_errors(), "ConnectClientError"),
        (source.metric_connect_server_errors(), "ConnectServerError"),
        (source.metric_active_connections(), "ActiveConnections"),
        (source.metric_connect_success(), "ConnectSuccess"),
        (source.metric_delivered_messages(), "PublishDataMessageSuccess"),
    ):
        assert isinstance(metric, cloudwatch.Metric)
        assert (metric.namespace, metric.metric_name) == ("AWS/AppSync", name)
        assert stack.resolve(metric.dimensions) == {"EventAPIId": api}
        assert metric.statistic == "Sum"
    for expression, names in (
        (source.metric_publish_errors(), {"client": "4XXError", "server": "5XXError"}),
        (
            source.metric_subscribe_errors(),
            {"sub_client": "SubscribeClientError", "sub_server": "SubscribeServerError"},
        ),
    ):
        assert isinstance(expression, cloudwatch.MathExpression)
        assert {
            key: metric.metric_name
            for key, metric in expression.using_metrics.items()
            if isinstance(metric, cloudwatch.Metric)
        } == names
    published_metric = source.metric_published()
    assert isinstance(published_metric, cloudwatch.Metric)
    assert published_metric.metric_name == "PushPublished"
