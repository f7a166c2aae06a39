"""The stream poller behaves like a Lambda event source mapping (against moto's real server).

The function is a test double here (a callable): these tests are about the mapping's
semantics (order, partial failures, bisect, bounded retries, dead letters, filtering); the
real invalidation handler runs in tests/e2e/test_local_stack.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cache_constructs.product.table_schema import (
    create_table_kwargs,
    item_key,
    ttl_specification,
)
from local_stack.dead_letter import DeadLetterFile
from local_stack.dynamodb_emulator import DynamoDBEmulator
from local_stack.lambda_worker import InvocationError
from local_stack.processes import free_port
from local_stack.stack import is_product_change
from local_stack.stream_poller import EventSourceSettings, StreamPoller

TABLE = "poller-test"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynamoDBEmulator]:
    server = DynamoDBEmulator(
        port=free_port(), region="us-east-1", state_dir=tmp_path_factory.mktemp("moto")
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stream_arn(emulator: DynamoDBEmulator) -> Iterator[str]:
    arn = emulator.create_product_table(TABLE)
    yield arn
    emulator.client().delete_table(TableName=TABLE)


class RecordingFunction:
    """A stand-in function: records every batch, fails on demand, signals when done."""

    def __init__(self, *, poison: set[str], mode: str, done_when: str) -> None:
        self.poison = poison
        self.mode = mode  # "report" (batchItemFailures) or "raise" (function error)
        self.done_when = done_when
        self.batches: list[list[str]] = []
        self.done = threading.Event()

    def __call__(self, event: dict[str, Any]) -> Any:
        ids = [_product_id(record) for record in event["Records"]]
        self.batches.append(ids)
        bad = [r for r in event["Records"] if _product_id(r) in self.poison]
        if self.done_when in ids and not bad:
            self.done.set()
        if not bad:
            return {"batchItemFailures": []}
        if self.mode == "raise":
            raise InvocationError("ValueError", "poison record")
        return {
            "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in bad]
        }


def _product_id(record: dict[str, Any]) -> str:
    return record["dynamodb"]["Keys"]["PK"]["S"].removeprefix("PRODUCT#")


def _put(emulator: DynamoDBEmulator, product_id: str, **extra: Any) -> None:
    item = {name: {"S": value} for name, value in item_key(product_id).items()}
    item.update({"productId": {"S": product_id}, "category": {"S": "c"}, "version": {"N": "1"}})
    item.update(extra)
    emulator.client().put_item(TableName=TABLE, Item=item)


def _run(
    emulator: DynamoDBEmulator,
    stream_arn: str,
    function: RecordingFunction,
    tmp_path: Path,
    **settings: Any,
) -> DeadLetterFile:
    dead_letters = DeadLetterFile(tmp_path / "dlq.jsonl")
    poller = StreamPoller(
        streams_client=emulator.client("dynamodbstreams"),
        stream_arn=stream_arn,
        invoke=function,
        dead_letters=dead_letters,
        function_name="test",
        settings=EventSourceSettings(
            retry_backoff_seconds=0.001, poll_interval_seconds=0.05, **settings
        ),
        record_filter=is_product_change,
    )
    poller.start()
    try:
        assert function.done.wait(20), f"last record never delivered; batches {function.batches}"
    finally:
        poller.stop()
    return dead_letters


@pytest.mark.parametrize("mode", ["report", "raise"])
def test_poison_record_is_dead_lettered_and_later_records_flow(
    emulator: DynamoDBEmulator, stream_arn: str, tmp_path: Path, mode: str
) -> None:
    for product_id in ["a", "b", "poison", "c", "d"]:
        _put(emulator, product_id)
    _put(emulator, "last")
    function = RecordingFunction(poison={"poison"}, mode=mode, done_when="last")

    dead_letters = _run(emulator, stream_arn, function, tmp_path, max_retries=2)

    entries = dead_letters.entries()
    assert [_product_id(e["record"]) for e in entries] == ["poison"]
    assert entries[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert entries[0]["requestContext"]["approximateInvokeCount"] == 3  # 1 try + 2 retries
    assert entries[0]["DDBStreamBatchInfo"]["streamArn"] == stream_arn
    # Bisect isolated the poison record; alone, it was tried 1 + max_retries times.
    assert function.batches.count(["poison"]) == 3
    # Every good record reached the function, in stream order, after the failure too.
    delivered = [pid for batch in function.batches for pid in batch if pid != "poison"]
    assert {"a", "b", "c", "d", "last"} <= set(delivered)
    first_seen = sorted(set(delivered), key=delivered.index)
    assert first_seen == ["a", "b", "c", "d", "last"]


def test_batches_respect_the_batch_size_and_the_event_filter(
    emulator: DynamoDBEmulator, stream_arn: str, tmp_path: Path
) -> None:
    client = emulator.client()
    client.put_item(  # not a product: the construct's event filter drops it
        TableName=TABLE, Item={"PK": {"S": "OTHER#x"}, "SK": {"S": "METADATA"}}
    )
    for index in range(5):
        _put(emulator, f"p{index}")
    function = RecordingFunction(poison=set(), mode="report", done_when="p4")

    dead_letters = _run(emulator, stream_arn, function, tmp_path, batch_size=2)

    assert dead_letters.entries() == []
    assert all(1 <= len(batch) <= 2 for batch in function.batches)
    assert [pid for batch in function.batches for pid in batch] == [f"p{i}" for i in range(5)]


def test_lambda_records_carry_source_arn_and_epoch_seconds(
    emulator: DynamoDBEmulator, stream_arn: str, tmp_path: Path
) -> None:
    _put(emulator, "only")
    seen: list[dict[str, Any]] = []
    function = RecordingFunction(poison=set(), mode="report", done_when="only")

    def capture(event: dict[str, Any]) -> Any:
        seen.extend(event["Records"])
        return function(event)

    dead_letters = DeadLetterFile(tmp_path / "dlq.jsonl")
    poller = StreamPoller(
        streams_client=emulator.client("dynamodbstreams"),
        stream_arn=stream_arn,
        invoke=capture,
        dead_letters=dead_letters,
        function_name="test",
        settings=EventSourceSettings(poll_interval_seconds=0.05),
    )
    poller.start()
    try:
        assert function.done.wait(20)
    finally:
        poller.stop()
    record = seen[0]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stream_arn
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert record["dynamodb"]["NewImage"]["productId"] == {"S": "only"}
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        EventSourceSettings(batch_size=0)
    with pytest.raises(ValueError, match="max_retries"):
        EventSourceSettings(max_retries=-1)


def test_table_is_built_from_the_construct_schema(
    emulator: DynamoDBEmulator, stream_arn: str
) -> None:
    expected = create_table_kwargs(TABLE)
    table = emulator.client().describe_table(TableName=TABLE)["Table"]

    assert table["KeySchema"] == expected["KeySchema"]
    assert table["StreamSpecification"] == expected["StreamSpecification"]
    [index] = table["GlobalSecondaryIndexes"]
    [expected_index] = expected["GlobalSecondaryIndexes"]
    assert index["IndexName"] == expected_index["IndexName"]
    assert index["KeySchema"] == expected_index["KeySchema"]
    assert index["Projection"] == expected_index["Projection"]
    ttl = emulator.client().describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == ttl_specification()["AttributeName"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
