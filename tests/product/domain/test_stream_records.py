"""Stream record parsing: which versions and list pages each record invalidates."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from handler_events import image, insert, modify, product_keys, remove, stream_record

from cache_constructs.product.domain.stream_records import MalformedRecord, change_from_record


def change(record: dict):  # type: ignore[no-untyped-def]
    return change_from_record(DynamoDBRecord(record))


def test_insert_invalidates_everything_below_the_new_version() -> None:
    result = change(insert("p1", 1, "home"))
    assert (result.product_id, result.event_name, result.stale_through) == ("p1", "INSERT", 0)
    assert result.categories == {"home"}


def test_modify_touches_old_and_new_category() -> None:
    result = change(modify("p1", 4, "home", "garden"))
    assert (result.event_name, result.stale_through) == ("MODIFY", 3)
    assert result.categories == {"home", "garden"}


def test_remove_invalidates_the_old_version() -> None:
    result = change(remove("p1", 7, "home"))
    assert (result.event_name, result.stale_through, result.ttl_expiry) == ("REMOVE", 7, False)


def test_ttl_deletion_is_a_remove_flagged_as_expiry() -> None:
    result = change(remove("p1", 2, ttl=True))
    assert (result.stale_through, result.ttl_expiry) == (2, True)


@pytest.mark.parametrize(
    "keys",
    [
        {"PK": {"S": "ORDER#1"}, "SK": {"S": "METADATA"}},
        {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "REVIEW#1"}},
        {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "DELETED"}},  # the deletion marker
        {"PK": {"N": "5"}, "SK": {"S": "METADATA"}},
    ],
)
def test_records_that_are_not_products_are_ignored(keys: dict) -> None:
    assert change(stream_record("INSERT", keys=keys, new=image("p1", 1))) is None


@pytest.mark.parametrize(
    "record",
    [
        stream_record("INSERT", keys=product_keys("p1")),
        stream_record("REMOVE", keys=product_keys("p1")),
        stream_record("MODIFY", keys=product_keys("p1"), new=image("p1", 2)),
        stream_record("INSERT", keys=product_keys("p1"), new=image("p1", 1, category="a/b")),
        stream_record("INSERT", keys=product_keys("p1"), new={"version": {"S": "one"}}),
        stream_record(
            "INSERT", keys=product_keys("p1"), new={**image("p1", 1), "version": {"N": "1.5"}}
        ),
        stream_record("INSERT", keys=product_keys("bad id"), new=image("p1", 1)),
        stream_record("INSERT", keys={}, new=image("p1", 1)),
        stream_record("INSERT", keys=product_keys("p1"), new={"version": {"Q": "1"}}),
        {**insert("p1"), "eventName": "UPSERT"},
    ],
)
def test_malformed_product_records_raise(record: dict) -> None:
    with pytest.raises(MalformedRecord):
        change(record)
