"""L2 key names (docs/architecture.md, "L2 key layout").

Every key of one item carries the hash tag ``{p:<id>}`` and every key of one category the tag
``{c:<category>}``, so each Lua script touches a single cluster hash slot.
"""

from __future__ import annotations

from typing import NamedTuple


class ItemKeys(NamedTuple):
    """The three keys of one product, all in one hash slot."""

    value: str
    tombstone: str
    lease: str


def item_keys(product_id: str) -> ItemKeys:
    """``pc:{p:<id>}:v`` (envelope), ``:t`` (tombstone hash), ``:l`` (fill lease)."""
    tag = f"pc:{{p:{product_id}}}"
    return ItemKeys(f"{tag}:v", f"{tag}:t", f"{tag}:l")


def generation_key(category: str) -> str:
    """``pc:{c:<category>}:g``: the category's list generation counter."""
    return f"pc:{{c:{category}}}:g"


def page_key(category: str, generation: int, limit: int, cursor: str | None) -> str:
    """``pc:{c:<category>}:L:<gen>:<limit>:<cursor>`` (empty cursor = first page)."""
    return f"pc:{{c:{category}}}:L:{generation}:{limit}:{cursor or ''}"
