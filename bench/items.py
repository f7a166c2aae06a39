"""Products as the bench writes them, and their DynamoDB item form (docs/architecture.md).

The key names come from the product's pure-Python table schema (importing it starts no jsii).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from cache_constructs.product.table_schema import ITEM_PK_PREFIX, ITEM_SK, PARTITION_KEY, SORT_KEY

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def product_pk(product_id: str) -> str:
    return f"{ITEM_PK_PREFIX}{product_id}"


def item_key(product_id: str) -> dict[str, Any]:
    """The table key in DynamoDB wire form."""
    return {PARTITION_KEY: {"S": product_pk(product_id)}, SORT_KEY: {"S": ITEM_SK}}


def product(product_id: str, version: int, category: str = "bench") -> dict[str, Any]:
    """A product of realistic size (about 400 bytes of JSON)."""
    return {
        "productId": product_id,
        "name": f"Benchmark product {product_id}",
        "category": category,
        "price": 19.99,
        "description": "A product used by the benchmarks. " * 6,
        "featured": False,
        "version": version,
        "updatedAt": "2026-01-01T00:00:00Z",
    }


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Product dict -> DynamoDB wire item."""
    plain = json.loads(json.dumps(values), parse_float=Decimal)
    item = {"PK": product_pk(values["productId"]), "SK": ITEM_SK, **plain}
    return {k: _serializer.serialize(v) for k, v in item.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB wire item -> product dict (numbers back to int/float, keys dropped)."""
    values = {k: _deserializer.deserialize(v) for k, v in item.items() if k not in ("PK", "SK")}
    return dict(json.loads(json.dumps(values, default=_number)))


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
