"""The stream poller behaves like a Lambda event source mapping (against moto's real server).

Most functions here are test doubles (callables): those tests are about the mapping's
semantics (order, partial failures, bisect, bounded retries, dead letters, filtering). The
Redis outage tests run the real invalidation handler in this process (so a hook can restart
the real redis-server from inside its retry waits), with the deployed mapping's settings.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis_servers

from cache_constructs.contract import environment as env_names
from cache_constructs.contract.stream import (
    INVALIDATION_FUNCTION_TIMEOUT_SECONDS,
    INVALIDATION_RETRY_MARGIN_SECONDS,
)
from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.product.handlers import stream_handler
from cache_constructs.product.handlers.service_runtime import set_runtime
from cache_constructs.product.table_schema import (
    create_table_kwargs,
    item_key,
    ttl_specification,
)
from cache_constructs.runtime.codec import Rendered
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import CacheRuntime, build_runtime
from local_stack.dead_letter import DeadLetterFile
from local_stack.dynamodb_emulator import DynamoDBEmulator
from local_stack.functions import function_specs, route_policies
from local_stack.lambda_worker import InvocationError, LambdaContext
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


# --- the deployed settings, and a Redis outage through the real handler ---------------------


def test_the_defaults_mirror_the_deployed_event_source_mapping() -> None:
    """What `make local` emulates is what StreamInvalidator deploys (one source: the contract)."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    from cache_constructs.stream_invalidator import StreamInvalidator

    stack = Stack(App(), "Mirror")
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): return None"),
    )
    StreamInvalidator(stack, "Invalidator", table=table, function=function)
    [mapping] = (
        Template.from_stack(stack).find_resources("AWS::Lambda::EventSourceMapping").values()
    )
    props = mapping["Properties"]
    local = EventSourceSettings()
    assert props["MaximumRetryAttempts"] == local.max_retries
    assert props["MaximumRecordAgeInSeconds"] == local.max_record_age_seconds
    assert props["BatchSize"] == local.batch_size
    assert props["BisectBatchOnFunctionError"] is local.bisect_on_error
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # The local stream function times out when the deployed one does (CachedProductService).
    specs = function_specs(
        table_name="t",
        region="us-east-1",
        dynamodb_endpoint="http://127.0.0.1:1",
        redis_url="redis://127.0.0.1:1/0",
        policies=route_policies(),
    )
    assert specs["stream"].timeout_seconds == INVALIDATION_FUNCTION_TIMEOUT_SECONDS


@pytest.fixture
def durable_redis() -> Iterator[redis_servers.RedisServer]:
    """A server whose data survive a stop and start (append-only file), as L2's contents
    survive a network blip or a failover: the stale entry is still there afterwards."""
    with redis_servers.standalone(["--appendonly", "yes"]) as server:
        yield server


@pytest.fixture
def stream_runtime(durable_redis: redis_servers.RedisServer) -> Iterator[CacheRuntime]:
    """The stream function's runtime on `durable_redis`, installed for the real handler."""
    policies = route_policies()
    env = {
        **env_names.service_env(TABLE),
        **env_names.policy_env(item_policy=policies["item"], list_policy=policies["list"]),
        env_names.REDIS_URL: durable_redis.url,
        "AWS_REGION": "us-east-1",
    }
    runtime = build_runtime(load_config(env), codec=PRODUCT_CODEC)
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


