"""The shared Powertools Logger, Metrics (EMF to stdout, no PutMetricData) and a lazy Tracer.

Metric names are exactly those of docs/architecture.md ("Metrics"); the dashboard and alarms
in cache_constructs read them. The Tracer is created on first use because importing it pulls
in aws_xray_sdk, which the read path's cold start must not pay for.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

L1_HIT = "L1Hit"
L1_MISS = "L1Miss"
L2_HIT = "L2Hit"
L2_MISS = "L2Miss"
ORIGIN_READ = "OriginRead"
DAX_FALLBACK = "DaxFallback"
L1_LATENCY = "L1Latency"
L2_LATENCY = "L2Latency"
ORIGIN_LATENCY = "OriginLatency"
CACHE_BYPASS = "CacheBypass"
STALE_SERVED = "StaleServed"
LEASE_WAIT = "LeaseWait"
CACHE_WRITE_FAILURE = "CacheWriteFailure"
INVALIDATIONS = "Invalidations"

COUNT_METRICS: tuple[str, ...] = (
    L1_HIT,
    L1_MISS,
    L2_HIT,
    L2_MISS,
    ORIGIN_READ,
    DAX_FALLBACK,
    CACHE_BYPASS,
    STALE_SERVED,
    LEASE_WAIT,
    CACHE_WRITE_FAILURE,
    INVALIDATIONS,
)
LATENCY_METRICS: tuple[str, ...] = (L1_LATENCY, L2_LATENCY, ORIGIN_LATENCY)

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "product-service"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "CachedProductService"

logger = Logger(service=SERVICE)
"""The one structured JSON logger of every function."""

metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
"""The one EMF metrics buffer; handlers flush it with ``@metrics.log_metrics``."""

_lock = threading.Lock()  # Powertools' metric buffer is not thread-safe (tests use threads)
_tracer: Tracer | None = None


def count(name: str, value: int = 1) -> None:
    """Add `value` to the Count metric `name`."""
    with _lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def latency(name: str, milliseconds: float) -> None:
    """Record one latency sample (Milliseconds) for the metric `name`."""
    with _lock:
        metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=round(milliseconds, 3))


def get_tracer() -> Tracer:
    """The shared Tracer, created (and aws_xray_sdk imported) on first call."""
    global _tracer
    if _tracer is None:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service=SERVICE)
    return _tracer


def metric_values(name: str) -> list[Any]:
    """Values buffered for metric `name` since the last flush (tests and diagnostics)."""
    with _lock:
        entry = metrics.metric_set.get(name)
        return list(entry["Value"]) if entry else []
