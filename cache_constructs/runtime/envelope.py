"""The L2 value format: ``<version>|<fresh_until_ms>|<etag>\\n<response body bytes>``.

Decoding is one ``partition`` and one ``split`` of a short header; the body is never parsed,
so an L2 hit costs a GET plus this split. A not-found entry has version -1, an empty etag
and an empty body. The Lua scripts read the version from the first bytes (GETRANGE).
"""

from __future__ import annotations

from typing import NamedTuple

from .codec import Rendered

NOT_FOUND_VERSION = -1


class Stored(NamedTuple):
    """A decoded L2 value: the cached read (None: a cached "not found") and its freshness."""

    value: Rendered | None
    fresh_until_ms: int

    @property
    def version(self) -> int:
        """The version the Lua rules compare (-1 for not found)."""
        return NOT_FOUND_VERSION if self.value is None else self.value.version


def encode(value: Rendered | None, fresh_until_ms: int) -> bytes:
    """The stored bytes of `value` (None: not found); the etag must hold no ``|`` or newline."""
    if value is None:
        return b"%d|%d|\n" % (NOT_FOUND_VERSION, fresh_until_ms)
    return b"%d|%d|%s\n%s" % (value.version, fresh_until_ms, value.etag.encode(), value.body)


def decode(raw: bytes) -> Stored:
    """Split stored bytes into header fields and body; ValueError if malformed."""
    head, sep, body = raw.partition(b"\n")
    if not sep:
        raise ValueError("envelope without a header line")
    version, fresh_until, etag = head.split(b"|", 2)
    number = int(version)
    if number < 0:
        return Stored(None, int(fresh_until))
    return Stored(Rendered(body, etag.decode(), number), int(fresh_until))


def decode_or_none(raw: bytes | None) -> Stored | None:
    """`decode`, with a missing or unreadable value (e.g. written by a foreign client) as None:
    the caches then treat it as a miss and overwrite it, instead of failing the request."""
    if raw is None:
        return None
    try:
        return decode(raw)
    except ValueError:
        return None
