"""DynamoDB Streams facts the invalidation path relies on (pure Python).

The retry settings below are one source for the deployed event source mapping
(`StreamInvalidator`'s defaults, the invalidation function's timeout in
`CachedProductService`) and for `make local`'s emulation of it (`local_stack.stream_poller`),
so the two cannot drift apart. docs/architecture.md ("Stream invalidation under a Redis
outage") has the arithmetic of what they cover.
"""

from __future__ import annotations

STREAM_EVENT_NAMES: tuple[str, ...] = ("INSERT", "MODIFY", "REMOVE")
"""The data-change events that reach the invalidation function (StreamInvalidator filters)."""

STREAM_BATCH_SIZE = 100
"""Records per invocation."""

INVALIDATION_FUNCTION_TIMEOUT_SECONDS = 60
"""The invalidation function's timeout: how long one invocation may retry Redis."""

INVALIDATION_RETRY_MARGIN_SECONDS = 5
"""Time kept back from the invocation's remaining time for the last Redis attempt (connect
and command timeouts), failing the rest of the batch fast and answering: the function
retries Redis for (remaining time - this margin), then reports the records failed."""

STREAM_RETRY_ATTEMPTS = 20
"""Retries of a failing record before it goes to the dead-letter queue. With the in-invocation
retries, a record is retried in 1 + 20 invocations of up to 60 - 5 = 55 s each: a Redis outage
of up to 21 x 55 s = 1,155 s (19 min) loses no invalidation."""

STREAM_MAX_RECORD_AGE_SECONDS = 3600
"""Records older than this go to the dead-letter queue unprocessed. Longer than the outage the
retries cover (19 min), so the retry count, not the age, decides when a record is given up."""
