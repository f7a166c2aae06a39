"""StreamInvalidator: a DynamoDB table's stream feeding the cache-invalidation function.

A stream event source with the Lambda defaults retries a failing batch until its records
expire (24 h) and holds the whole shard meanwhile: one poison record would stop every
invalidation behind it. This construct bounds the damage: failed batches are split
(bisect), partial failures are reported per record, retries and record age are bounded,
and what is finally given up on lands in an SQS dead-letter queue that an alarm watches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cache_constructs._checkov import skip_checkov
from cache_constructs._validation import is_unresolved, require_int_range, require_one_of
from cache_constructs.contract.stream import (
    STREAM_BATCH_SIZE,
    STREAM_EVENT_NAMES,
    STREAM_MAX_RECORD_AGE_SECONDS,
    STREAM_RETRY_ATTEMPTS,
)

#: The stream records the invalidation function cares about (docs/architecture.md).
_ALLOWED_STARTING_POSITIONS = (
    lambda_.StartingPosition.TRIM_HORIZON,
    lambda_.StartingPosition.LATEST,
)


class StreamInvalidator(Construct):
    """Connects a DynamoDB table's stream to the function that invalidates the caches.

    Only records of type INSERT, MODIFY or REMOVE reach the function, and with
    ``partition_key_prefix`` only those whose partition key starts with it (event filtering:
    the others are not billed as invocations).
    The function gets stream read access (from the event source) and send access to the
    dead-letter queue.

    :param scope: parent construct.
    :param id_: construct id.
    :param table: the table; its stream must be enabled (``table_stream_arn`` set).
    :param function: the invalidation function; it must return ``batchItemFailures``
        (partial batch responses are on).
    :param batch_size: records per invocation, 1..10000. Default 100 (``STREAM_BATCH_SIZE``).
    :param max_batching_window: how long to gather records before invoking, 0..300 s.
        Default none (invoke as soon as records arrive: invalidation lag is staleness).
    :param parallelization_factor: concurrent batches per shard, 1..10. Default 1. Records of
        one item stay ordered at any factor (ordering is per partition key).
    :param retry_attempts: retries of a failing batch before it is sent to the dead-letter
        queue, 0..10000. Default 20 (``STREAM_RETRY_ATTEMPTS``): with a function that retries
        Redis for its timeout minus a margin (the product service's: 60 - 5 s), a record is
        tried in 21 invocations, so a Redis outage of up to 21 x 55 s = 19 min loses no
        invalidation; a poison record fails fast in each and reaches the queue in seconds.
    :param max_record_age: records older than this are sent to the dead-letter queue
        unprocessed, 60 s..7 days. Default 1 hour (``STREAM_MAX_RECORD_AGE_SECONDS``: longer
        than the outage the retries cover; the cache TTLs end stale entries later).
    :param starting_position: ``TRIM_HORIZON`` (default: no change is skipped on first
        deploy) or ``LATEST``.
    :param dead_letter_queue: an existing on-failure queue. Default: one is created
        (SQS-managed or KMS encryption, SSL only, 14 days retention).
    :param dead_letter_queue_encryption_key: KMS key for the created queue. Default: none,
        SQS-managed encryption. Not allowed together with ``dead_letter_queue``.
    :param partition_key_name: partition-key attribute that ``partition_key_prefix`` filters
        on. Required with ``partition_key_prefix``; default none.
    :param partition_key_prefix: only records whose partition key starts with this reach the
        function (e.g. ``"PRODUCT#"`` on a single-table design). Default none: every record.
    :param enabled: whether the mapping polls the stream. Default True.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        table: dynamodb.ITable,
        function: lambda_.IFunction,
        batch_size: int = STREAM_BATCH_SIZE,
        max_batching_window: Duration | None = None,
        parallelization_factor: int = 1,
        retry_attempts: int = STREAM_RETRY_ATTEMPTS,
        max_record_age: Duration | None = None,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.TRIM_HORIZON,
        dead_letter_queue: sqs.IQueue | None = None,
        dead_letter_queue_encryption_key: kms.IKey | None = None,
        partition_key_name: str | None = None,
        partition_key_prefix: str | None = None,
        enabled: bool = True,
    ) -> None:
        super().__init__(scope, id_)
        max_record_age = max_record_age or Duration.seconds(STREAM_MAX_RECORD_AGE_SECONDS)
        _validate(
            table=table,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            parallelization_factor=parallelization_factor,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            starting_position=starting_position,
            dead_letter_queue=dead_letter_queue,
            dead_letter_queue_encryption_key=dead_letter_queue_encryption_key,
            partition_key_name=partition_key_name,
            partition_key_prefix=partition_key_prefix,
        )
        self.table = table
        #: The invalidation function.
        self.function = function
        self.partition_key_name = partition_key_name
        self.partition_key_prefix = partition_key_prefix
        #: Where batches that still fail after the retries (or are too old) are recorded.
        self.dead_letter_queue: sqs.IQueue = dead_letter_queue or self._build_dead_letter_queue(
            dead_letter_queue_encryption_key
        )
        #: The event source (its ``event_source_mapping_id`` is set once bound).
        self.event_source = self._build_event_source(
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            parallelization_factor=parallelization_factor,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            starting_position=starting_position,
            enabled=enabled,
        )
        # Binding creates the mapping and grants the function stream read and DLQ send.
        function.add_event_source(self.event_source)
        self._acknowledge_grants()

    # -- overridable parts -------------------------------------------------------------

    def _build_dead_letter_queue(self, encryption_key: kms.IKey | None) -> sqs.Queue:
        """The on-failure destination: encrypted, SSL only, kept the SQS maximum of 14 days."""
        queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=(
                sqs.QueueEncryption.KMS if encryption_key else sqs.QueueEncryption.SQS_MANAGED
            ),
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        if encryption_key is None:
            skip_checkov(
                queue,
                "CKV_AWS_27",
                "encrypted at rest with SQS-managed keys (SSE-SQS, SqsManagedSseEnabled), which "
                "this check does not recognise; dead_letter_queue_encryption_key selects KMS",
            )
        Validations.of(queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SQS3",
                reason=(
                    "This queue is itself a dead-letter queue: the on-failure destination of "
                    "the DynamoDB stream event source mapping (not an SQS redrive target)."
                ),
            )
        )
        return queue

    def _build_filters(self) -> list[Mapping[str, Any]]:
        """Event filters: the three data-change event names and, if given, the key prefix."""
        pattern: dict[str, Any] = {"eventName": lambda_.FilterRule.or_(*STREAM_EVENT_NAMES)}
        if self.partition_key_name is not None and self.partition_key_prefix is not None:
            pattern["dynamodb"] = {
                "Keys": {
                    self.partition_key_name: {
                        "S": lambda_.FilterRule.begins_with(self.partition_key_prefix)
                    }
                }
            }
        return [lambda_.FilterCriteria.filter(pattern)]

    def _build_event_source(
        self,
        *,
        batch_size: int,
        max_batching_window: Duration | None,
        parallelization_factor: int,
        retry_attempts: int,
        max_record_age: Duration,
        starting_position: lambda_.StartingPosition,
        enabled: bool,
    ) -> event_sources.DynamoEventSource:
        """The stream event source with bounded retries and the on-failure destination."""
        return event_sources.DynamoEventSource(
            self.table,
            starting_position=starting_position,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            parallelization_factor=parallelization_factor,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            bisect_batch_on_error=True,
            report_batch_item_failures=True,
            on_failure=event_sources.SqsDlq(self.dead_letter_queue),
            filters=self._build_filters(),
            enabled=enabled,
        )

    def _acknowledge_grants(self) -> None:
        """Explain to cdk-nag the two wildcards the grants above must contain.

        ``dynamodb:ListStreams`` has no resource-level permissions, and sending to a
        KMS-encrypted queue needs ``kms:GenerateDataKey*``/``kms:ReEncrypt*`` on that key.
        The acknowledgements land on the function role's default policy, when the role is
        a construct of this app (an imported role's policy is not in this template).
        """
        role = self.function.role
        policy = role.node.try_find_child("DefaultPolicy") if role is not None else None
        if policy is None:
            return
        acknowledgments = [
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "dynamodb:ListStreams has no resource-level permissions; the DynamoDB "
                    "stream event source of StreamInvalidator grants it on '*' (the stream "
                    "read actions themselves are scoped to the table's stream ARN)."
                ),
            )
        ]
        if self.dead_letter_queue.encryption_master_key is not None:
            reason = (
                "Sending to the KMS-encrypted dead-letter queue of StreamInvalidator needs "
                "this KMS action family; the statement is scoped to that one key's ARN."
            )
            acknowledgments += [
                Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[Action::{action}]", reason=reason
                )
                for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")
            ]
        Validations.of(policy).acknowledge(*acknowledgments)

    # -- grants ----------------------------------------------------------------------------

    def grant_replay(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` (an operator role) to run the DLQ replay of docs/runbook.md.

        Receive and delete the dead-letter messages (and decrypt them with a KMS key), read
        the stream records they point to, and invoke the invalidation function with them.
        """
        grant = self.dead_letter_queue.grant_consume_messages(grantee)
        grant = grant.combine(self.table.grant_stream_read(grantee))
        return grant.combine(self.function.grant_invoke(grantee))

    # -- metrics ---------------------------------------------------------------------------

    def metric_iterator_age(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Age of the newest record the function has processed (ms, Maximum, 1 min).

        This is the invalidation lag: it adds directly to the consistency promise's
        ``max_staleness``.
        """
        return self.function.metric(
            "IteratorAge",
            statistic="Maximum",
            period=period or Duration.minutes(1),
            unit=cloudwatch.Unit.MILLISECONDS,
        )

    def metric_dlq_depth(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Batches given up on and waiting in the dead-letter queue (Maximum, 1 min)."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=period or Duration.minutes(1)
        )


def _validate(
    *,
    table: dynamodb.ITable,
    batch_size: int,
    max_batching_window: Duration | None,
    parallelization_factor: int,
    retry_attempts: int,
    max_record_age: Duration,
    starting_position: lambda_.StartingPosition,
    dead_letter_queue: sqs.IQueue | None,
    dead_letter_queue_encryption_key: kms.IKey | None,
    partition_key_name: str | None,
    partition_key_prefix: str | None,
) -> None:
    if table.table_stream_arn is None:
        raise ValueError(
            "table must have a stream (stream=NEW_AND_OLD_IMAGES, or table_stream_arn when "
            "importing)"
        )
    require_int_range("batch_size", batch_size, 1, 10000)
    require_int_range("parallelization_factor", parallelization_factor, 1, 10)
    require_int_range("retry_attempts", retry_attempts, 0, 10000)
    if max_batching_window is not None:
        _require_duration_range("max_batching_window", max_batching_window, 0, 300)
    _require_duration_range("max_record_age", max_record_age, 60, 7 * 24 * 3600)
    require_one_of("starting_position", starting_position, _ALLOWED_STARTING_POSITIONS)
    if dead_letter_queue is not None and dead_letter_queue_encryption_key is not None:
        raise ValueError(
            "give either dead_letter_queue or dead_letter_queue_encryption_key, not both "
            "(the key only applies to the queue this construct creates)"
        )
    if (partition_key_name is None) != (partition_key_prefix is None):
        raise ValueError(
            "partition_key_name and partition_key_prefix go together: give both or neither"
        )
    for prop, value in (
        ("partition_key_name", partition_key_name),
        ("partition_key_prefix", partition_key_prefix),
    ):
        if value is None or is_unresolved(value):
            continue
        if not isinstance(value, str) or not value:
            raise ValueError(f"{prop} must be a non-empty string; got {value!r}")


def _require_duration_range(prop: str, value: Duration, low_s: int, high_s: int) -> None:
    seconds = value.to_seconds(integral=False)
    if is_unresolved(seconds):
        return
    if not low_s <= seconds <= high_s:
        raise ValueError(f"{prop} must be between {low_s} s and {high_s} s; got {seconds} s")
