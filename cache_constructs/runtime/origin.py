"""The origin: DynamoDB, with DAX in front of item reads when configured.

An answer that may be stale (DAX, an eventually consistent read) is served only when the
item's L2 fence vouches for its version (`Fence`); everything else is a strongly consistent
DynamoDB read. boto3 and amazondax are imported on first use (the miss path), never on the
L2-hit path.
DAX failures fall back to DynamoDB (counted as `DaxFallback`) behind a breaker, so a dead
DAX cluster costs one timeout per cooldown, not one per request. Lists query the GSI on
DynamoDB directly: DAX's query cache is not invalidated by writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from . import telemetry
from .breaker import CircuitBreaker
from .codec import Item, TableCodec

ANSWER_CODES = frozenset(
    {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
        "ValidationException",
        "ItemCollectionSizeLimitExceededException",
        "ResourceNotFoundException",
    }
)
"""Error codes that answer the request itself: DynamoDB would say the same, so they are
raised as they are. Any other DAX failure (NoRouteException, ConnectionException,
throttling, internal errors, ...) falls back to DynamoDB."""


def _is_service_answer(exc: BaseException) -> bool:
    # amazondax raises DaxClientError/DaxServiceError, both botocore ClientErrors, for
    # transport failures too (e.g. NoRouteException): the error code tells them apart.
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    return exc.response.get("Error", {}).get("Code") in ANSWER_CODES


def _default_dynamodb(region: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        region_name=region,
        config=Config(
            connect_timeout=1,
            read_timeout=2,
            retries={"mode": "standard", "max_attempts": 3},
        ),
    )


def _default_dax(endpoint: str, region: str) -> Any:
    from amazondax import AmazonDaxClient
    from botocore.config import Config

    # Short timeouts and one retry: a slow DAX should fall back to DynamoDB, not hold the
    # request (the breaker then skips DAX for a while).
    return AmazonDaxClient(
        endpoints=[endpoint],
        region_name=region,
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )


class Fence(NamedTuple):
    """What an item's anchored L2 fence knows: versions <= `stale_through` are stale, and
    `committed` was committed (so nothing older is current)."""

    stale_through: int
    committed: int

    def vouches_for(self, version: int) -> bool:
        """True when an answer of `version` from a possibly stale source may be served."""
        return version > self.stale_through and version >= self.committed


class OriginAnswer(NamedTuple):
    """An origin read: the item (None: not found) and whether it was strongly consistent."""

    item: Item | None
    consistent: bool


class _Lazy:
    """A client built once, on first use, under a lock."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._value: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


class DaxFallbackClient:
    """A low-level client that sends calls to DAX and, when DAX is unreachable, to DynamoDB.

    Answers to the request itself (`ANSWER_CODES`, e.g. ConditionalCheckFailedException) are
    raised as they are; every other DAX failure falls back.
    """

    def __init__(self, origin: Origin) -> None:
        self._origin = origin

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(**kwargs: Any) -> Any:
            return self._origin.call_with_fallback(operation, kwargs)

        return call


