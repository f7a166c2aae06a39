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


def test_the_correlation_id_is_the_rest_request_id(context: Any) -> None:
    from cache_constructs.runtime.telemetry import logger

    seen: list[Any] = []

    def handler(event: dict[str, Any], _: Any) -> str:
        seen.append(logger.get_correlation_id())
        return "ok"

    wrapped = observability.instrument(handler, correlation_id=observability.rest_request_id)
    for request_id in ("r-1", "r-2"):
        wrapped({"requestContext": {"requestId": request_id}}, context)
    assert seen == ["r-1", "r-2"]


@pytest.mark.parametrize(
    "event", [{}, {"requestContext": None}, {"requestContext": {"requestId": 7}}, []]
)
def test_an_event_without_a_request_id_has_no_correlation_id(event: Any) -> None:
    assert observability.rest_request_id(event) is None


class IntervalClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def emf(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]


@pytest.mark.parametrize("batch_metrics", [False, True])
def test_metrics_are_published_per_invocation_or_once_per_interval(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    context: Any,
    batch_metrics: bool,
) -> None:
    from cache_constructs.runtime import telemetry

    clock = IntervalClock()
    monkeypatch.setattr(telemetry, "monotonic", clock)
    telemetry.metrics.clear_metrics()

    def handler(event: dict[str, Any], _: Any) -> str:
        telemetry.count(telemetry.L1_HIT)
        return "ok"

    wrapped = observability.instrument(handler, batch_metrics=batch_metrics)
    for _ in range(3):
        wrapped({}, context)
    documents = emf(capsys)
    if batch_metrics:
        assert documents == []  # within the interval: buffered
        clock.now += telemetry.FLUSH_INTERVAL_SECONDS
        wrapped({}, context)  # the three are published as it starts; its own value waits
        assert [d["L1Hit"] for d in emf(capsys)] in ([3.0], [[3.0]])
    else:
        assert [d["L1Hit"] for d in documents] in ([1.0] * 3, [[1.0]] * 3)
    telemetry.metrics.clear_metrics()
