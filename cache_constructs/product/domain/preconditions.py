"""Request headers and entity-tag preconditions (If-Match, If-None-Match, body `version`).

The checks compare a precondition with the state the write just read (strongly consistent),
and the write is then conditioned on exactly that state: the version it read, or the item's
absence and its deletion marker's version. Versions never repeat for an id, so "still at
version v" means "still the representation whose ETag was compared": a precondition that held
at the read holds at the write, or the write fails (412) instead of landing on something else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cache_constructs.product.domain.errors import BadRequest, PreconditionFailed

# One entity tag in a list (RFC 9110 section 8.8.3), followed by a comma or the end.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class EntityTags:
    """A parsed If-Match / If-None-Match value: `*`, or a list of (weak, opaque-tag)."""

    any: bool
    tags: tuple[tuple[bool, str], ...] = ()

    def weak_match(self, etag: str) -> bool:
        """If-None-Match comparison: `W/"x"` matches `"x"`."""
        return self.any or any(opaque == _opaque(etag) for _, opaque in self.tags)

    def strong_match(self, etag: str) -> bool:
        """If-Match comparison: a weak tag never matches."""
        return self.any or any(not weak and opaque == _opaque(etag) for weak, opaque in self.tags)


def _opaque(etag: str) -> str:
    return etag.removeprefix("W/").strip('"')


def header(
    headers: Mapping[str, Any], multi_value_headers: Mapping[str, Any], name: str
) -> str | None:
    """One request header (case-insensitive maps), repeated lines joined as an HTTP list."""
    values = multi_value_headers.get(name) if multi_value_headers else None
    if values:
        return ", ".join(str(value) for value in values)
    value = headers.get(name) if headers else None
    return None if value is None else str(value)


def parse_entity_tags(value: str | None, field: str) -> EntityTags | None:
    """Parse an If-Match / If-None-Match header; None when absent; 400 naming it if malformed."""
    if value is None:
        return None
    if value.strip() == "*":
        return EntityTags(any=True)
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(value) and value[position:].strip():
        match = _ENTITY_TAG.match(value, position)
        if match is None:
            raise BadRequest(f'{field} must be * or a list of quoted entity tags ("...")')
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    if not tags:
        raise BadRequest(f'{field} must be * or a list of quoted entity tags ("...")')
    return EntityTags(any=False, tags=tuple(tags))


def check_if_match(if_match: EntityTags | None, current_etag: str | None) -> None:
    """412 unless If-Match is absent or strongly matches the current item (None = absent)."""
    if if_match is None:
        return
    if current_etag is None or not if_match.strong_match(current_etag):
        raise PreconditionFailed("If-Match does not match the current product")


def check_if_none_match(if_none_match: EntityTags | None, current_etag: str | None) -> None:
    """412 when If-None-Match (weak comparison, or `*`) matches an existing current item."""
    if if_none_match is None or current_etag is None:
        return
    if if_none_match.weak_match(current_etag):
        raise PreconditionFailed("If-None-Match matches the current product")


def check_expected_version(expected: int | None, current_version: int) -> None:
    """412 when the body's `version` is given and is not the current one (0 = absent)."""
    if expected is not None and expected != current_version:
        raise PreconditionFailed(
            f"version {expected} does not match the current version {current_version}"
        )
