"""A DynamoDB Streams poller that behaves like a Lambda event source mapping.

- Reads each shard from TRIM_HORIZON and invokes the function with batches of up to
  `batch_size` records, in order, one batch at a time per shard.
- Applies the event filter the construct sets (product keys; INSERT, MODIFY, REMOVE).
- Partial batch responses: a `batchItemFailures` answer checkpoints before the first failed
  record and retries from it; an error or an unreadable answer fails the whole batch.
- Bisect on error: a failing batch of several records is split in two and each half retried,
  so one poison record ends up alone (splits do not count as retries).
- Bounded retries (`max_retries`: a record alone is tried 1 + max_retries times) and record
  age (`max_record_age_seconds`): what is given up on goes to the dead-letter file and the
  shard moves on.
- Logs every batch with its iterator age (the `IteratorAge` metric): the polling lag.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cache_constructs.contract.stream import (
    STREAM_BATCH_SIZE,
    STREAM_MAX_RECORD_AGE_SECONDS,
    STREAM_RETRY_ATTEMPTS,
)
from local_stack.dead_letter import DeadLetterFile
from local_stack.lambda_worker import InvocationError

log = logging.getLogger("local_stack.stream_poller")

Invoke = Callable[[dict[str, Any]], Any]
RecordFilter = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class EventSourceSettings:
    """The event source mapping's knobs. The defaults are the deployed mapping's (the
    StreamInvalidator's, from `cache_constructs.contract.stream`), so `make local` retries a
    record as often and as long as AWS does."""

    batch_size: int = STREAM_BATCH_SIZE
    max_retries: int = STREAM_RETRY_ATTEMPTS
    bisect_on_error: bool = True
    max_record_age_seconds: float = float(STREAM_MAX_RECORD_AGE_SECONDS)
    poll_interval_seconds: float = 0.25
    """Idle wait between empty polls (Lambda polls a shard about four times a second)."""
    retry_backoff_seconds: float = 0.05
    """First wait before a retry; doubles per attempt, capped at one second."""

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10000:
            raise ValueError(f"batch_size must be 1..10000; got {self.batch_size}")
        if not 0 <= self.max_retries <= 10000:
            raise ValueError(f"max_retries must be 0..10000; got {self.max_retries}")


@dataclass
class _Attempt:
    records: list[dict[str, Any]]
    failures: int = 0
    last_error: str | None = None


class StreamPoller:
    """Polls one stream in a background thread and feeds `invoke` like an event source."""

    def __init__(
        self,
        *,
        streams_client: Any,
        stream_arn: str,
        invoke: Invoke,
        dead_letters: DeadLetterFile,
        function_name: str,
        settings: EventSourceSettings | None = None,
        record_filter: RecordFilter | None = None,
    ) -> None:
        self.client = streams_client
        self.stream_arn = stream_arn
        self.invoke = invoke
        self.dead_letters = dead_letters
        self.function_name = function_name
        self.settings = settings or EventSourceSettings()
        self.record_filter = record_filter or (lambda _record: True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._iterators: dict[str, str | None] = {}
        self._checkpoints: dict[str, str] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- polling --------------------------------------------------------------------------

    def _run(self) -> None:
        log.info("polling %s (%s)", self.stream_arn, self.settings)
        while not self._stop.is_set():
            try:
                got_records = self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                log.warning("stream read failed: %s; retrying", exc)
                self._iterators.clear()
                got_records = False
            if not got_records:
                self._stop.wait(self.settings.poll_interval_seconds)

    def poll_once(self) -> bool:
        """Read every shard once and deliver what came; True when any records came."""
        if not self._iterators or any(it is None for it in self._iterators.values()):
            self._refresh_shards()
        got_records = False
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None or self._stop.is_set():
                continue
            try:
                page = self.client.get_records(
                    ShardIterator=iterator, Limit=self.settings.batch_size
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                    raise
                self._iterators[shard_id] = self._iterator_for(shard_id)
                continue
            self._iterators[shard_id] = page.get("NextShardIterator")
            records = [self._as_lambda_record(raw) for raw in page.get("Records", [])]
            if records:
                got_records = True
                self._deliver(shard_id, records)
                self._checkpoints[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        return got_records

    def _refresh_shards(self) -> None:
        description = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if self._iterators.get(shard_id) is None:
                closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
                if shard_id in self._iterators and closed:
                    continue  # read to its end already
                self._iterators[shard_id] = self._iterator_for(shard_id)

    def _iterator_for(self, shard_id: str) -> str | None:
        checkpoint = self._checkpoints.get(shard_id)
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id}
        if checkpoint:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=checkpoint)
        else:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        return self.client.get_shard_iterator(**kwargs).get("ShardIterator")

    def _as_lambda_record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """boto3's record -> the record of a Lambda DynamoDB event (epoch seconds, source ARN)."""
        record = dict(raw)
        dynamodb = dict(record.get("dynamodb", {}))
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        record["dynamodb"] = dynamodb
        record["eventVersion"] = "1.1"
        record["eventSourceARN"] = self.stream_arn
        return record

    # --- delivery -------------------------------------------------------------------------

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        started = time.time()
        oldest = min(r["dynamodb"].get("ApproximateCreationDateTime", started) for r in records)
        wanted = []
        for record in records:
            if not self.record_filter(record):
                continue
            age = started - record["dynamodb"].get("ApproximateCreationDateTime", started)
            if age > self.settings.max_record_age_seconds:
                self._dead_letter(shard_id, record, "RecordAgeExceeded", 0, None)
            else:
                wanted.append(record)
        pending: deque[_Attempt] = deque([_Attempt(wanted)] if wanted else [])
        while pending and not self._stop.is_set():
            attempt = pending.popleft()
            failed_from, error = self._invoke(attempt.records)
            if failed_from is None:
                continue
            remaining = attempt.records[failed_from:]
            if self.settings.bisect_on_error and len(remaining) > 1:
                # Split, keep order: the first half runs (and is retried) before the second.
                # Splits are not retries: a poison record ends up alone, then has its retries.
                half = len(remaining) // 2
                pending.appendleft(_Attempt(remaining[half:], attempt.failures, error))
                pending.appendleft(_Attempt(remaining[:half], attempt.failures, error))
                continue
            rest = _Attempt(remaining, attempt.failures + 1, error)
            if rest.failures > self.settings.max_retries:
                for record in rest.records:
                    self._dead_letter(
                        shard_id, record, "RetryAttemptsExhausted", rest.failures, error
                    )
            else:
                backoff = self.settings.retry_backoff_seconds * 2 ** (rest.failures - 1)
                self._stop.wait(min(1.0, backoff))
                pending.appendleft(rest)
        log.info(
            "shard %s: %d records (%d after filter), iterator age %.0f ms, processed in %.0f ms",
            shard_id,
            len(records),
            len(wanted),
            (started - oldest) * 1000,
            (time.time() - started) * 1000,
        )

    def _invoke(self, records: list[dict[str, Any]]) -> tuple[int | None, str | None]:
        """Invoke once: (index of the first record to retry or None, the error if any)."""
        try:
            result = self.invoke({"Records": records})
        except InvocationError as exc:
            log.info("batch of %d failed: %s", len(records), exc)
            return 0, exc.error_type
        if not result:
            return None, None  # a null or empty response is a success
        if not isinstance(result, dict):
            log.warning("unreadable response %r: the whole batch failed", result)
            return 0, "InvalidResponse"
        failures = result.get("batchItemFailures")
        if not failures:
            return None, None
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        try:
            failed = [sequence_numbers.index(item["itemIdentifier"]) for item in failures]
        except (TypeError, KeyError, ValueError):
            log.warning("unreadable batchItemFailures %r: the whole batch failed", failures)
            return 0, "InvalidBatchItemFailures"
        log.info("batch of %d: %d record(s) reported failed", len(records), len(failed))
        return min(failed), "BatchItemFailure"

    def _dead_letter(
        self,
        shard_id: str,
        record: dict[str, Any],
        condition: str,
        invoke_count: int,
        error: str | None,
    ) -> None:
        log.error(
            "record %s (%s) dropped to the dead-letter file: %s after %d invocation(s)",
            record["dynamodb"].get("SequenceNumber"),
            record.get("eventName"),
            condition,
            invoke_count,
        )
        self.dead_letters.send(
            record,
            condition=condition,
            invoke_count=invoke_count,
            function_error=error,
            shard_id=shard_id,
            stream_arn=self.stream_arn,
            function_name=self.function_name,
        )
