"""The product table codec: cursors, rendered items and pages as the caches store them."""

from __future__ import annotations

import pytest

from cache_constructs.product.domain.codec import PRODUCT_CODEC, decode_cursor, encode_cursor
from cache_constructs.product.domain.representation import etag_of, item_from_product
from cache_constructs.runtime.errors import InvalidCursor


def test_cursor_round_trip():
    key = {"productId": {"S": "p9"}, "category": {"S": "c"}, "PK": {"S": "PRODUCT#p9"}}
    cursor = encode_cursor(key)
    assert cursor is not None and "=" not in cursor
    assert decode_cursor(cursor, "c") == {
        "PK": {"S": "PRODUCT#p9"},
        "SK": {"S": "METADATA"},
        "category": {"S": "c"},
        "productId": {"S": "p9"},
    }
    assert encode_cursor(None) is None


@pytest.mark.parametrize("cursor", ["!!", "eyJ4IjoxfQ", "eyJwIjoiYSBiIn0"])
def test_a_cursor_not_issued_here_is_refused_naming_cursor(cursor):
    with pytest.raises(InvalidCursor, match="cursor"):
        PRODUCT_CODEC.page_start_key("c", cursor)


def test_rendered_item_carries_its_etag_and_version():
    item = item_from_product(
        {"productId": "p1", "name": "n", "category": "c", "price": 1, "version": 7}
    )
    rendered = PRODUCT_CODEC.render_item(item)
    assert rendered.version == 7
    assert rendered.etag == etag_of(rendered.body)
    assert b'"productId":"p1"' in rendered.body


def test_rendered_page_lists_items_and_the_next_cursor():
    item = item_from_product(
        {"productId": "p1", "name": "n", "category": "c", "price": 1, "version": 1}
    )
    page = PRODUCT_CODEC.render_page([item], {"productId": {"S": "p1"}, "category": {"S": "c"}})
    assert page.body.startswith(b'{"items":[{')
    assert b'"nextCursor":"' in page.body
    assert page.etag == etag_of(page.body)
