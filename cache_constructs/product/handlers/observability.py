"""Powertools wiring shared by every entry point: Logger, Metrics (EMF) and, if on, Tracer.

What runs per invocation is kept to what Powertools needs: `Logger.inject_lambda_context`
(the Lambda context keys), the correlation id read from the event by a plain lookup (a
JMESPath `correlation_id_path` is evaluated per invocation and cost ~10 us here, more than
an L1 hit), and `Metrics.log_metrics`. The read functions (`batch_metrics=True`) publish
the runtime's buffered metrics at most once a second, and do nothing when nothing was
recorded (runtime/telemetry.py); the write and stream functions, whose invocations are
few and whose failures alarms watch, publish at the end of every invocation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cache_constructs.runtime.telemetry import (
    get_tracer,
    logger,
    metrics,
    publish_if_due,
    publish_now,
    tracing_enabled,
)

LambdaHandler = Callable[[dict[str, Any], Any], Any]
CorrelationId = Callable[[dict[str, Any]], str | None]


def rest_request_id(event: dict[str, Any]) -> str | None:
    """The API Gateway REST request id (`requestContext.requestId`), the correlation id."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    request_id = context.get("requestId") if isinstance(context, dict) else None
    return request_id if isinstance(request_id, str) else None


def instrument(
    handler: LambdaHandler,
    *,
    correlation_id: CorrelationId | None = None,
    trace_handler: bool = True,
    batch_metrics: bool = False,
) -> LambdaHandler:
    """`handler` with EMF metrics, Lambda context in every log line and, if on, the Tracer.

    `correlation_id` reads the request's correlation id from the event (e.g.
    `rest_request_id`). `trace_handler=False` (the read functions) leaves the Tracer out of
    the cold start: creating it imports aws_xray_sdk (~300 ms), so those functions trace
    only their origin reads (`telemetry.traced`), and Lambda's active tracing records the
    invocation itself. `batch_metrics=True` publishes metrics at most once per
    `telemetry.FLUSH_INTERVAL_SECONDS` instead of at the end of every invocation.
    """
    if trace_handler and tracing_enabled():
        handler = get_tracer().capture_lambda_handler(handler)
    handler = metrics.log_metrics(handler)  # publishes a batch that is due
    inner = handler

    def invoke(event: dict[str, Any], context: Any) -> Any:
        # A batch left by an earlier invocation is published before this one adds to it,
        # so a batch never spans an idle (frozen) period.
        publish_if_due()
        if correlation_id is not None:
            logger.set_correlation_id(correlation_id(event))
        if batch_metrics:
            return inner(event, context)
        try:
            return inner(event, context)
        finally:
            publish_now()

    return logger.inject_lambda_context(invoke)
