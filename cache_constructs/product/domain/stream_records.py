"""DynamoDB Stream records -> the cache invalidation each one calls for.

`change_from_record` returns None for records that are not products (other key prefixes,
and a product's deletion marker, SK ``DELETED``: it never holds a cached representation; the
TTL case where a marker matters is the product's own REMOVE, flagged `ttl_expiry`), and raises
`MalformedRecord` for product records it cannot trust, so the batch processor
fails exactly those records (they reach the DLQ after bounded retries) and not the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
    StreamRecord,
)

from cache_constructs.product import table_schema
from cache_constructs.product.domain.validation import CATEGORY_PATTERN, PRODUCT_ID_PATTERN

PRODUCT_PREFIX = table_schema.ITEM_PK_PREFIX
PRODUCT_SORT_KEY = table_schema.ITEM_SK
# Deletions by DynamoDB's TTL process carry this service principal as their identity.
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


class MalformedRecord(ValueError):
    """A product stream record that cannot be turned into an invalidation."""


@dataclass(frozen=True)
class ProductChange:
    """What one stream record invalidates.

    `stale_through` is the highest version that must no longer be served: new version - 1
    for INSERT/MODIFY, the old version for REMOVE. `categories` are the list pages affected.
    `ttl_expiry`: DynamoDB's TTL deleted the item (no delete transaction wrote its marker).
    """

    product_id: str
    event_name: str
    stale_through: int
    categories: frozenset[str]
    ttl_expiry: bool = False


def _version(image: dict[str, Any], which: str) -> int:
    value = image.get("version")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise MalformedRecord(f"{which} image has no numeric version")
    if value != int(value) or value < 0:
        raise MalformedRecord(f"{which} image version {value} is not a non-negative integer")
    return int(value)


def _category(image: dict[str, Any], which: str) -> str:
    value = image.get("category")
    if not isinstance(value, str) or not CATEGORY_PATTERN.fullmatch(value):
        raise MalformedRecord(f"{which} image has no valid category")
    return value


def _image(stream: StreamRecord, which: str) -> dict[str, Any]:
    attribute = "NewImage" if which == "new" else "OldImage"
    if not stream.get(attribute):
        raise MalformedRecord(
            f"record has no {attribute} (the stream view must be NEW_AND_OLD_IMAGES)"
        )
    try:
        return stream.new_image if which == "new" else stream.old_image
    except (TypeError, ValueError, ArithmeticError) as err:
        raise MalformedRecord(f"{attribute} does not deserialize: {err}") from None


def _is_ttl_deletion(record: DynamoDBRecord) -> bool:
    identity = record.user_identity
    return identity.get("type") == "Service" and identity.get("principalId") == TTL_PRINCIPAL


def change_from_record(record: DynamoDBRecord) -> ProductChange | None:
    """The invalidation a record calls for; None for non-product records."""
    stream = record.dynamodb
    if stream is None or not stream.get("Keys"):
        raise MalformedRecord("record has no dynamodb.Keys")
    try:
        keys = stream.keys
    except (TypeError, ValueError, ArithmeticError) as err:
        raise MalformedRecord(f"Keys do not deserialize: {err}") from None
    partition_key, sort_key = keys.get(table_schema.PARTITION_KEY), keys.get(table_schema.SORT_KEY)
    if not isinstance(partition_key, str) or not partition_key.startswith(PRODUCT_PREFIX):
        return None
    if sort_key != PRODUCT_SORT_KEY:  # e.g. the deletion marker: nothing cached to invalidate
        return None
    product_id = partition_key.removeprefix(PRODUCT_PREFIX)
    if not PRODUCT_ID_PATTERN.fullmatch(product_id):
        raise MalformedRecord(f"PK {partition_key[:80]!r} holds no valid product id")

    try:
        event_name = record.event_name
    except KeyError:
        raise MalformedRecord(f"unknown eventName {record.get('eventName')!r}") from None
    if event_name is DynamoDBRecordEventName.INSERT:
        new = _image(stream, "new")
        return ProductChange(
            product_id, "INSERT", _version(new, "new") - 1, frozenset({_category(new, "new")})
        )
    if event_name is DynamoDBRecordEventName.MODIFY:
        new = _image(stream, "new")
        old = _image(stream, "old")
        categories = frozenset({_category(old, "old"), _category(new, "new")})
        return ProductChange(product_id, "MODIFY", _version(new, "new") - 1, categories)
    if event_name is DynamoDBRecordEventName.REMOVE:
        old = _image(stream, "old")
        return ProductChange(
            product_id,
            "REMOVE",
            _version(old, "old"),
            frozenset({_category(old, "old")}),
            ttl_expiry=_is_ttl_deletion(record),
        )
    raise MalformedRecord("record has no eventName")
