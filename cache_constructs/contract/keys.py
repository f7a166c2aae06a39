"""L2 key names (docs/architecture.md, "L2 key layout").

Every key of one item carries the hash tag ``{p:<id>}`` and every key of one category the tag
``{c:<category>}``, so each Lua script touches a single cluster hash slot.

A list generation also says when it was made: it is ``bumped_at_ms * 1024 + r`` (r random,
0..1023), or the previous generation + 1 when that is larger (two bumps in one millisecond).
So generations never repeat, not even after the counter is evicted (a new one starts at
the current time), and a page fill knows how long ago its generation began.
"""

from __future__ import annotations

from typing import NamedTuple

GENERATION_RANDOM_BITS = 10
"""Low bits of a generation drawn at random, so two writers bumping in one ms differ."""


class ItemKeys(NamedTuple):
    """The three keys of one product, all in one hash slot."""

    value: str
    fence: str
    lease: str


def item_keys(product_id: str) -> ItemKeys:
    """``pc:{p:<id>}:v`` (envelope), ``:t`` (fence hash), ``:l`` (fill lease)."""
    tag = f"pc:{{p:{product_id}}}"
    return ItemKeys(f"{tag}:v", f"{tag}:t", f"{tag}:l")


class PageKeys(NamedTuple):
    """The two keys of one cached list page (same hash slot as its generation counter)."""

    value: str
    lease: str


def generation_key(category: str) -> str:
    """``pc:{c:<category>}:g``: the category's list generation counter."""
    return f"pc:{{c:{category}}}:g"


def page_keys(category: str, generation: int, limit: int, cursor: str | None) -> PageKeys:
    """``pc:{c:<category>}:L:<gen>:<limit>:<cursor>`` (empty cursor = first page) and its
    fill lease ``pc:{c:<category>}:l:<gen>:<limit>:<cursor>``."""
    tail = f"{generation}:{limit}:{cursor or ''}"
    return PageKeys(f"pc:{{c:{category}}}:L:{tail}", f"pc:{{c:{category}}}:l:{tail}")


def generation_floor(now_ms: int, random_bits: int) -> int:
    """The smallest generation a bump (or a new counter) at `now_ms` may produce."""
    return (now_ms << GENERATION_RANDOM_BITS) | (random_bits & ((1 << GENERATION_RANDOM_BITS) - 1))


def bumped_at_ms(generation: int) -> int:
    """When `generation` began (ms since the epoch, the bumping client's clock)."""
    return generation >> GENERATION_RANDOM_BITS
