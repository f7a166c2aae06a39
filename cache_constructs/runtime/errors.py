"""Exceptions the cache runtime raises to its callers (handlers)."""

from __future__ import annotations


class CacheUnavailable(Exception):
    """The L2 cache could not be reached (or its breaker is open).

    Raised only where the caller must know (stream invalidation, which reports the record as
    failed so it is retried); the read and write-through paths swallow it and degrade.
    """


class InvalidCursor(ValueError):
    """A list cursor that this service did not issue (the handler answers 400 naming `cursor`)."""
