"""The write operations: conditional DynamoDB writes, then the cache, in that order.

A write first commits to DynamoDB (the source of truth) under a condition on the state it
read; only then does it touch the cache: write-through of the new representation and a bump
of the list generations of the old and new category (a DELETE invalidates instead). A cache
failure is logged and counted (`CacheWriteFailure`) and never fails a committed write; the
DynamoDB Stream invalidation repairs the cache behind it.

Versions never repeat for an id (see `repository`): a create continues above the deletion
marker, so an ETag or a body `version` from before a delete can never match a re-created
product.

Every request stores a random write token with what it writes (never in a response). When a
write fails in a way that leaves its outcome unknown (a timeout or a lost connection, or a
retry of it, e.g. the DAX fallback's retry on DynamoDB, that then fails its own condition), a
strongly consistent read tells whether this request's write committed: if so, it is answered
as committed and the cache steps run.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cache_constructs.product import table_schema
from cache_constructs.product.domain.errors import (
    ApiError,
    Conflict,
    NotFound,
    PreconditionFailed,
)
from cache_constructs.product.domain.preconditions import (
    EntityTags,
    check_expected_version,
    check_if_match,
    check_if_none_match,
)
from cache_constructs.product.domain.repository import (
    ConditionFailed,
    Item,
    ProductRepository,
    marker_version,
    written_by,
)
from cache_constructs.product.domain.representation import (
    etag_of,
    item_from_product,
    product_from_item,
    render_product,
)
from cache_constructs.product.domain.validation import ProductInput
from cache_constructs.runtime.codec import Rendered
from cache_constructs.runtime.telemetry import CACHE_WRITE_FAILURE, count, logger

CREATE_ATTEMPTS = 3
"""A create whose transaction failed only because the deletion marker moved (a concurrent
delete) reads again and retries, this many times in all: the request's own preconditions
still hold (the product is still absent), only the version to start at changed."""


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


@dataclass(frozen=True)
class _State:
    """What a write read: the current product (None: absent) and, when it is absent, the
    last version it had before it was deleted (0: never existed)."""

    current: _Current | None
    last_version: int


def utc_now_iso() -> str:
    """ISO-8601 UTC with a `Z`, millisecond precision: `2026-11-24T02:10:00.123Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_write_token() -> str:
    """A write token: 128 random bits, hex."""
    return secrets.token_hex(16)


def _changed_in_flight(product_id: str) -> str:
    return f"product {product_id} changed while this write was in flight; read it again"


class ProductWrites:
    """POST / PUT / DELETE semantics of the product API over a `CacheRuntime`."""

    def __init__(
        self,
        runtime: Any,
        *,
        clock: Callable[[], str] = utc_now_iso,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        new_token: Callable[[], str] = new_write_token,
    ) -> None:
        self._runtime = runtime
        self._clock = clock
        self._new_id = new_id
        self._new_token = new_token
        self._repository = ProductRepository(
            writer=runtime.write_client(),
            reader=runtime.dynamodb(),
            table_name=runtime.config.table_name,
        )

    # --- operations -------------------------------------------------------------------------

    def create(self, data: ProductInput) -> WriteOutcome:
        """POST: a new product above any version the id had before; 409 when it exists."""
        product_id = data.product_id or self._new_id()
        if data.expected_version not in (None, 0):
            raise PreconditionFailed(
                f"version {data.expected_version} does not match: a new product has no version"
            )
        token = self._new_token()
        exists = Conflict(f"product {product_id} already exists (use PUT to replace it)")
        for _ in range(CREATE_ATTEMPTS):
            state = self._state(product_id)
            if state.current is not None:
                raise exists
            outcome = self._try_create(product_id, data, token, state.last_version, lost=exists)
            if outcome is not None:
                return outcome
        raise Conflict(_changed_in_flight(product_id))

    def replace(
        self,
        product_id: str,
        data: ProductInput,
        *,
        if_match: EntityTags | None,
        if_none_match: EntityTags | None,
    ) -> WriteOutcome:
        """PUT: create, or replace (version + 1) conditioned on the version just read."""
        token = self._new_token()
        lost = PreconditionFailed(_changed_in_flight(product_id))
        for _ in range(CREATE_ATTEMPTS):
            state = self._state(product_id)
            current = state.current
            check_if_match(if_match, current.etag if current else None)
            check_if_none_match(if_none_match, current.etag if current else None)
            check_expected_version(data.expected_version, current.version if current else 0)
            if current is not None:
                return self._replace(product_id, data, token, current)
            outcome = self._try_create(product_id, data, token, state.last_version, lost=lost)
            if outcome is not None:
                return outcome
        raise lost

    def delete(self, product_id: str, *, if_match: EntityTags | None) -> None:
        """DELETE: 404 when absent, 412 when If-Match or a concurrent write disagrees."""
        current = self._state(product_id).current
        if current is None:
            raise NotFound(f"product {product_id} does not exist")
        check_if_match(if_match, current.etag)
        token = self._new_token()
        try:
            self._repository.delete(product_id, current.version, write_token=token)
        except Exception as error:
            if not written_by(self._repository.marker(product_id), token):
                if not isinstance(error, ConditionFailed):
                    raise
                if self._repository.item(product_id) is None:
                    raise NotFound(f"product {product_id} does not exist") from None
                raise PreconditionFailed(_changed_in_flight(product_id)) from None
            _log_committed_despite(error, product_id)
        self._cache_step(
            "invalidate", lambda: self._runtime.items.invalidate(product_id, current.version)
        )
        self._bump({current.category})

    # --- steps ------------------------------------------------------------------------------

    def _try_create(
        self, product_id: str, data: ProductInput, token: str, last_version: int, *, lost: ApiError
    ) -> WriteOutcome | None:
        """Create at `last_version` + 1. None when only the deletion marker moved (read again);
        `lost` when another write created the product first."""
        item = self._item(data, product_id, last_version + 1, token)
        try:
            self._repository.create(product_id, item, marker_version=last_version)
        except Exception as error:
            stored = self._repository.item(product_id)
            if written_by(stored, token):
                _log_committed_despite(error, product_id)
                assert stored is not None
                return self._after_put(stored, created=True, categories={data.category})
            if not isinstance(error, ConditionFailed):
                raise
            if stored is not None:
                raise lost from None
            return None
        return self._after_put(item, created=True, categories={data.category})

    def _replace(
        self, product_id: str, data: ProductInput, token: str, current: _Current
    ) -> WriteOutcome:
        item = self._item(data, product_id, current.version + 1, token)
        categories = {data.category, current.category}
        try:
            self._repository.replace(item, current.version)
        except Exception as error:
            stored = self._repository.item(product_id)
            if written_by(stored, token):
                _log_committed_despite(error, product_id)
                assert stored is not None
                return self._after_put(stored, created=False, categories=categories)
            if isinstance(error, ConditionFailed):
                raise PreconditionFailed(_changed_in_flight(product_id)) from None
            raise
        return self._after_put(item, created=False, categories=categories)

    def _state(self, product_id: str) -> _State:
        item = self._repository.item(product_id)
        if item is None:
            return _State(None, marker_version(self._repository.marker(product_id)))
        product = product_from_item(item)
        current = _Current(
            version=int(product["version"]),
            etag=etag_of(render_product(product)),
            category=str(product["category"]),
        )
        return _State(current, current.version)

    def _item(self, data: ProductInput, product_id: str, version: int, token: str) -> Item:
        product: dict[str, Any] = {
            "productId": product_id,
            "name": data.name,
            "category": data.category,
            "price": data.price,
            "version": version,
            "updatedAt": self._clock(),
            table_schema.WRITE_TOKEN_ATTRIBUTE: token,
        }
        if data.description is not None:
            product["description"] = data.description
        if data.featured is not None:
            product["featured"] = data.featured
        return item_from_product(product)

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
        # The list cache's own policy decides whether there is anything to bump.
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


def _log_committed_despite(error: Exception, product_id: str) -> None:
    logger.warning(
        "write committed although its call failed (reply lost or retried)",
        extra={"product_id": product_id, "error": repr(error)},
    )
