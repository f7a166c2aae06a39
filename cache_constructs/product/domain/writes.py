"""The write operations: conditional DynamoDB writes, then the cache, in that order.

A write first commits to DynamoDB (the source of truth) under a version condition; only
then does it touch the cache: write-through of the new representation and a bump of the
list generations of the old and new category (a DELETE invalidates instead). A cache
failure is logged and counted (`CacheWriteFailure`) and never fails a committed write; the
DynamoDB Stream invalidation repairs the cache behind it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cache_constructs.product.domain.errors import Conflict, NotFound, PreconditionFailed
from cache_constructs.product.domain.preconditions import EntityTags, check_if_match
from cache_constructs.product.domain.repository import ConditionFailed, Item, ProductRepository
from cache_constructs.product.domain.representation import (
    etag_of,
    item_from_product,
    product_from_item,
    product_key,
    render_product,
)
from cache_constructs.product.domain.validation import ProductInput
from cache_constructs.runtime.codec import Rendered
from cache_constructs.runtime.telemetry import CACHE_WRITE_FAILURE, count, logger


@dataclass(frozen=True)
class WriteOutcome:
    """A committed write: the new representation exactly as readers will get it."""

    product_id: str
    version: int
    body: bytes
    etag: str
    created: bool


@dataclass(frozen=True)
class _Current:
    version: int
    etag: str
    category: str


def utc_now_iso() -> str:
    """ISO-8601 UTC with a `Z`, millisecond precision: `2026-11-24T02:10:00.123Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _product(data: ProductInput, product_id: str, version: int, updated_at: str) -> dict[str, Any]:
    product: dict[str, Any] = {
        "productId": product_id,
        "name": data.name,
        "category": data.category,
        "price": data.price,
        "version": version,
        "updatedAt": updated_at,
    }
    if data.description is not None:
        product["description"] = data.description
    if data.featured is not None:
        product["featured"] = data.featured
    return product


class ProductWrites:
    """POST / PUT / DELETE semantics of the product API over a `CacheRuntime`."""

    def __init__(
        self,
        runtime: Any,
        *,
        clock: Callable[[], str] = utc_now_iso,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._runtime = runtime
        self._clock = clock
        self._new_id = new_id
        self._repository = ProductRepository(
            writer=runtime.write_client(),
            reader=runtime.dynamodb(),
            table_name=runtime.config.table_name,
        )

    def create(self, data: ProductInput) -> WriteOutcome:
        """POST: a new product at version 1; 409 when the id exists."""
        product_id = data.product_id or self._new_id()
        if data.expected_version not in (None, 0):
            raise PreconditionFailed(
                f"version {data.expected_version} does not match: a new product has no version"
            )
        item = item_from_product(_product(data, product_id, 1, self._clock()))
        try:
            self._repository.create(item)
        except ConditionFailed:
            raise Conflict(f"product {product_id} already exists (use PUT to replace it)") from None
        return self._after_put(item, created=True, categories={data.category})

    def replace(
        self,
        product_id: str,
        data: ProductInput,
        *,
        if_match: EntityTags | None,
        if_none_match: EntityTags | None,
    ) -> WriteOutcome:
        """PUT: create (version 1) or replace (version + 1) under the version just read."""
        current = self._current(product_id)
        check_if_match(if_match, current.etag if current else None)
        if if_none_match is not None and current and if_none_match.weak_match(current.etag):
            raise PreconditionFailed("If-None-Match matches the current product")
        current_version = current.version if current else 0
        if data.expected_version is not None and data.expected_version != current_version:
            raise PreconditionFailed(
                f"version {data.expected_version} does not match the current version "
                f"{current_version}"
            )
        item = item_from_product(_product(data, product_id, current_version + 1, self._clock()))
        try:
            if current is None:
                self._repository.create(item)
            else:
                self._repository.replace(item, current.version)
        except ConditionFailed:
            raise PreconditionFailed(
                f"product {product_id} changed while this write was in flight; read it again"
            ) from None
        categories = {data.category} | ({current.category} if current else set())
        return self._after_put(item, created=current is None, categories=categories)

    def delete(self, product_id: str, *, if_match: EntityTags | None) -> None:
        """DELETE: 404 when absent, 412 when If-Match or a concurrent write disagrees."""
        current = self._current(product_id)
        if current is None:
            raise NotFound(f"product {product_id} does not exist")
        check_if_match(if_match, current.etag)
        try:
            self._repository.delete(product_key(product_id), current.version)
        except ConditionFailed:
            if self._current(product_id) is None:
                raise NotFound(f"product {product_id} does not exist") from None
            raise PreconditionFailed(
                f"product {product_id} changed while this delete was in flight; read it again"
            ) from None
        self._cache_step(
            "invalidate", lambda: self._runtime.items.invalidate(product_id, current.version)
        )
        self._bump({current.category})

    def _current(self, product_id: str) -> _Current | None:
        item = self._repository.current(product_key(product_id))
        if item is None:
            return None
        product = product_from_item(item)
        return _Current(
            version=int(product["version"]),
            etag=etag_of(render_product(product)),
            category=str(product["category"]),
        )

    def _after_put(self, item: Item, *, created: bool, categories: set[str]) -> WriteOutcome:
        # Render from the item as stored, exactly as an origin read will: same bytes, same ETag.
        product = product_from_item(item)
        body = render_product(product)
        outcome = WriteOutcome(
            product_id=str(product["productId"]),
            version=int(product["version"]),
            body=body,
            etag=etag_of(body),
            created=created,
        )
        self._cache_step(
            "write-through",
            lambda: self._runtime.items.write_through(
                outcome.product_id, Rendered(body, outcome.etag, outcome.version)
            ),
        )
        self._bump(categories)
        return outcome

    def _bump(self, categories: Iterable[str]) -> None:
        self._cache_step("list bump", lambda: self._runtime.lists.bump(set(categories)))

    @staticmethod
    def _cache_step(what: str, step: Callable[[], object]) -> None:
        """Run a post-commit cache step; a failure is logged and counted, never raised."""
        # write_through and bump already swallow, log and count cache outages; this catch is
        # for anything else, because the write has committed and must be answered as such.
        try:
            step()
        except Exception:
            logger.exception(f"cache {what} failed after a committed write")
            count(CACHE_WRITE_FAILURE)
