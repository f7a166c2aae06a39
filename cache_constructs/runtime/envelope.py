"""The L2 value format: ``<version>|<fresh_until_ms>|<etag>\\n<response body bytes>``.

Decoding is one ``partition`` and one ``split`` of a short header; the body is never parsed,
so an L2 hit costs a GET plus this split. A not-found entry has version -1, an empty etag
and an empty body.
"""

from __future__ import annotations

from typing import NamedTuple

NOT_FOUND_VERSION = -1


class Envelope(NamedTuple):
    """A decoded L2 value."""

    version: int
    fresh_until_ms: int
    etag: str
    body: bytes

    @property
    def not_found(self) -> bool:
        """True for a negative-cache entry."""
        return self.version < 0


def encode(version: int, fresh_until_ms: int, etag: str, body: bytes) -> bytes:
    """Build the stored bytes (etag must not contain ``|`` or a newline)."""
    return b"%d|%d|%s\n%s" % (version, fresh_until_ms, etag.encode(), body)


def encode_not_found(fresh_until_ms: int) -> bytes:
    """A negative-cache entry."""
    return b"%d|%d|\n" % (NOT_FOUND_VERSION, fresh_until_ms)


def decode(raw: bytes) -> Envelope:
    """Split stored bytes into header fields and body; ValueError if malformed."""
    head, sep, body = raw.partition(b"\n")
    if not sep:
        raise ValueError("envelope without a header line")
    version, fresh_until, etag = head.split(b"|", 2)
    return Envelope(int(version), int(fresh_until), etag.decode(), body)


def decode_or_none(raw: bytes | None) -> Envelope | None:
    """`decode`, with a missing or unreadable value (e.g. written by a foreign client) as None:
    the caches then treat it as a miss and overwrite it, instead of failing the request."""
    if raw is None:
        return None
    try:
        return decode(raw)
    except ValueError:
        return None
