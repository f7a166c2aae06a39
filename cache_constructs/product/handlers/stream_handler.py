"""DynamoDB Stream -> cache invalidation, with partial batch responses.

Each product record tombstones its item through the version the record makes stale and
bumps the list generations of the categories it touches (a TTL expiry also raises the
product's deletion marker). Invalidation is idempotent (the tombstone keeps the highest
version, generations only grow), so a replayed batch changes nothing more. Redis is retried
within the invocation (never skipped on an open breaker: `domain.stream_invalidation`); a
malformed record, or Redis refusing for the whole window, fails that record only: the event
source mapping retries it (bisecting the batch) and then sends it to the DLQ. Deletion
marker records are not products and are ignored.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from cache_constructs.product.domain.stream_invalidation import (
    StreamInvalidation,
    redis_retries,
)
from cache_constructs.product.domain.stream_records import change_from_record
from cache_constructs.product.handlers.observability import instrument
from cache_constructs.product.handlers.push_notifications import publish_change
from cache_constructs.product.handlers.service_runtime import get_runtime
from cache_constructs.runtime.telemetry import logger

# Even a batch that failed entirely is answered record by record (no exception), so the
# event source mapping retries exactly the failed records, the same way every time.
processor = BatchProcessor(
    event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
)


def invalidate(record: DynamoDBRecord) -> None:
    """Apply one record; raises (failing only this record) when it cannot be applied."""
    try:
        change = change_from_record(record)
        if change is None:
            return
        StreamInvalidation(get_runtime()).apply(change)
    except Exception:
        # The record is retried and may end in the DLQ: say which one and why.
        logger.exception(
            "stream record not applied",
            extra={"sequence_number": record.dynamodb.sequence_number if record.dynamodb else None},
        )
        raise
    publish_change(change)  # after the caches are consistent; best effort, never raises
    logger.debug(
        "invalidated",
        extra={
            "product_id": change.product_id,
            "event_name": change.event_name,
            "stale_through": change.stale_through,
            "ttl_expiry": change.ttl_expiry,
        },
    )


def _handle(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    # Configuration errors fail the whole invocation (the batch is retried, not lost).
    runtime = get_runtime()
    with redis_retries(runtime, context):
        return process_partial_response(
            event=event, record_handler=invalidate, processor=processor, context=context
        )


handler = instrument(_handle)
