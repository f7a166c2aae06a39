"""Canonical bodies, ETags and DynamoDB attribute-value conversion."""

from __future__ import annotations

import hashlib
import json

import pytest

from cache_constructs.product.domain.representation import (
    etag_of,
    item_from_product,
    product_from_item,
    product_key,
    render_list,
    render_product,
)

PRODUCT = {
    "productId": "abc",
    "name": "Pen ✓",
    "category": "office",
    "price": 2.5,
    "featured": True,
    "version": 3,
    "updatedAt": "2026-11-24T02:00:00Z",
}


def test_render_is_compact_sorted_and_public_only():
    body = render_product({**PRODUCT, "PK": "PRODUCT#abc", "SK": "METADATA", "expiresAt": 9})
    assert (
        body
        == json.dumps(PRODUCT, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert b"PK" not in body and b"expiresAt" not in body
    assert render_product(dict(reversed(PRODUCT.items()))) == body


def test_render_list():
    body = render_list([PRODUCT], "tok")
    assert json.loads(body) == {"items": [PRODUCT], "nextCursor": "tok"}
    assert json.loads(render_list([], None)) == {"items": [], "nextCursor": None}


def test_etag():
    body = b'{"a":1}'
    assert etag_of(body) == '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    assert len(etag_of(body)) == 34


def test_item_round_trip():
    item = item_from_product(PRODUCT)
    assert item["PK"] == {"S": "PRODUCT#abc"} and item["SK"] == {"S": "METADATA"}
    assert item["price"] == {"N": "2.5"}
    assert item["version"] == {"N": "3"}
    assert item["featured"] == {"BOOL": True}
    assert product_from_item(item) == PRODUCT
    assert isinstance(product_from_item(item)["version"], int)


def test_item_types():
    item = {
        "m": {"M": {"x": {"N": "1"}}},
        "l": {"L": [{"S": "a"}, {"NULL": True}]},
        "n": {"N": "1E+2"},
        "ss": {"SS": ["b", "a"]},
    }
    assert product_from_item(item) == {
        "m": {"x": 1},
        "l": ["a", None],
        "n": 100.0,
        "ss": ["a", "b"],
    }
    with pytest.raises(ValueError, match="finite"):
        item_from_product({"productId": "x", "price": float("nan")})


def test_product_key():
    assert product_key("x") == {"PK": {"S": "PRODUCT#x"}, "SK": {"S": "METADATA"}}
