"""StreamInvalidator: the stream event source mapping, its dead-letter queue, grants, metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from cache_constructs.stream_invalidator import StreamInvalidator

pytestmark = pytest.mark.synth


def _stack() -> tuple[App, Stack, dynamodb.Table, lambda_.Function]:
    app = App()
    stack = Stack(app, "Test")
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="SK", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )
    # An explicit role without managed policies keeps the fixture itself cdk-nag clean.
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    function = lambda_.Function(
        stack,
        "Invalidate",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
        role=role,
    )
    return app, stack, table, function


def _mapping(template: Template) -> dict[str, Any]:
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 1
    return next(iter(mappings.values()))["Properties"]


def _ref_id(stack: Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


@pytest.fixture(scope="module")
def default_build() -> tuple[Stack, StreamInvalidator, Template]:
    _, stack, table, function = _stack()
    invalidator = StreamInvalidator(stack, "Invalidator", table=table, function=function)
    return stack, invalidator, Template.from_stack(stack)


def test_defaults_bound_retries_and_age_and_split_failing_batches(default_build) -> None:
    stack, invalidator, template = default_build
    props = _mapping(template)
    assert props["BisectBatchOnFunctionError"] is True
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["MaximumRetryAttempts"] == 20  # covers a 19 min Redis outage (contract.stream)
    assert props["MaximumRecordAgeInSeconds"] == 3600
    assert props["ParallelizationFactor"] == 1
    assert props["BatchSize"] == 100
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["Enabled"] is True
    assert "MaximumBatchingWindowInSeconds" not in props
    table_id = stack.get_logical_id(invalidator.table.node.default_child)
    assert props["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    queue_id = _ref_id(stack, invalidator.dead_letter_queue)
    assert props["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}
    }


def test_default_filter_lets_only_data_changes_through(default_build) -> None:
    _, _, template = default_build
    filters = _mapping(template)["FilterCriteria"]["Filters"]
    assert len(filters) == 1
    assert json.loads(filters[0]["Pattern"]) == {"eventName": ["INSERT", "MODIFY", "REMOVE"]}


def test_key_prefix_filter_lets_only_those_items_through() -> None:
    invalidator = _build(partition_key_name="PK", partition_key_prefix="PRODUCT#")
    template = Template.from_stack(Stack.of(invalidator))
    filters = _mapping(template)["FilterCriteria"]["Filters"]
    assert json.loads(filters[0]["Pattern"]) == {
        "eventName": ["INSERT", "MODIFY", "REMOVE"],
        "dynamodb": {"Keys": {"PK": {"S": [{"prefix": "PRODUCT#"}]}}},
    }


@pytest.mark.parametrize(
    "props", [{"partition_key_name": "PK"}, {"partition_key_prefix": "PRODUCT#"}]
)
def test_key_name_and_prefix_go_together(props: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="partition_key_name and partition_key_prefix"):
        _build(**props)


def test_created_dead_letter_queue_is_encrypted_ssl_only_and_kept_14_days(default_build) -> None:
    stack, invalidator, template = default_build
    template.resource_count_is("AWS::SQS::Queue", 1)
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}
    )
    queue_id = _ref_id(stack, invalidator.dead_letter_queue)
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sqs:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_function_may_read_the_stream_and_send_to_the_dead_letter_queue(default_build) -> None:
    stack, invalidator, template = default_build
    table_id = stack.get_logical_id(invalidator.table.node.default_child)
    queue_id = _ref_id(stack, invalidator.dead_letter_queue)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["sqs:SendMessage"]),
                                "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
                            }
                        ),
                        Match.object_like(
                            {
                                "Action": Match.array_with(
                                    ["dynamodb:GetRecords", "dynamodb:GetShardIterator"]
                                ),
                                "Resource": {"Fn::GetAtt": [table_id, "StreamArn"]},
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_attributes_expose_what_was_built(default_build) -> None:
    _, invalidator, _ = default_build
    assert isinstance(invalidator.dead_letter_queue, sqs.Queue)
    assert isinstance(invalidator.function, lambda_.Function)
    assert invalidator.event_source.event_source_mapping_id is not None


def test_every_tuning_prop_reaches_the_mapping() -> None:
    _, stack, table, function = _stack()
    StreamInvalidator(
        stack,
        "Invalidator",
        table=table,
        function=function,
        batch_size=500,
        max_batching_window=Duration.seconds(5),
        parallelization_factor=4,
        retry_attempts=2,
        max_record_age=Duration.minutes(10),
        starting_position=lambda_.StartingPosition.LATEST,
        partition_key_name="pk",
        partition_key_prefix="ITEM#",
        enabled=False,
    )
    props = _mapping(Template.from_stack(stack))
    assert props["BatchSize"] == 500
    assert props["MaximumBatchingWindowInSeconds"] == 5
    assert props["ParallelizationFactor"] == 4
    assert props["MaximumRetryAttempts"] == 2
    assert props["MaximumRecordAgeInSeconds"] == 600
    assert props["StartingPosition"] == "LATEST"
    assert props["Enabled"] is False
    pattern = json.loads(props["FilterCriteria"]["Filters"][0]["Pattern"])
    assert pattern["dynamodb"] == {"Keys": {"pk": {"S": [{"prefix": "ITEM#"}]}}}


def test_kms_key_encrypts_the_created_queue_and_the_function_may_use_it() -> None:
    _, stack, table, function = _stack()
    key = kms.Key(stack, "QueueKey", enable_key_rotation=True)
    StreamInvalidator(
        stack,
        "Invalidator",
        table=table,
        function=function,
        dead_letter_queue_encryption_key=key,
    )
    template = Template.from_stack(stack)
    key_id = stack.get_logical_id(key.node.default_child)
    template.has_resource_properties(
        "AWS::SQS::Queue", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["kms:GenerateDataKey*"]),
                                "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_given_queue_is_used_instead_of_creating_one() -> None:
    _, stack, table, function = _stack()
    queue = sqs.Queue(stack, "OwnDlq", enforce_ssl=True)
    invalidator = StreamInvalidator(
        stack, "Invalidator", table=table, function=function, dead_letter_queue=queue
    )
    assert invalidator.dead_letter_queue is queue
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SQS::Queue", 1)
    queue_id = stack.get_logical_id(queue.node.default_child)
    assert _mapping(template)["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [queue_id, "Arn"]
    }


def _build(**overrides: Any) -> StreamInvalidator:
    _, stack, table, function = _stack()
    return StreamInvalidator(stack, "Invalidator", table=table, function=function, **overrides)


@pytest.mark.parametrize(
    ("overrides", "prop"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10001}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"parallelization_factor": 0}, "parallelization_factor"),
        ({"parallelization_factor": 11}, "parallelization_factor"),
        ({"retry_attempts": -1}, "retry_attempts"),
        ({"retry_attempts": 10001}, "retry_attempts"),
        ({"max_record_age": Duration.seconds(59)}, "max_record_age"),
        ({"max_record_age": Duration.days(8)}, "max_record_age"),
        ({"max_batching_window": Duration.seconds(301)}, "max_batching_window"),
        ({"starting_position": lambda_.StartingPosition.AT_TIMESTAMP}, "starting_position"),
        ({"partition_key_name": "", "partition_key_prefix": "P#"}, "partition_key_name"),
        ({"partition_key_name": "PK", "partition_key_prefix": ""}, "partition_key_prefix"),
    ],
)
def test_out_of_range_props_are_rejected_by_name(overrides: dict[str, Any], prop: str) -> None:
    with pytest.raises(ValueError, match=prop):
        _build(**overrides)


def test_queue_and_queue_key_together_are_rejected() -> None:
    _, stack, table, function = _stack()
    with pytest.raises(ValueError, match="dead_letter_queue or dead_letter_queue_encryption_key"):
        StreamInvalidator(
            stack,
            "Invalidator",
            table=table,
            function=function,
            dead_letter_queue=sqs.Queue(stack, "OwnDlq"),
            dead_letter_queue_encryption_key=kms.Key(stack, "Key"),
        )


def test_table_without_stream_is_rejected() -> None:
    _, stack, _, function = _stack()
    imported = dynamodb.Table.from_table_name(stack, "NoStream", "products")
    with pytest.raises(ValueError, match="table must have a stream"):
        StreamInvalidator(stack, "Invalidator", table=imported, function=function)


def test_bounds_are_inclusive_and_tokens_are_not_validated() -> None:
    _, stack, table, function = _stack()
    batch = CfnParameter(stack, "Batch", type="Number").value_as_number
    StreamInvalidator(
        stack,
        "Invalidator",
        table=table,
        function=function,
        batch_size=batch,
        parallelization_factor=10,
        retry_attempts=0,
        max_record_age=Duration.days(7),
        max_batching_window=Duration.seconds(300),
    )
    props = _mapping(Template.from_stack(stack))
    assert props["BatchSize"] == {"Ref": "Batch"}
    assert props["MaximumRecordAgeInSeconds"] == 604800


def test_metrics_watch_iterator_age_and_dead_letter_depth(default_build) -> None:
    stack, invalidator, _ = default_build
    age = invalidator.metric_iterator_age()
    assert (age.namespace, age.metric_name, age.statistic) == (
        "AWS/Lambda",
        "IteratorAge",
        "Maximum",
    )
    assert age.period.to_seconds() == 60
    function_id = stack.get_logical_id(invalidator.function.node.default_child)
    assert stack.resolve(age.dimensions) == {"FunctionName": {"Ref": function_id}}

    depth = invalidator.metric_dlq_depth()
    assert (depth.namespace, depth.metric_name, depth.statistic) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
    )
    queue_id = _ref_id(stack, invalidator.dead_letter_queue)
    assert stack.resolve(depth.dimensions) == {"QueueName": {"Fn::GetAtt": [queue_id, "QueueName"]}}


@pytest.mark.parametrize("with_key", [False, True], ids=["sqs-managed", "kms"])
def test_cdk_nag_aws_solutions_passes(with_key: bool) -> None:
    app, stack, table, function = _stack()
    key = kms.Key(stack, "QueueKey", enable_key_rotation=True) if with_key else None
    StreamInvalidator(
        stack,
        "Invalidator",
        table=table,
        function=function,
        dead_letter_queue_encryption_key=key,
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged finding


def test_grant_replay_lets_an_operator_consume_the_dlq_read_the_stream_and_invoke() -> None:
    _, stack, table, function = _stack()
    invalidator = StreamInvalidator(stack, "Invalidator", table=table, function=function)
    operator = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
    grant = invalidator.grant_replay(operator)
    assert grant.success
    template = Template.from_stack(stack)
    statements = next(
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"]
        == [{"Ref": stack.get_logical_id(operator.node.default_child)}]
    )
    actions = {
        action
        for statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "dynamodb:GetShardIterator",
        "dynamodb:GetRecords",
        "lambda:InvokeFunction",
    } <= actions
    queue_id = _ref_id(stack, invalidator.dead_letter_queue)
    consume = next(s for s in statements if "sqs:ReceiveMessage" in s["Action"])
    assert consume["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
