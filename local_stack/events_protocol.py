"""The push-invalidation contract: channel names, their segment encoding, the message, the publish.

Pure Python (standard library only), so the stream handler on Lambda, the local events server
and the tests share one definition; `web/invalidation-channels.js` is its browser twin and
`web/test/channel-vectors.json` holds the vectors both sides are tested against.

Channels follow AWS AppSync Events: a path of 1 to 5 segments, the first being the namespace,
each segment 1-50 characters of `[A-Za-z0-9-]` starting and ending alphanumeric; a
subscription may end in `/*`. Product ids (`[A-Za-z0-9_-]{1,64}`) and categories
(`[A-Za-z0-9 _-]{1,64}`) may hold `_`, spaces and 64 characters, which segments refuse, so
every id is carried as `channel_segment(id)`: the first 32 hex digits of the SHA-256 of its
UTF-8 bytes. 128 bits make a collision practically impossible; the message itself names the
real key, so even a collision would only cost a subscriber one needless revalidation.

One change is published to the product's channel (key `product:<id>`, its new version, or
null for a deletion) and to the channel of each category it touches (key `category:<name>`,
version null: a list has no single version). A publish request carries one channel and
1-5 events, each a JSON document as a string, as AppSync's `POST /event` expects.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "invalidations"
"""The channel namespace the invalidations live in (one AppSync channel namespace)."""
PRODUCT_CHANNEL = "product"
CATEGORY_CHANNEL = "category"
SEGMENT_HEX_DIGITS = 32
MAX_EVENTS_PER_PUBLISH = 5
MAX_EVENT_BYTES = 240 * 1024
MAX_CHANNEL_SEGMENTS = 5

# The API's own patterns (docs/openapi.yaml: ProductId, Category).
PRODUCT_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CATEGORY_PATTERN = re.compile(r"[A-Za-z0-9 _-]{1,64}")
CHANNEL_SEGMENT_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?")

# Stream event names whose change leaves a product in place (with a new version).
_UPSERT_EVENTS = frozenset({"INSERT", "MODIFY"})
_ALL_EVENTS = _UPSERT_EVENTS | {"REMOVE"}


def channel_segment(value: str) -> str:
    """The channel segment that stands for `value`: 32 hex digits of its SHA-256."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:SEGMENT_HEX_DIGITS]


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


def channel_segments(path: str, *, allow_wildcard: bool) -> list[str]:
    """The segments of an AppSync Events channel path; ValueError naming what is wrong.

    A trailing `*` segment (`/ns/a/*`) is a wildcard, allowed in subscriptions only.
    """
    if not isinstance(path, str) or not path:
        raise ValueError("channel must be a non-empty string")
    segments = path.strip("/").split("/")
    wildcard = segments[-1] == "*"
    if wildcard:
        if not allow_wildcard:
            raise ValueError(f"channel {path!r:.120}: a wildcard is allowed in subscriptions only")
        segments = segments[:-1]
        if not segments:
            raise ValueError("channel '/*' names no namespace")
    if len(segments) > MAX_CHANNEL_SEGMENTS:
        raise ValueError(
            f"channel {path!r:.120} has {len(segments)} segments; at most {MAX_CHANNEL_SEGMENTS}"
        )
    for segment in segments:
        if not CHANNEL_SEGMENT_PATTERN.fullmatch(segment):
            raise ValueError(
                f"channel {path!r:.120}: segment {segment!r:.60} must be 1-50 characters of "
                "[A-Za-z0-9-], starting and ending with a letter or digit"
            )
    return [*segments, "*"] if wildcard else segments


def iso_utc(at: datetime) -> str:
    """`at` as ISO-8601 UTC with milliseconds and a `Z` (`2026-12-02T02:29:50.123Z`)."""
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError(f"at must be a timezone-aware datetime; got {at!r:.80}")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def invalidation_message(key: str, version: int | None, at: datetime) -> dict[str, Any]:
    """`{"type": "invalidate", "key": ..., "version": ..., "at": ...}`."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ValueError(f"version must be an int or None; got {version!r:.80}")
    if version is not None and version < 1:
        raise ValueError(f"version must be >= 1 (versions start at 1); got {version}")
    return {"type": "invalidate", "key": key, "version": version, "at": iso_utc(at)}


def encode_event(message: dict[str, Any]) -> str:
    """One event as AppSync wants it: a JSON document in a string (compact, keys sorted)."""
    encoded = json.dumps(message, separators=(",", ":"), sort_keys=True)
    if len(encoded.encode("utf-8")) > MAX_EVENT_BYTES:
        raise ValueError(f"event is larger than 240 KB ({MAX_EVENT_BYTES} bytes)")
    return encoded


@dataclass(frozen=True)
class PublishRequest:
    """One `POST /event` body: a channel and 1-5 events (each a JSON string)."""

    channel: str
    events: tuple[str, ...]

    def __post_init__(self) -> None:
        channel_segments(self.channel, allow_wildcard=False)
        if not 1 <= len(self.events) <= MAX_EVENTS_PER_PUBLISH:
            raise ValueError(
                f"events must hold 1-{MAX_EVENTS_PER_PUBLISH} items; got {len(self.events)}"
            )

    def body(self) -> dict[str, Any]:
        """The request body as a JSON-ready dict."""
        return {"channel": self.channel, "events": list(self.events)}

    def to_json(self) -> bytes:
        """The request body as sent."""
        return json.dumps(self.body(), separators=(",", ":")).encode("utf-8")


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
