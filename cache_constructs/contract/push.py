"""The push-invalidation contract: channel paths, their segment encoding, the message, the publish.

Pure Python (standard library only), so the stream handler on Lambda, the local events server,
the InvalidationChannel construct and the tests share one definition;
`web/invalidation-channels.js` is its browser twin and `web/test/channel-vectors.json` holds
the vectors both sides are tested against. The product's own channels (one per product, one
per category) are built from these parts in `cache_constructs.product.push`.

Channels follow AWS AppSync Events: a path of 1 to 5 segments, the first being the namespace,
each segment 1-50 characters of `[A-Za-z0-9-]` starting and ending alphanumeric; a
subscription may end in `/*`. Keys (ids, category names) may hold characters or lengths that
segments refuse, so every key is carried as `channel_segment(key)`: the first 32 hex digits of
the SHA-256 of its UTF-8 bytes. 128 bits make a collision practically impossible; the message
itself names the real key, so even a collision would only cost a subscriber one needless
revalidation. A publish request carries one channel and 1-5 events, each a JSON document as a
string, as AppSync's `POST /event` expects.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "invalidations"
"""The channel namespace the invalidations live in (one AppSync channel namespace)."""
SEGMENT_HEX_DIGITS = 32
MAX_EVENTS_PER_PUBLISH = 5
MAX_EVENT_BYTES = 240 * 1024
MAX_CHANNEL_SEGMENTS = 5
PUBLISHER_FUNCTION_TIMEOUT_SECONDS = 10
"""The push publisher function's timeout: a handover of a few requests, each cut off after
1.5 s (connect + read), fits with room to spare."""
CHANNEL_SEGMENT_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?")


def channel_segment(value: str) -> str:
    """The channel segment that stands for `value`: 32 hex digits of its SHA-256."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:SEGMENT_HEX_DIGITS]


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

    @classmethod
    def from_body(cls, body: Any) -> PublishRequest:
        """The request a `body()` describes; ValueError naming what is wrong."""
        if not isinstance(body, dict) or set(body) != {"channel", "events"}:
            raise ValueError('a publish request must be {"channel": ..., "events": [...]}')
        events = body["events"]
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ValueError("events must be a list of JSON strings")
        return cls(body["channel"], tuple(events))


MAX_HANDOVER_REQUESTS = 100
"""At most this many publish requests in one handover (a change touches its product and at
most a few categories; the bound keeps a malformed event from fanning out)."""


def handover_event(requests: list[PublishRequest]) -> dict[str, Any]:
    """What the stream function hands the push publisher function: ``{"requests": [...]}``."""
    if not 1 <= len(requests) <= MAX_HANDOVER_REQUESTS:
        raise ValueError(
            f"a handover holds 1-{MAX_HANDOVER_REQUESTS} publish requests; got {len(requests)}"
        )
    return {"requests": [request.body() for request in requests]}


def requests_from_handover(event: Any) -> list[PublishRequest]:
    """The publish requests of a `handover_event`; ValueError naming what is wrong."""
    if not isinstance(event, dict) or not isinstance(event.get("requests"), list):
        raise ValueError('a handover event must be {"requests": [...]}')
    bodies = event["requests"]
    if not 1 <= len(bodies) <= MAX_HANDOVER_REQUESTS:
        raise ValueError(
            f"a handover holds 1-{MAX_HANDOVER_REQUESTS} publish requests; got {len(bodies)}"
        )
    return [PublishRequest.from_body(body) for body in bodies]
