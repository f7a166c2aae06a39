"""DynamoDB Streams facts the invalidation path relies on (pure Python)."""

from __future__ import annotations

STREAM_EVENT_NAMES: tuple[str, ...] = ("INSERT", "MODIFY", "REMOVE")
"""The data-change events that reach the invalidation function (StreamInvalidator filters)."""
