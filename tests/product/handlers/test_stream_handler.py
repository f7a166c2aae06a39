"""Stream invalidation: INSERT/MODIFY/REMOVE/TTL records, partial failures, replay, outage."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis_servers
from handler_env import TABLE, LambdaContext, item_of
from handler_events import (
    api_event,
    image,
    insert,
    modify,
    product_keys,
    remove,
    stream_event,
    stream_record,
)
from handler_http import call
from test_read_handler import seed

from cache_constructs.contract.stream import (
    INVALIDATION_FUNCTION_TIMEOUT_SECONDS,
    INVALIDATION_RETRY_MARGIN_SECONDS,
)
from cache_constructs.product.domain.representation import marker_key
from cache_constructs.product.handlers import read_handler, stream_handler, write_handler

POISON = stream_record("MODIFY", keys=product_keys("p9"), new=image("p9", 2))  # no OldImage
NOT_A_PRODUCT = stream_record(
    "INSERT",
    keys={"PK": {"S": "ORDER#1"}, "SK": {"S": "METADATA"}},
    new={"PK": {"S": "ORDER#1"}, "SK": {"S": "METADATA"}},
)


def tombstone(url: str, product_id: str) -> int | None:
    with redis.Redis.from_url(url) as client:
        value = client.hget(f"pc:{{p:{product_id}}}:t", "v")
    return None if value is None else int(value)


def generation(url: str, category: str) -> int:
    with redis.Redis.from_url(url) as client:
        return int(client.get(f"pc:{{c:{category}}}:g") or 0)


def failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def batch() -> list[dict[str, Any]]:
    return [
        insert("p1", 1, "home"),
        modify("p2", 5, "home", "garden"),
        remove("p3", 7, "toys"),
        remove("p4", 2, "toys", ttl=True),
        NOT_A_PRODUCT,
        POISON,
    ]


def test_batch_invalidates_each_record_and_reports_only_the_poison(
    runtime: Any, redis_url: str, context: Any
) -> None:
    response = stream_handler.handler(stream_event(*batch()), context)
    assert failures(response) == [POISON["dynamodb"]["SequenceNumber"]]
    assert tombstone(redis_url, "p1") == 0
    assert tombstone(redis_url, "p2") == 4
    assert tombstone(redis_url, "p3") == 7
    assert tombstone(redis_url, "p4") == 2
    assert tombstone(redis_url, "p9") is None
    assert {c: generation(redis_url, c) > 0 for c in ("home", "garden", "toys")} == {
        "home": True,
        "garden": True,
        "toys": True,
    }


def test_a_batch_of_only_a_poison_record_reports_it(runtime: Any, context: Any) -> None:
    response = stream_handler.handler(stream_event(POISON), context)
    assert failures(response) == [POISON["dynamodb"]["SequenceNumber"]]


def test_replay_changes_nothing_more(runtime: Any, redis_url: str, context: Any) -> None:
    records = batch()
    stream_handler.handler(stream_event(*records), context)
    tombstones = {p: tombstone(redis_url, p) for p in ("p1", "p2", "p3", "p4")}
    response = stream_handler.handler(stream_event(*records), context)
    assert failures(response) == [POISON["dynamodb"]["SequenceNumber"]]
    assert {p: tombstone(redis_url, p) for p in ("p1", "p2", "p3", "p4")} == tombstones
    # An older record arriving late does not lower what is known stale.
    stream_handler.handler(stream_event(modify("p2", 3)), context)
    assert tombstone(redis_url, "p2") == 4


def test_a_modify_record_makes_readers_see_the_new_version(
    runtime: Any, aws: Any, redis_url: str, context: Any
) -> None:
    seed(aws, "p1", version=1)
    first = call(read_handler.handler, _get("p1"), context)
    assert first.json()["version"] == 1
    seed(aws, "p1", version=2)  # an out-of-band write: only the stream tells the cache
    assert stream_handler.handler(stream_event(modify("p1", 2)), context) == {
        "batchItemFailures": []
    }
    after = call(read_handler.handler, _get("p1"), context)
    assert after.json()["version"] == 2


def _get(product_id: str) -> dict[str, Any]:
    return api_event("GET", f"/products/{product_id}")


def _invocation(seconds_left: float) -> LambdaContext:
    return LambdaContext(remaining_ms=int(seconds_left * 1000))


def test_redis_refusing_for_the_whole_window_fails_the_product_records(
    install_runtime: Any, own_redis: Any
) -> None:
    runtime = install_runtime(REDIS_URL=own_redis.url)
    now, pauses = [0.0], []

    def pause(seconds: float) -> None:  # the window's time passes only in its backoff waits
        pauses.append(seconds)
        now[0] += seconds

    runtime.l2.retry_clock, runtime.l2.retry_sleep = (lambda: now[0]), pause
    runtime.l2.retry_rng = random.Random(3)  # the jitter, made repeatable
    own_redis.stop()
    records = [insert("p1"), NOT_A_PRODUCT, remove("p2", 3)]
    context = _invocation(INVALIDATION_RETRY_MARGIN_SECONDS + 0.2)
    response = stream_handler.handler(stream_event(*records), context)
    assert failures(response) == [
        records[0]["dynamodb"]["SequenceNumber"],
        records[2]["dynamodb"]["SequenceNumber"],
    ]
    assert len(pauses) > 1  # Redis was tried again and again, not skipped on the breaker
    assert sum(pauses) == pytest.approx(0.2)  # for the whole window, then the rest failed fast
    own_redis.start()


@pytest.fixture
def durable_redis() -> Iterator[redis_servers.RedisServer]:
    """A server whose data survive a stop and start (append-only file), as L2's contents
    survive a network blip or a failover: the stale entry is still there afterwards."""
    with redis_servers.standalone(["--appendonly", "yes"]) as server:
        yield server


def test_a_2s_redis_outage_loses_no_invalidation(
    install_runtime: Any, durable_redis: redis_servers.RedisServer, aws: Any
) -> None:
    """On b139d26 the open breaker failed the record at once (it went on to the DLQ after the
    mapping's retries) and v1 stayed in L2; now the invocation retries Redis through the
    outage and the record is applied when Redis is back."""
    runtime = install_runtime(REDIS_URL=durable_redis.url)
    seed(aws, "p1", version=1)
    assert call(read_handler.handler, _get("p1"), LambdaContext()).json()["version"] == 1
    seed(aws, "p1", version=2)  # an out-of-band write: only its stream record tells L2
    durable_redis.stop()
    stopped_at = time.monotonic()
    for other in ("x1", "x2", "x3"):  # reads during the outage open the breaker
        assert runtime.items.read(other).x_cache == "BYPASS"
    assert runtime.l2.breaker.state == "open"

    waits: list[float] = []

    def backoff(pause: float) -> None:
        # The hook is the restart's only trigger: after at least 2 s of refused attempts.
        waits.append(pause)
        if durable_redis.proc is None and time.monotonic() - stopped_at >= 2.0:
            durable_redis.start()
        time.sleep(pause)

    runtime.l2.retry_sleep = backoff
    response = stream_handler.handler(
        stream_event(modify("p1", 2)), _invocation(INVALIDATION_FUNCTION_TIMEOUT_SECONDS)
    )
    assert response == {"batchItemFailures": []}
    assert durable_redis.proc is not None and len(waits) > 3
    assert tombstone(durable_redis.url, "p1") == 1
    install_runtime(REDIS_URL=durable_redis.url)  # another environment: its L1 is empty
    read = call(read_handler.handler, _get("p1"), LambdaContext())
    assert (read.json()["version"], read.header("X-Cache")) == (2, "MISS")


def test_a_ttl_expiry_record_makes_a_re_create_continue_above_the_expired_version(
    runtime: Any, aws: Any, context: Any
) -> None:
    """DynamoDB's TTL deletes without our transaction, so the stream handler writes the
    marker. On b139d26 the re-create after the expiry restarted at version 1."""
    response = stream_handler.handler(stream_event(remove("p1", 7, ttl=True)), context)
    assert response == {"batchItemFailures": []}
    created = _write("PUT", "p1", {"name": "Lamp", "category": "home", "price": 1})
    assert created.status == 201 and created.json()["version"] == 8
    marker = aws.get_item(TableName=TABLE, Key=marker_key("p1"), ConsistentRead=True)["Item"]
    assert marker["version"] == {"N": "7"}


def test_a_re_create_racing_a_ttl_expiry_is_renumbered_above_it(
    runtime: Any, aws: Any, context: Any
) -> None:
    """The TTL deleted v7; a client re-created the product (at v1: no marker yet) before
    the REMOVE record was processed. Processing it moves that product above v7, so a client
    still holding one of the expired versions gets a 412. On b139d26 the stale PUT landed."""
    created = _write("PUT", "p1", {"name": "Lamp", "category": "home", "price": 1})
    assert created.json()["version"] == 1
    stream_handler.handler(stream_event(remove("p1", 7, ttl=True)), context)
    assert item_of(aws, "p1")["version"] == {"N": "8"}
    stale = _write("PUT", "p1", {"name": "Lamp", "category": "home", "price": 9, "version": 1})
    assert stale.status == 412
    assert item_of(aws, "p1")["price"] == {"N": "1"}


def test_deletion_marker_records_are_ignored(runtime: Any, redis_url: str, context: Any) -> None:
    marker = {**product_keys("p1"), "SK": {"S": "DELETED"}}
    records = [
        stream_record("INSERT", keys=marker, new={**marker, "version": {"N": "3"}}),
        stream_record(
            "MODIFY",
            keys=marker,
            old={**marker, "version": {"N": "3"}},
            new={**marker, "version": {"N": "5"}},
        ),
    ]
    assert stream_handler.handler(stream_event(*records), context) == {"batchItemFailures": []}
    assert tombstone(redis_url, "p1") is None


def _write(method: str, product_id: str, body: dict[str, Any]) -> Any:
    event = api_event(
        method,
        f"/products/{product_id}",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    return call(write_handler.handler, event, LambdaContext())


def test_emf_counts_invalidations(
    runtime: Any, context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stream_handler.handler(stream_event(insert("p1"), remove("p2", 3)), context)
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert sum(sum(blob.get("Invalidations", [])) for blob in blobs) >= 2