class RealStreamFunction:
    """The real stream handler as the poller's function: each invocation gets a Lambda context
    whose deadline is `seconds` away (as the local worker's), and `done` fires when a batch
    holding `product_id` succeeds or when a record is dead-lettered."""

    def __init__(self, product_id: str, seconds: float) -> None:
        self.product_id = product_id
        self.seconds = seconds
        self.invocations: list[list[str]] = []
        self.done = threading.Event()

    def __call__(self, event: dict[str, Any]) -> Any:
        context = LambdaContext("stream", 256, str(uuid.uuid4()), time.time() + self.seconds)
        response = stream_handler.handler(event, context)
        failed = [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
        self.invocations.append(failed)
        ids = [_product_id(record) for record in event["Records"]]
        if self.product_id in ids and not failed:
            self.done.set()
        return response


class SignallingDeadLetters(DeadLetterFile):
    def __init__(self, path: Path, done: threading.Event) -> None:
        super().__init__(path)
        self._done = done

    def send(self, record: dict[str, Any], **details: Any) -> None:
        super().send(record, **details)
        self._done.set()


def _outage_through_the_poller(
    emulator: DynamoDBEmulator,
    stream_arn: str,
    runtime: CacheRuntime,
    redis_server: redis_servers.RedisServer,
    function: RealStreamFunction,
    tmp_path: Path,
) -> tuple[DeadLetterFile, list[float]]:
    """v1 cached in L2; Redis stops; v2 is written out of band; the poller delivers its record
    to the real handler, whose retry waits restart Redis once the handler has found it down
    for 2 s (counted from its first refused attempt, whenever the record arrived)."""
    runtime.items.write_through(function.product_id, Rendered(b'{"v":1}', '"v1"', 1))
    redis_server.stop()
    waits: list[float] = []
    refused_since: list[float] = []

    def backoff(pause: float) -> None:
        waits.append(pause)
        now = time.monotonic()
        if not refused_since:
            refused_since.append(now)
        if redis_server.proc is None and now - refused_since[0] >= 2.0:
            redis_server.start()
        time.sleep(pause)

    assert runtime.l2 is not None
    runtime.l2.retry_sleep = backoff
    _put(emulator, function.product_id, version={"N": "2"})
    dead_letters = SignallingDeadLetters(tmp_path / "dlq.jsonl", function.done)
    poller = StreamPoller(
        streams_client=emulator.client("dynamodbstreams"),
        stream_arn=stream_arn,
        invoke=function,
        dead_letters=dead_letters,
        function_name="local-stream",
        settings=EventSourceSettings(poll_interval_seconds=0.05),  # otherwise as deployed
        record_filter=is_product_change,
    )
    poller.start()
    try:
        assert function.done.wait(60), f"no outcome; invocations {function.invocations}"
    finally:
        poller.stop()
        if redis_server.proc is None:
            redis_server.start()
    return dead_letters, waits


def _l2_after(url: str, product_id: str) -> tuple[bytes | None, bytes | None]:
    with redis.Redis.from_url(url) as client:
        return client.get(f"pc:{{p:{product_id}}}:v"), client.hget(f"pc:{{p:{product_id}}}:t", "v")


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_2s_redis_outage_loses_no_invalidation_through_the_poller(
    emulator: DynamoDBEmulator,
    stream_arn: str,
    stream_runtime: CacheRuntime,
    durable_redis: redis_servers.RedisServer,
    tmp_path: Path,
) -> None:
    """The deployed function's window (60 s - 5 s) outlasts the outage: one invocation
    retries Redis until it is back. On b139d26 each invocation failed at once and the
    record was dead-lettered after the mapping's 5 retries (about 1.6 s), v1 left in L2."""
    function = RealStreamFunction("p1", INVALIDATION_FUNCTION_TIMEOUT_SECONDS)
    dead_letters, waits = _outage_through_the_poller(
        emulator, stream_arn, stream_runtime, durable_redis, function, tmp_path
    )
    assert dead_letters.entries() == []
    assert function.invocations == [[]]  # one invocation, nothing reported failed
    assert len(waits) > 3
    assert _l2_after(durable_redis.url, "p1") == (None, b"1")  # v1 gone, versions <= 1 stale


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_an_outage_longer_than_an_invocation_is_covered_by_the_mapping_retries(
    emulator: DynamoDBEmulator,
    stream_arn: str,
    stream_runtime: CacheRuntime,
    durable_redis: redis_servers.RedisServer,
    tmp_path: Path,
) -> None:
    """Invocations with only 0.3 s to retry Redis: the first ones report the record failed
    and the poller's retries (the deployed count) carry it through the 2 s outage."""
    function = RealStreamFunction("p2", INVALIDATION_RETRY_MARGIN_SECONDS + 0.3)
    dead_letters, _ = _outage_through_the_poller(
        emulator, stream_arn, stream_runtime, durable_redis, function, tmp_path
    )
    assert dead_letters.entries() == []
    assert len(function.invocations) > 1 and function.invocations[-1] == []
    assert all(failed for failed in function.invocations[:-1])
    assert len(function.invocations) <= 1 + EventSourceSettings().max_retries
    assert _l2_after(durable_redis.url, "p2") == (None, b"1")
