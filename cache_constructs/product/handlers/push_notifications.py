"""The stream function's push notifications: one applied change -> its publish requests.

`publish_change` runs after a record's caches are invalidated (a client that refetches on the
push must find them invalidated). It never raises: a publish that fails is counted by the
publisher and the record still succeeds. The publisher is built once per process from the
environment (`EVENTS_PUBLISH_URL` absent: push is off and nothing is published); tests and the
local stack install their own with `set_publisher`.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

from cache_constructs.contract.metrics import PUSH_PUBLISH_FAILURE
from cache_constructs.product.domain.stream_records import ProductChange
from cache_constructs.product.push import publish_requests, version_after
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.config import ConfigError
from cache_constructs.runtime.push_publisher import (
    PushPublisher,
    build_publisher,
    load_publish_settings,
)

_lock = threading.Lock()
_loaded = False
_publisher: PushPublisher | None = None
_config_error: str | None = None


def get_publisher() -> PushPublisher | None:
    """The process's publisher (None when push is off), built on first use."""
    global _loaded, _publisher, _config_error
    if not _loaded:
        with _lock:
            if not _loaded:
                try:
                    settings = load_publish_settings(os.environ)
                    _publisher = build_publisher(settings) if settings else None
                except ConfigError as exc:
                    # A push misconfiguration must not fail cache invalidation: say it loudly,
                    # count every change as a failed publish (the alarm fires) and go on.
                    _config_error = str(exc)
                    telemetry.logger.error("push publishing is misconfigured: %s", exc)
                _loaded = True
    return _publisher


def set_publisher(publisher: PushPublisher | None) -> None:
    """Replace the process's publisher (None: push off); tests and the local stack."""
    global _loaded, _publisher, _config_error
    with _lock:
        _publisher, _config_error, _loaded = publisher, None, True


def reset_publisher() -> None:
    """Forget the publisher: the next change builds it from the environment again."""
    global _loaded, _publisher, _config_error
    with _lock:
        _publisher, _config_error, _loaded = None, None, False


def publish_change(change: ProductChange) -> None:
    """Publish `change` to its product's channel and its categories' channels; never raises."""
    try:
        publisher = get_publisher()
        if publisher is None and _config_error is None:
            return
        requests = publish_requests(
            product_id=change.product_id,
            categories=change.categories,
            version=version_after(change.event_name, change.stale_through),
            at=datetime.now(UTC),
        )
        if publisher is None:
            telemetry.count(PUSH_PUBLISH_FAILURE, len(requests))
            return
        publisher.publish(requests)
    except Exception:  # the caches are consistent already: a push problem stays a push problem
        telemetry.count(PUSH_PUBLISH_FAILURE)
        telemetry.logger.exception(
            "push publish not attempted", extra={"product_id": change.product_id}
        )
