"""Telemetry: buffered counts/latencies reach the EMF document on flush, nothing is lost."""

from __future__ import annotations

import contextlib
import json

import pytest

from cache_constructs.runtime import telemetry


def test_flush_publishes_buffered_metrics_as_emf(capsys):
    telemetry.metrics.clear_metrics()
    telemetry.count(telemetry.L2_HIT)
    telemetry.count(telemetry.L2_HIT)
    telemetry.count(telemetry.CACHE_BYPASS)
    telemetry.latency(telemetry.L2_LATENCY, 0.5)
    telemetry.latency(telemetry.L2_LATENCY, 1.25)
    telemetry.metrics.flush_metrics()
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "CachedProductService"
    assert directive["Dimensions"] == [["service"]]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {"L2Hit": "Count", "CacheBypass": "Count", "L2Latency": "Milliseconds"}
    assert document["L2Hit"] in (2.0, [2.0])
    assert document["CacheBypass"] in (1.0, [1.0])
    assert document["L2Latency"] == [0.5, 1.25]
    assert document["service"] == "product-service"
    assert telemetry.metric_values("L2Hit") == []  # flushed and cleared


def test_a_process_that_never_flushes_stays_bounded(capsys):
    telemetry.metrics.clear_metrics()
    for _ in range(250):
        telemetry.latency(telemetry.ORIGIN_LATENCY, 1.0)
    assert len(telemetry._samples.get(telemetry.ORIGIN_LATENCY, [])) < 100
    telemetry.metrics.clear_metrics()


def test_log_metrics_decorator_flushes(capsys):
    telemetry.metrics.clear_metrics()

    @telemetry.metrics.log_metrics
    def handler(event, context):
        telemetry.count(telemetry.L1_HIT)
        return "ok"

    assert handler({}, None) == "ok"
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert document["L1Hit"] in (1.0, [1.0])


class RecordingProvider:
    """Stands in for the X-Ray recorder (no daemon here): records the subsegments opened."""

    def __init__(self) -> None:
        self.subsegments: list[str] = []

    @contextlib.contextmanager
    def in_subsegment(self, name=None, **_kwargs):
        self.subsegments.append(name)
        yield None


def test_with_tracing_on_only_the_origin_path_creates_the_tracer(
    make_runtime, counting_dynamo, monkeypatch
):
    from types import SimpleNamespace

    from runtime_helpers import put_product

    put_product(counting_dynamo, "p1", 1)
    provider = RecordingProvider()
    created = []

    def get_tracer():
        created.append(True)
        return SimpleNamespace(provider=provider)

    monkeypatch.setattr(telemetry, "get_tracer", get_tracer)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "read")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    runtime = make_runtime()
    assert runtime.items.read("p1").x_cache == "MISS"
    assert provider.subsegments == ["## origin read"]
    runtime.items.l1.clear()
    assert runtime.items.read("p1").x_cache == "HIT-L2"
    assert provider.subsegments == ["## origin read"] and len(created) == 1


def test_with_tracing_off_the_origin_path_creates_no_tracer(
    make_runtime, counting_dynamo, monkeypatch
):
    monkeypatch.setattr(telemetry, "get_tracer", lambda: pytest.fail("tracer created"))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "read")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert make_runtime().items.read("ghost").x_cache == "MISS"
