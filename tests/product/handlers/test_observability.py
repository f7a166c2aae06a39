"""Entry-point wiring: tracing only when on, configuration errors that name the variable."""

from __future__ import annotations

from typing import Any

import pytest
from handler_events import insert, stream_event

from cache_constructs.product.handlers import observability, stream_handler
from cache_constructs.product.handlers.service_runtime import set_runtime
from cache_constructs.runtime.config import ConfigError


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "read"}, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "read", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "read", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
    ],
)
def test_tracing_is_on_in_lambda_unless_disabled(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], enabled: bool
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert observability.tracing_enabled() is enabled


class RecordingTracer:
    """Stands in for the X-Ray SDK, which needs a daemon and a trace header to run."""

    def __init__(self) -> None:
        self.wrapped: list[Any] = []

    def capture_lambda_handler(self, handler: Any) -> Any:
        self.wrapped.append(handler)
        return handler


@pytest.mark.parametrize("enabled", [True, False])
def test_instrument_captures_with_the_tracer_only_when_tracing_is_on(
    monkeypatch: pytest.MonkeyPatch, enabled: bool, context: Any
) -> None:
    tracer = RecordingTracer()
    created: list[RecordingTracer] = []

    def get_tracer() -> RecordingTracer:
        created.append(tracer)
        return tracer

    monkeypatch.setattr(observability, "tracing_enabled", lambda: enabled)
    monkeypatch.setattr(observability, "get_tracer", get_tracer)

    def handler(event: dict[str, Any], _: Any) -> dict[str, Any]:
        return {"echo": event}

    wrapped = observability.instrument(handler)
    assert wrapped({"a": 1}, context) == {"echo": {"a": 1}}
    assert (len(created), tracer.wrapped == [handler]) == ((1, True) if enabled else (0, False))


def test_stream_handler_with_a_bad_configuration_fails_the_whole_batch(
    monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    set_runtime(None)
    monkeypatch.setenv("TABLE_NAME", "products")
    monkeypatch.setenv("ITEM_CACHE_POLICY", "not json")
    with pytest.raises(ConfigError, match="ITEM_CACHE_POLICY"):
        stream_handler.handler(stream_event(insert("p1")), context)
    set_runtime(None)
