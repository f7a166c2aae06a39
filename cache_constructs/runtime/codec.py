"""What the generic caches need to know about one table: the `TableCodec` its owner supplies.

The runtime caches items by id and pages of a collection (a secondary index partition). It
never looks inside an item: the codec turns a table item into the exact response bytes, ETag
and version that every layer stores, and a page of items into the list response, so the
product reference (`cache_constructs.product.domain.codec`) owns its data shape.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

Item = dict[str, Any]
"""A table item in DynamoDB's low-level attribute-value form."""


class Rendered(NamedTuple):
    """An item as every cache layer stores it: response bytes, their strong ETag, version."""

    body: bytes
    etag: str
    version: int


class TableCodec(Protocol):
    """How the caches address and render the items of one table."""

    index_name: str
    """The secondary index that serves collection pages."""
    index_partition_key: str
    """The index's partition key attribute: a collection is one value of it."""

    def item_key(self, item_id: str) -> Item:
        """The table key of item `item_id` (attribute-value form)."""
        ...

    def version_of(self, item: Item) -> int:
        """The item's version number (0 when it has none)."""
        ...

    def render_item(self, item: Item) -> Rendered:
        """The item's response bytes, ETag and version."""
        ...

    def render_page(self, items: list[Item], last_key: Item | None) -> Rendered:
        """A collection page's response (version 0) from the index's items and its
        LastEvaluatedKey (None on the last page)."""
        ...

    def page_start_key(self, collection: str, cursor: str) -> Item:
        """The ExclusiveStartKey a cursor of `collection` stands for; raises
        `cache_constructs.runtime.errors.InvalidCursor` for one the codec did not issue."""
        ...
