"""The push publisher function: posts the publish requests it is handed to the events endpoint.

It runs outside any VPC (AppSync Event APIs have no VPC endpoint); the stream function hands
it each change's requests by an asynchronous invoke once the change's caches are invalidated
(`runtime.push_handover`). Its environment names the endpoint (`EVENTS_PUBLISH_URL`,
`EVENTS_PUBLISH_AUTH`), set by `InvalidationChannel.grant_publish`.

A request that could not be published is counted (`PushPublishFailure`) by the publisher and
the invocation fails, so Lambda retries the event (bounded by the function's asynchronous
invoke config: retry attempts and maximum event age); the requests are idempotent (a
subscriber ignores a version it already has). A malformed event is counted and dropped
without a retry: it would fail the same way again.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from cache_constructs.contract.metrics import PUSH_PUBLISH_FAILURE
from cache_constructs.contract.push import requests_from_handover
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.config import ConfigError
from cache_constructs.runtime.push_publisher import (
    PushPublisher,
    build_publisher,
    load_publish_settings,
)

_lock = threading.Lock()
_publisher: PushPublisher | None = None


class PublishIncomplete(RuntimeError):
    """Some publish requests failed: raised so that Lambda retries the event."""


def get_publisher() -> PushPublisher:
    """The process's publisher, built from the environment on first use.

    Raises `ConfigError` naming the variable when the endpoint is missing or invalid.
    """
    global _publisher
    if _publisher is None:
        with _lock:
            if _publisher is None:
                settings = load_publish_settings(os.environ)
                if settings is None:
                    raise ConfigError("EVENTS_PUBLISH_URL is required by the push publisher")
                _publisher = build_publisher(settings)
    return _publisher


def set_publisher(publisher: PushPublisher | None) -> None:
    """Replace the process's publisher (None: built from the environment again); tests."""
    global _publisher
    with _lock:
        _publisher = publisher


def _handle(event: dict[str, Any], _context: Any) -> dict[str, int]:
    try:
        requests = requests_from_handover(event)
    except ValueError as exc:
        telemetry.count(PUSH_PUBLISH_FAILURE)
        telemetry.logger.error("malformed handover event dropped: %s", exc)
        return {"published": 0, "failed": 1}
    try:
        publisher = get_publisher()
    except ConfigError:
        telemetry.count(PUSH_PUBLISH_FAILURE, len(requests))
        raise  # retried, then dropped (AsyncEventsDropped): the configuration must be fixed
    outcome = publisher.publish(requests)
    if outcome.failed:
        raise PublishIncomplete(
            f"{outcome.failed} of {len(requests)} publish requests failed; Lambda retries the event"
        )
    return {"published": outcome.published, "failed": 0}


def _invoke(event: dict[str, Any], context: Any) -> dict[str, int]:
    # Invocations are few and their failures alarmed: publish the metrics at the end of each
    # one (a batch left by an earlier invocation goes first), as the stream function does.
    telemetry.publish_if_due()
    try:
        return _handle(event, context)
    finally:
        telemetry.publish_now()


handler = telemetry.logger.inject_lambda_context(_invoke)
"""The Lambda entry point: EMF published after every invocation, context in every log line."""
