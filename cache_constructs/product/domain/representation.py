"""Products as DynamoDB items and as response bytes (pure Python: no boto3).

The response body is rendered once (canonical compact JSON, sorted keys, public fields only),
and those exact bytes are what L1 and L2 store, so a cache hit never re-encodes anything and
the ETag is stable across layers and functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from cache_constructs.product import table_schema

PUBLIC_FIELDS: tuple[str, ...] = (  # never `writeToken`: it identifies a request, not data
    "productId",
    "name",
    "category",
    "price",
    "description",
    "featured",
    "version",
    "updatedAt",
)
"""Product attributes that appear in responses (PK/SK/expiresAt/writeToken never do)."""
_KEY_ATTRIBUTES = (table_schema.PARTITION_KEY, table_schema.SORT_KEY)


def _public(product: Mapping[str, Any]) -> dict[str, Any]:
    return {k: product[k] for k in PUBLIC_FIELDS if k in product and product[k] is not None}


def _dumps(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def render_product(product: Mapping[str, Any]) -> bytes:
    """Canonical response bytes of one product (compact JSON, sorted keys, public fields)."""
    return _dumps(_public(product))


def render_list(items: list[Mapping[str, Any]], next_cursor: str | None) -> bytes:
    """Response bytes of a list page: ``{"items": [...], "nextCursor": str | null}``."""
    return _dumps({"items": [_public(item) for item in items], "nextCursor": next_cursor})


def etag_of(body: bytes) -> str:
    """Strong ETag of a body: ``"`` + the first 32 hex digits of its sha256 + ``"``."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _number(text: str) -> int | float:
    # DynamoDB keeps numbers as decimal strings: "3" stays an int, "3.5"/"1E+2" become floats.
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


def _from_av(av: Mapping[str, Any]) -> Any:
    # One attribute-value: {"S": "x"}, {"N": "1"}, {"BOOL": true}, {"M": {...}}, ...
    ((kind, value),) = av.items()
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _from_av(v) for k, v in value.items()}
    if kind == "L":
        return [_from_av(v) for v in value]
    if kind == "SS":
        return sorted(value)
    if kind == "NS":
        return sorted(_number(v) for v in value)
    raise ValueError(f"unsupported DynamoDB attribute type {kind!r}")


def _to_av(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("numbers must be finite")
        return {"N": repr(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): _to_av(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_to_av(v) for v in value]}
    raise ValueError(f"cannot store a {type(value).__name__} in DynamoDB")


def product_from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB attribute-value item -> a plain product (numbers as int/float, no PK/SK)."""
    return {k: _from_av(v) for k, v in item.items() if k not in _KEY_ATTRIBUTES}


def product_key(product_id: str) -> dict[str, Any]:
    """The table key of a product: ``{"PK": {"S": "PRODUCT#id"}, "SK": {"S": "METADATA"}}``."""
    return {
        table_schema.PARTITION_KEY: {"S": table_schema.ITEM_PK_PREFIX + product_id},
        table_schema.SORT_KEY: {"S": table_schema.ITEM_SK},
    }


def marker_key(product_id: str) -> dict[str, Any]:
    """The table key of a product's deletion marker: same partition, SK ``DELETED``."""
    return {
        table_schema.PARTITION_KEY: {"S": table_schema.ITEM_PK_PREFIX + product_id},
        table_schema.SORT_KEY: {"S": table_schema.DELETION_MARKER_SK},
    }


def item_from_product(product: Mapping[str, Any]) -> dict[str, Any]:
    """A plain product -> an attribute-value item with PK/SK (None values are left out)."""
    item = product_key(str(product["productId"]))
    for key, value in product.items():
        if key in _KEY_ATTRIBUTES or value is None:
            continue
        item[key] = _to_av(value)
    return item
