"""Telemetry: buffered counts/latencies reach the EMF document on flush, nothing is lost."""

from __future__ import annotations

import contextlib
import json

import pytest

from cache_constructs.runtime import telemetry


def emf_documents(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]


class IntervalClock:
    """The batching interval's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def interval_clock(monkeypatch) -> IntervalClock:
    clock = IntervalClock()
    monkeypatch.setattr(telemetry, "monotonic", clock)
    telemetry.metrics.clear_metrics()
    yield clock
    telemetry.metrics.clear_metrics()


def test_publishing_writes_buffered_metrics_as_one_emf_document(capsys, interval_clock):
    telemetry.count(telemetry.L2_HIT)
    telemetry.count(telemetry.L2_HIT)
    telemetry.count(telemetry.CACHE_BYPASS)
    telemetry.latency(telemetry.L2_LATENCY, 0.5)
    telemetry.latency(telemetry.L2_LATENCY, 1.25)
    telemetry.publish_now()
    (document,) = emf_documents(capsys)
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "CachedProductService"
    assert directive["Dimensions"] == [["service"]]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {"L2Hit": "Count", "CacheBypass": "Count", "L2Latency": "Milliseconds"}
    assert document["L2Hit"] in (2.0, [2.0])
    assert document["CacheBypass"] in (1.0, [1.0])
    assert document["L2Latency"] == [0.5, 1.25]
    assert document["service"] == "product-service"
    assert telemetry.metric_values("L2Hit") == []  # published and cleared


def test_invocations_publish_at_most_once_per_interval(capsys, interval_clock):
    @telemetry.metrics.log_metrics
    def handler(event, context):
        telemetry.count(telemetry.L1_HIT)
        return "ok"

    for _ in range(5):
        assert handler({}, None) == "ok"
    assert emf_documents(capsys) == []  # buffered: younger than the interval
    interval_clock.now += telemetry.FLUSH_INTERVAL_SECONDS
    handler({}, None)
    (document,) = emf_documents(capsys)
    assert document["L1Hit"] in (6.0, [6.0])  # every invocation's count, summed


def test_a_batch_carries_the_time_of_its_first_value(capsys, interval_clock):
    import time

    before_ms = int(time.time() * 1000)
    telemetry.count(telemetry.L1_HIT)
    interval_clock.now += 600  # an idle (frozen) environment, then the next invocation
    telemetry.publish_if_due()  # at that invocation's start: published before it adds to it
    (document,) = emf_documents(capsys)
    assert before_ms <= document["_aws"]["Timestamp"] <= int(time.time() * 1000)
    telemetry.publish_if_due()
    assert emf_documents(capsys) == []  # nothing left


def test_nothing_recorded_publishes_nothing_and_warns_nothing(capsys, interval_clock, recwarn):
    @telemetry.metrics.log_metrics
    def handler(event, context):
        return "ok"

    interval_clock.now += 10
    handler({}, None)
    assert emf_documents(capsys) == []
    assert not [w for w in recwarn if "No application metrics" in str(w.message)]


def test_latencies_keep_a_bounded_uniform_sample(capsys, interval_clock):
    for value in range(10_000):
        telemetry.latency(telemetry.ORIGIN_LATENCY, float(value))
    telemetry.publish_now()
    (document,) = emf_documents(capsys)
    sample = document["OriginLatency"]
    assert len(sample) == telemetry.MAX_SAMPLES_PER_FLUSH
    # a uniform sample of 0..9999 is spread over the range, not the first 50 values
    assert max(sample) > 5_000 and sum(sample) / len(sample) > 2_000


def test_a_direct_powertools_metric_is_published_with_its_invocation(capsys, interval_clock):
    @telemetry.metrics.log_metrics
    def handler(event, context):
        telemetry.metrics.add_metric(name="Custom", unit="Count", value=1)
        return "ok"

    handler({}, None)
    (document,) = emf_documents(capsys)
    assert document["Custom"] in (1.0, [1.0])


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
