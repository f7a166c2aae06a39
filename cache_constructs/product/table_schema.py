"""The product table's schema (pure Python: no CDK import).

One source for the CDK table (CachedProductService), the local stack and the tests, so the
key names, the category index, the stream and the TTL attribute cannot drift apart
(docs/architecture.md, "DynamoDB item").
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"
KEY_TYPE = "S"
"""Both keys are strings."""

ITEM_PK_PREFIX = "PRODUCT#"
ITEM_SK = "METADATA"
DELETION_MARKER_SK = "DELETED"
"""The per-id deletion marker: same partition as the product, no `category` (so never in the
category index); its `version` is the last version the product had when it was deleted, so a
re-create continues above it and versions never repeat for an id."""

CATEGORY_INDEX_NAME = "category-index"
CATEGORY_INDEX_PARTITION_KEY = "category"
CATEGORY_INDEX_SORT_KEY = "productId"
CATEGORY_INDEX_PROJECTION = "ALL"

STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
"""Invalidation needs the old image (REMOVE: its version) and the new one (its version)."""

TTL_ATTRIBUTE = "expiresAt"
"""Epoch seconds, optional on an item."""

VERSION_ATTRIBUTE = "version"
WRITE_TOKEN_ATTRIBUTE = "writeToken"  # noqa: S105 (an attribute name, not a secret)
"""A random token per write request, stored with the item (and on the deletion marker by a
delete), never in a response: after an ambiguous failure the writer recognises its own write
by it."""


def item_key(product_id: str) -> dict[str, str]:
    """The table key of a product (plain values, as boto3's resource API takes them)."""
    return {PARTITION_KEY: f"{ITEM_PK_PREFIX}{product_id}", SORT_KEY: ITEM_SK}


def marker_key(product_id: str) -> dict[str, str]:
    """The table key of a product's deletion marker (plain values)."""
    return {PARTITION_KEY: f"{ITEM_PK_PREFIX}{product_id}", SORT_KEY: DELETION_MARKER_SK}


def create_table_kwargs(table_name: str) -> dict[str, Any]:
    """Keyword arguments for boto3 ``dynamodb.create_table`` (on-demand, stream on).

    Time to live is a separate call: see `ttl_specification`.
    """
    if not table_name:
        raise ValueError("table_name must not be empty")
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": KEY_TYPE},
            {"AttributeName": SORT_KEY, "AttributeType": KEY_TYPE},
            {"AttributeName": CATEGORY_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": CATEGORY_INDEX_SORT_KEY, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": CATEGORY_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": CATEGORY_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": CATEGORY_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": CATEGORY_INDEX_PROJECTION},
            }
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
        "SSESpecification": {"Enabled": True},
    }


def ttl_specification() -> dict[str, Any]:
    """The ``TimeToLiveSpecification`` for boto3 ``update_time_to_live``."""
    return {"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
