"""The product table as the cache runtime sees it (`TableCodec`): keys, responses, cursors.

Items are addressed by product id and collections are categories on the `category-index`
GSI. A list cursor is an opaque base64url token of the last product id of a page; the codec
rebuilds the GSI's ExclusiveStartKey from it and refuses any token it could not have issued.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from cache_constructs.product import table_schema
from cache_constructs.product.domain.representation import (
    etag_of,
    product_from_item,
    product_key,
    render_list,
    render_product,
)
from cache_constructs.product.routes import PRODUCT_ID_PATTERN
from cache_constructs.runtime.codec import Item, Rendered
from cache_constructs.runtime.errors import InvalidCursor

_PRODUCT_ID = re.compile(PRODUCT_ID_PATTERN)
LIST_VERSION = 0
"""Pages carry no version of their own: the category's generation fences them."""


def encode_cursor(last_evaluated_key: Item | None) -> str | None:
    """An opaque base64url cursor for the GSI position after `last_evaluated_key`."""
    if not last_evaluated_key:
        return None
    product_id = last_evaluated_key[table_schema.CATEGORY_INDEX_SORT_KEY]["S"]
    raw = json.dumps({"p": product_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, category: str) -> Item:
    """The ExclusiveStartKey a cursor stands for; InvalidCursor (naming `cursor`) otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidCursor("cursor is not a valid page token") from None
    product_id = data.get("p") if isinstance(data, dict) else None
    if not isinstance(product_id, str) or not _PRODUCT_ID.match(product_id):
        raise InvalidCursor("cursor is not a valid page token")
    return {
        **product_key(product_id),
        table_schema.CATEGORY_INDEX_PARTITION_KEY: {"S": category},
        table_schema.CATEGORY_INDEX_SORT_KEY: {"S": product_id},
    }


class ProductCodec:
    """`cache_constructs.runtime.codec.TableCodec` of the product table."""

    index_name = table_schema.CATEGORY_INDEX_NAME
    index_partition_key = table_schema.CATEGORY_INDEX_PARTITION_KEY

    def item_key(self, item_id: str) -> Item:
        return product_key(item_id)

    def version_of(self, item: Item) -> int:
        raw: Any = item.get(table_schema.VERSION_ATTRIBUTE, {}).get("N")
        return int(raw) if raw is not None else 0

    def render_item(self, item: Item) -> Rendered:
        body = render_product(product_from_item(item))
        return Rendered(body, etag_of(body), self.version_of(item))

    def render_page(self, items: list[Item], last_key: Item | None) -> Rendered:
        body = render_list([product_from_item(item) for item in items], encode_cursor(last_key))
        return Rendered(body, etag_of(body), LIST_VERSION)

    def page_start_key(self, collection: str, cursor: str) -> Item:
        return decode_cursor(cursor, collection)


PRODUCT_CODEC = ProductCodec()
"""The one codec instance every product function uses."""
