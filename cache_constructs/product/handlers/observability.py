"""Powertools wiring shared by every entry point: Logger, Metrics (EMF) and, if on, Tracer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cache_constructs.runtime.telemetry import get_tracer, logger, metrics, tracing_enabled

LambdaHandler = Callable[[dict[str, Any], Any], Any]


def instrument(
    handler: LambdaHandler,
    *,
    correlation_id_path: str | None = None,
    trace_handler: bool = True,
) -> LambdaHandler:
    """`handler` with EMF flushing, Lambda context in every log line and, if on, the Tracer.

    `trace_handler=False` (the read functions) leaves the Tracer out of the cold start:
    creating it imports aws_xray_sdk (~300 ms), so those functions trace only their origin
    reads (`telemetry.traced`), and Lambda's active tracing records the invocation itself.
    """
    if trace_handler and tracing_enabled():
        handler = get_tracer().capture_lambda_handler(handler)
    handler = metrics.log_metrics(handler)
    return logger.inject_lambda_context(handler, correlation_id_path=correlation_id_path)
