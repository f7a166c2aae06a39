"""Powertools wiring shared by every entry point: Logger, Metrics (EMF) and, if on, Tracer."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from product_cache.telemetry import get_tracer, logger, metrics

LambdaHandler = Callable[[dict[str, Any], Any], Any]
_OFF = ("1", "true", "yes")


def tracing_enabled() -> bool:
    """True inside Lambda unless POWERTOOLS_TRACE_DISABLED says otherwise.

    Checked before `get_tracer()` because creating the Tracer imports aws_xray_sdk, which the
    read path must not pay for where no trace is recorded (tests, the local stack).
    """
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _OFF:
        return False
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def instrument(handler: LambdaHandler, *, correlation_id_path: str | None = None) -> LambdaHandler:
    """`handler` with Tracer (when on), EMF flushing and Lambda context in every log line."""
    if tracing_enabled():
        handler = get_tracer().capture_lambda_handler(handler)
    handler = metrics.log_metrics(handler)
    return logger.inject_lambda_context(handler, correlation_id_path=correlation_id_path)
