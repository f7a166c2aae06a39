"""The stream function's push notifications: one applied change -> its publish requests.

`publish_change` runs after a record's caches are invalidated (a client that refetches on the
push must find them invalidated). It never raises: a handover or publish that fails is counted
and the record still succeeds.

Where the requests go is read from the environment once per process:

- `PUSH_PUBLISHER_FUNCTION` set: handed to the push publisher function by an asynchronous
  invoke (`runtime.push_handover`), which publishes them from outside the VPC: what
  `CachedProductService` deploys, and what `make local` runs;
- else `EVENTS_PUBLISH_URL` set: posted to the events endpoint directly
  (`runtime.push_publisher`), for a function that can reach it;
- neither: push is off and nothing is published or counted.

Tests and the local stack may install their own sender with `set_sender`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from cache_constructs.contract.metrics import PUSH_HANDOVER_FAILURE, PUSH_PUBLISH_FAILURE
from cache_constructs.contract.push import PublishRequest
from cache_constructs.product.domain.stream_records import ProductChange
from cache_constructs.product.push import publish_requests, version_after
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.config import ConfigError
from cache_constructs.runtime.push_handover import build_handover, load_handover_settings
from cache_constructs.runtime.push_publisher import (
    PublishOutcome,
    build_publisher,
    load_publish_settings,
)


class PushSender(Protocol):
    """Sends a change's publish requests on; counts the outcome itself and never raises."""

    def publish(self, requests: Iterable[PublishRequest]) -> PublishOutcome: ...


_lock = threading.Lock()
_loaded = False
_sender: PushSender | None = None
#: The metric a misconfigured sender's changes are counted in (None: configured fine).
_config_error_metric: str | None = None


def get_sender() -> PushSender | None:
    """The process's sender (None when push is off), built from the environment on first use."""
    global _loaded, _sender, _config_error_metric
    if not _loaded:
        with _lock:
            if not _loaded:
                _sender, _config_error_metric = _sender_from_environment()
                _loaded = True
    return _sender


def _sender_from_environment() -> tuple[PushSender | None, str | None]:
    metric = PUSH_HANDOVER_FAILURE
    try:
        handover = load_handover_settings(os.environ)
        if handover is not None:
            return build_handover(handover), None
        metric = PUSH_PUBLISH_FAILURE
        publish = load_publish_settings(os.environ)
        return (build_publisher(publish) if publish else None), None
    except ConfigError as exc:
        # A push misconfiguration must not fail cache invalidation: say it loudly, count
        # every change as failed (the alarm fires) and go on.
        telemetry.logger.error("push notifications are misconfigured: %s", exc)
        return None, metric


def set_sender(sender: PushSender | None) -> None:
    """Replace the process's sender (None: push off); tests and the local stack."""
    global _loaded, _sender, _config_error_metric
    with _lock:
        _sender, _config_error_metric, _loaded = sender, None, True


def reset_sender() -> None:
    """Forget the sender: the next change builds it from the environment again."""
    global _loaded, _sender, _config_error_metric
    with _lock:
        _sender, _config_error_metric, _loaded = None, None, False


def publish_change(change: ProductChange) -> None:
    """Send `change` on for its product's and its categories' channels; never raises."""
    try:
        sender = get_sender()
        if sender is None and _config_error_metric is None:
            return
        requests = publish_requests(
            product_id=change.product_id,
            categories=change.categories,
            version=version_after(change.event_name, change.stale_through),
            at=datetime.now(UTC),
        )
        if sender is None:
            assert _config_error_metric is not None
            telemetry.count(_config_error_metric, len(requests))
            return
        sender.publish(requests)
    except Exception:  # the caches are consistent already: a push problem stays a push problem
        telemetry.count(PUSH_PUBLISH_FAILURE)
        telemetry.logger.exception(
            "push notification not attempted", extra={"product_id": change.product_id}
        )
