"""The shared Powertools Logger, Metrics (EMF to stdout, no PutMetricData) and a lazy Tracer.

Metric names come from `cache_constructs.contract.metrics`, which the dashboard and alarms
read too. The Tracer is created on first use because importing it pulls
in aws_xray_sdk, which the read path's cold start must not pay for.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from cache_constructs.contract.environment import (
    POWERTOOLS_METRICS_NAMESPACE,
    POWERTOOLS_SERVICE_NAME,
)
from cache_constructs.contract.metrics import (  # noqa: F401 - re-exported for the caches
    CACHE_BYPASS,
    CACHE_WRITE_FAILURE,
    DAX_FALLBACK,
    DEFAULT_METRICS_NAMESPACE,
    INVALIDATIONS,
    L1_HIT,
    L1_LATENCY,
    L1_MISS,
    L1_TRACKING_UNAVAILABLE,
    L2_HIT,
    L2_LATENCY,
    L2_MISS,
    LEASE_WAIT,
    ORIGIN_LATENCY,
    ORIGIN_READ,
    SERVICE_NAME,
    STALE_SERVED,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer


SERVICE = os.environ.get(POWERTOOLS_SERVICE_NAME) or SERVICE_NAME
NAMESPACE = os.environ.get(POWERTOOLS_METRICS_NAMESPACE) or DEFAULT_METRICS_NAMESPACE

# The hot path only adds to these buffers (a dict update under an uncontended lock, well
# under a microsecond); Powertools' add_metric validates and appends per call and would cost
# more than an L1 hit itself. Counts are summed per flush (same CloudWatch sum), latency
# samples are kept one by one. `metrics.flush_metrics()` (called by `@metrics.log_metrics`)
# moves them into the EMF document first.
MAX_BUFFERED_SAMPLES = 100
"""Per metric; at 100 values Powertools itself writes the EMF document out."""
_lock = threading.Lock()
_counts: dict[str, float] = {}
_samples: dict[str, list[float]] = {}


class _BufferedEMFProvider(AmazonCloudWatchEMFProvider):
    """The EMF provider, publishing this module's buffered counts and samples on flush."""

    def drain(self) -> None:
        """Move buffered values into the EMF metric set."""
        with _lock:
            counts = dict(_counts)
            samples = {name: list(values) for name, values in _samples.items()}
            _counts.clear()
            _samples.clear()
        for name, total in counts.items():
            super().add_metric(name=name, unit=MetricUnit.Count, value=total)
        for name, values in samples.items():
            for value in values:
                super().add_metric(name=name, unit=MetricUnit.Milliseconds, value=round(value, 3))

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        self.drain()
        super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)

    def clear_metrics(self) -> None:
        with _lock:
            _counts.clear()
            _samples.clear()
        super().clear_metrics()


logger = Logger(service=SERVICE)
"""The one structured JSON logger of every function."""

_provider = _BufferedEMFProvider(namespace=NAMESPACE, service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE, provider=_provider)
"""The one EMF metrics object; handlers flush it with ``@metrics.log_metrics``."""

_tracer: Tracer | None = None


def count(name: str, value: int = 1) -> None:
    """Add `value` to the Count metric `name`."""
    with _lock:
        _counts[name] = _counts.get(name, 0) + value


def latency(name: str, milliseconds: float) -> None:
    """Record one latency sample (Milliseconds) for the metric `name`."""
    with _lock:
        samples = _samples.get(name)
        if samples is None:
            samples = _samples[name] = []
        samples.append(milliseconds)
        full = len(samples) >= MAX_BUFFERED_SAMPLES
    if full:  # a process that never flushes must not grow without bound
        _provider.drain()


def get_tracer() -> Tracer:
    """The shared Tracer, created (and aws_xray_sdk imported) on first call."""
    global _tracer
    if _tracer is None:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service=SERVICE)
    return _tracer


_TRACE_OFF = ("1", "true", "yes")


def tracing_enabled() -> bool:
    """True inside Lambda unless POWERTOOLS_TRACE_DISABLED says otherwise.

    Checked before `get_tracer()` because creating the Tracer imports aws_xray_sdk, which the
    read path must not pay for where no trace is recorded (tests, the local stack).
    """
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRACE_OFF:
        return False
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


@contextlib.contextmanager
def traced(name: str) -> Iterator[None]:
    """An X-Ray subsegment `name` around the block when tracing is on, else nothing.

    The read functions call it on the origin path only: the Tracer (and aws_xray_sdk, about
    300 ms) is then loaded by the first miss, never by an L1/L2 hit. Lambda's active tracing
    records the invocation's own segment without the SDK.
    """
    if not tracing_enabled():
        yield
        return
    with get_tracer().provider.in_subsegment(name=name):
        yield


def metric_values(name: str) -> list[Any]:
    """Values of metric `name` not yet flushed (tests and diagnostics)."""
    _provider.drain()
    entry = _provider.metric_set.get(name)
    return list(entry["Value"]) if entry else []
