"""The product's push channels: one per product and one per category (AppSync Events).

One change is published to the product's channel (key `product:<id>`, its new version, or
null for a deletion) and to the channel of each category it touches (key `category:<name>`,
version null: a list has no single version). The generic parts (segments, message, publish
request) are `cache_constructs.contract.push`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from cache_constructs.contract.push import (
    NAMESPACE,
    PublishRequest,
    channel_segment,
    encode_event,
    invalidation_message,
)
from cache_constructs.product.routes import CATEGORY_PATTERN as _CATEGORY
from cache_constructs.product.routes import PRODUCT_ID_PATTERN as _PRODUCT_ID

PRODUCT_CHANNEL = "product"
CATEGORY_CHANNEL = "category"
PRODUCT_ID_PATTERN = re.compile(_PRODUCT_ID)
CATEGORY_PATTERN = re.compile(_CATEGORY)

# Stream event names whose change leaves a product in place (with a new version).
_UPSERT_EVENTS = frozenset({"INSERT", "MODIFY"})
_ALL_EVENTS = _UPSERT_EVENTS | {"REMOVE"}


def _checked(value: object, pattern: re.Pattern[str], field: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{field} must match {pattern.pattern}; got {value!r:.80}")
    return value


def product_key(product_id: str) -> str:
    """The cache key a product's invalidation names: `product:<id>`."""
    return f"product:{_checked(product_id, PRODUCT_ID_PATTERN, 'product_id')}"


def category_key(category: str) -> str:
    """The cache key a category's invalidation names: `category:<name>`."""
    return f"category:{_checked(category, CATEGORY_PATTERN, 'category')}"


def product_channel(product_id: str, *, namespace: str = NAMESPACE) -> str:
    """`/<namespace>/product/<segment of the id>`."""
    _checked(product_id, PRODUCT_ID_PATTERN, "product_id")
    return f"/{namespace}/{PRODUCT_CHANNEL}/{channel_segment(product_id)}"


def category_channel(category: str, *, namespace: str = NAMESPACE) -> str:
    """`/<namespace>/category/<segment of the name>`."""
    _checked(category, CATEGORY_PATTERN, "category")
    return f"/{namespace}/{CATEGORY_CHANNEL}/{channel_segment(category)}"


def version_after(event_name: str, stale_through: int) -> int | None:
    """The version a stream change leaves: stale_through + 1 for INSERT/MODIFY, None for REMOVE.

    `stale_through` is what the stream invalidator computes (the highest version no longer
    to be served); a deletion leaves no version, so subscribers revalidate whatever they hold.
    """
    if event_name not in _ALL_EVENTS:
        raise ValueError(f"event_name must be one of {sorted(_ALL_EVENTS)}; got {event_name!r}")
    if isinstance(stale_through, bool) or not isinstance(stale_through, int) or stale_through < 0:
        raise ValueError(f"stale_through must be an int >= 0; got {stale_through!r:.80}")
    return stale_through + 1 if event_name in _UPSERT_EVENTS else None


def publish_requests(
    *,
    product_id: str,
    categories: Iterable[str],
    version: int | None,
    at: datetime,
    namespace: str = NAMESPACE,
) -> list[PublishRequest]:
    """The publish requests for one product change: its channel, then each category's (sorted).

    `categories` are every category the change touches (old and new when a product moved).
    """
    product = PublishRequest(
        product_channel(product_id, namespace=namespace),
        (encode_event(invalidation_message(product_key(product_id), version, at)),),
    )
    touched = sorted(set(categories))
    return [
        product,
        *(
            PublishRequest(
                category_channel(category, namespace=namespace),
                (encode_event(invalidation_message(category_key(category), None, at)),),
            )
            for category in touched
        ),
    ]
