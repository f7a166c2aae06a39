"""Stream invalidation: INSERT/MODIFY/REMOVE/TTL records, partial failures, replay, outage."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from handler_events import image, insert, modify, product_keys, remove, stream_event, stream_record
from handler_http import call
from test_read_handler import seed

from cache_constructs.product.handlers import read_handler, stream_handler

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
    from handler_events import api_event

    return api_event("GET", f"/products/{product_id}")


def test_cache_outage_fails_the_product_records(
    install_runtime: Any, own_redis: Any, context: Any
) -> None:
    install_runtime(REDIS_URL=own_redis.url)
    own_redis.stop()
    records = [insert("p1"), NOT_A_PRODUCT, remove("p2", 3)]
    response = stream_handler.handler(stream_event(*records), context)
    assert failures(response) == [
        records[0]["dynamodb"]["SequenceNumber"],
        records[2]["dynamodb"]["SequenceNumber"],
    ]
    own_redis.start()


def test_emf_counts_invalidations(
    runtime: Any, context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stream_handler.handler(stream_event(insert("p1"), remove("p2", 3)), context)
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert sum(sum(blob.get("Invalidations", [])) for blob in blobs) >= 2
