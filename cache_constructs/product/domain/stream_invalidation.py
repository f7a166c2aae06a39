"""Apply one product stream change: the caches, and for a TTL expiry the deletion marker.

The cache steps run inside `redis_retries`: stream invalidation never skips Redis because a
breaker is open. Each Redis call is retried with backoff and jitter for as long as the
invocation can afford (its remaining time minus `INVALIDATION_RETRY_MARGIN_SECONDS`), and a
record is reported failed only when Redis refused for all that time; the event source
mapping's retries (`cache_constructs.contract.stream`) then cover a longer outage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cache_constructs.contract.stream import (
    INVALIDATION_FUNCTION_TIMEOUT_SECONDS,
    INVALIDATION_RETRY_MARGIN_SECONDS,
)
from cache_constructs.product.domain.repository import ProductRepository
from cache_constructs.product.domain.stream_records import ProductChange


def retry_window_seconds(context: Any) -> float:
    """How long this invocation may retry Redis: its remaining time minus the margin (a
    caller without a Lambda context gets the deployed function's whole window)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining() / 1000.0 if remaining else float(INVALIDATION_FUNCTION_TIMEOUT_SECONDS)
    return max(0.0, seconds - INVALIDATION_RETRY_MARGIN_SECONDS)


@contextmanager
def redis_retries(runtime: Any, context: Any) -> Iterator[None]:
    """Within the block, L2 calls retry (breaker ignored) until the invocation's window ends."""
    if runtime.l2 is None:
        yield
        return
    with runtime.l2.retrying(retry_window_seconds(context)):
        yield


class StreamInvalidation:
    """The invalidation one `ProductChange` calls for, over a `CacheRuntime`."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    def apply(self, change: ProductChange) -> None:
        """Raise (failing this record only) when a step cannot be applied."""
        if change.ttl_expiry:
            # First: the marker closes the window in which a re-create could reuse a version.
            self._repository().record_expiry(change.product_id, change.stale_through)
        self._runtime.items.invalidate(change.product_id, change.stale_through)
        self._runtime.lists.bump_or_raise(set(change.categories))

    def _repository(self) -> ProductRepository:
        # DynamoDB directly (the marker is read strongly consistent, never through DAX).
        client = self._runtime.dynamodb()
        return ProductRepository(
            writer=client, reader=client, table_name=self._runtime.config.table_name
        )