class Origin:
    """Reads (and the write client) of one table, addressed and rendered by its codec."""

    def __init__(
        self,
        *,
        table_name: str,
        region: str,
        codec: TableCodec,
        dynamodb_client: Any = None,
        dax_client: Any = None,
        dax_endpoint: str | None = None,
        dax_breaker: CircuitBreaker | None = None,
        use_dax_for_reads: bool = True,
    ) -> None:
        self.table_name = table_name
        self.region = region
        self.codec = codec
        self._dynamodb = _Lazy(
            (lambda: dynamodb_client)
            if dynamodb_client is not None
            else (lambda: _default_dynamodb(region))
        )
        self.dax_configured = dax_client is not None or bool(dax_endpoint)
        self._dax: _Lazy | None = None
        if dax_client is not None:
            self._dax = _Lazy(lambda: dax_client)
        elif dax_endpoint:
            endpoint = dax_endpoint
            self._dax = _Lazy(lambda: _default_dax(endpoint, region))
        self.dax_breaker = dax_breaker or CircuitBreaker("dax", cooldown_seconds=10.0)
        self.use_dax_for_reads = use_dax_for_reads and self.dax_configured
        self.latency_ewma_ms = 10.0
        """Smoothed origin read latency: the recompute cost in XFetch early refresh."""

    # --- clients ----------------------------------------------------------------------------

    def dynamodb(self) -> Any:
        """The low-level boto3 DynamoDB client (built on first use)."""
        return self._dynamodb.get()

    def write_client(self) -> Any:
        """DAX (its item cache then follows writes) with DynamoDB fallback; else DynamoDB."""
        if self._dax is None:
            return self.dynamodb()
        return DaxFallbackClient(self)

    def call_with_fallback(self, operation: str, kwargs: dict[str, Any]) -> Any:
        """Run `operation` on DAX; on a DAX transport failure (or open breaker) on DynamoDB."""
        if self._dax is not None and self.dax_breaker.allow():
            try:
                result = getattr(self._dax.get(), operation)(**kwargs)
            except Exception as exc:
                if _is_service_answer(exc):
                    self.dax_breaker.record_success()
                    raise
                self.dax_breaker.record_failure()
                telemetry.logger.warning(
                    "DAX call failed; using DynamoDB",
                    extra={"operation": operation, "error": repr(exc)},
                )
            else:
                self.dax_breaker.record_success()
                return result
        if self._dax is not None:
            telemetry.count(telemetry.DAX_FALLBACK)
        return getattr(self.dynamodb(), operation)(**kwargs)

    # --- reads ------------------------------------------------------------------------------

    def _timed(self, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            with telemetry.traced("## origin read"):
                return call()
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            self.latency_ewma_ms += 0.2 * (elapsed_ms - self.latency_ewma_ms)
            telemetry.count(telemetry.ORIGIN_READ)
            telemetry.latency(telemetry.ORIGIN_LATENCY, elapsed_ms)

    def get_item(self, item_id: str, *, fence: Fence | None = None) -> OriginAnswer:
        """The item's attribute-value form (or None), and whether a strongly consistent read
        produced it.

        DAX (when the policy uses it) and an eventually consistent DynamoDB read may answer
        with an old copy: such an answer is trusted only when an anchored `fence` vouches for
        it (a version above `fence.stale_through` and at least `fence.committed`); a
        not-found from them is never trusted. Everything else (no fence: a cold, expired or
        evicted one, or L2 bypassed) is a strongly consistent DynamoDB read, which DAX would
        only pass through.
        """
        request = {"TableName": self.table_name, "Key": self.codec.item_key(item_id)}
        if fence is not None:
            if self.use_dax_for_reads:
                response = self._timed(lambda: self.call_with_fallback("get_item", request))
            else:
                response = self._timed(lambda: self.dynamodb().get_item(**request))
            item = response.get("Item")
            if item is not None and fence.vouches_for(self.codec.version_of(item)):
                return OriginAnswer(item, consistent=False)
        consistent = {**request, "ConsistentRead": True}
        response = self._timed(lambda: self.dynamodb().get_item(**consistent))
        return OriginAnswer(response.get("Item"), consistent=True)

    def query_collection(
        self, collection: str, limit: int, exclusive_start_key: Item | None
    ) -> tuple[list[Item], Item | None]:
        """One page of a collection on the codec's index (DynamoDB, never DAX): items and the
        LastEvaluatedKey."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": self.codec.index_name,
            "KeyConditionExpression": "#c = :c",
            "ExpressionAttributeNames": {"#c": self.codec.index_partition_key},
            "ExpressionAttributeValues": {":c": {"S": collection}},
            "Limit": limit,
        }
        if exclusive_start_key:
            request["ExclusiveStartKey"] = exclusive_start_key
        response = self._timed(lambda: self.dynamodb().query(**request))
        return list(response.get("Items", [])), response.get("LastEvaluatedKey")
