"""Telemetry: buffered counts/latencies reach the EMF document on flush, nothing is lost."""

from __future__ import annotations

import json

from product_cache import telemetry


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
