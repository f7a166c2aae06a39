"""The shared Powertools Logger, Metrics (EMF to stdout, no PutMetricData) and a lazy Tracer.

Metric names come from `cache_constructs.contract.metrics`, which the dashboard and alarms
read too. The Tracer is created on first use because importing it pulls
in aws_xray_sdk, which the read path's cold start must not pay for.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
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

# The hot path only appends to a list (list.append is atomic under the GIL: no lock, ~0.1
# us); Powertools' add_metric validates and appends per call and would cost more than an L1
# hit itself. Appended values are folded into per-metric totals and samples under a lock,
# off the hot path (on publication, or when RAW_LIMIT of them are waiting). They are
# published as one EMF document at most every FLUSH_INTERVAL_SECONDS (the end of the first
# invocation after that long, or the start of the next one), not per invocation: at 1,000
# requests a second an environment writes one metrics line a second instead of 1,000, and
# an L1 hit pays no serialisation. Counts are summed (the same CloudWatch sum); latencies
# keep a uniform sample (reservoir) of at most MAX_SAMPLES_PER_FLUSH values per metric,
# which CloudWatch's percentiles read as they would every value. A document carries the
# time of its first value as its EMF timestamp.
# Given up: an environment reclaimed after its last invocation loses the batch it had not
# published yet (at most FLUSH_INTERVAL_SECONDS of its counts).
FLUSH_INTERVAL_SECONDS = 1.0
"""Longest a recorded value waits in the process before it is published."""
MAX_SAMPLES_PER_FLUSH = 50
"""Latency values kept per metric and document (Powertools writes a document at 100)."""
RAW_LIMIT = 4096
"""Appended values folded into totals once this many wait (a process that never publishes
stays bounded)."""
_lock = threading.Lock()
_counted: list[tuple[str, float]] = []
_timed: list[tuple[str, float]] = []
_counts: dict[str, float] = {}
_samples: dict[str, list[float]] = {}
_offered: dict[str, int] = {}
_first_at: list[float] = []
"""[monotonic, epoch ms] of the first value buffered since the last publication."""
_random = random.Random().random
monotonic = time.monotonic
"""The clock of the batching interval (tests replace it to pass an interval without waiting)."""


def _mark_first_value() -> None:
    # Two threads may both mark a new batch: the later mark moves its start by microseconds.
    _first_at[:] = [monotonic(), time.time() * 1000]


def _take(raw: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Remove and return what `raw` holds now; an append racing with it stays for later."""
    taken = raw[: len(raw)]
    del raw[: len(taken)]
    return taken


def _fold() -> None:
    """Fold appended values into totals and reservoirs (called with _lock held)."""
    for name, value in _take(_counted):
        _counts[name] = _counts.get(name, 0) + value
    for name, value in _take(_timed):
        offered = _offered[name] = _offered.get(name, 0) + 1
        if offered <= MAX_SAMPLES_PER_FLUSH:
            _samples.setdefault(name, []).append(value)
            continue
        # Algorithm R: every offered value is kept with the same probability
        slot = int(_random() * offered)
        if slot < MAX_SAMPLES_PER_FLUSH:
            _samples[name][slot] = value


def _forget_all() -> None:
    with _lock:
        _take(_counted)
        _take(_timed)
        _counts.clear()
        _samples.clear()
        _offered.clear()
        _first_at.clear()


class _BufferedEMFProvider(AmazonCloudWatchEMFProvider):
    """The EMF provider, publishing this module's buffered counts and samples in batches."""

    def drain(self) -> None:
        """Move buffered values into the EMF metric set (stamped with the first one's time)."""
        with _lock:
            _fold()
            counts = dict(_counts)
            samples = {name: list(values) for name, values in _samples.items()}
            first_at = list(_first_at)
            _counts.clear()
            _samples.clear()
            _offered.clear()
            _first_at.clear()
        if first_at and not self.metric_set:
            self.timestamp = int(first_at[1])
        for name, total in counts.items():
            super().add_metric(name=name, unit=MetricUnit.Count, value=total)
        for name, values in samples.items():
            for value in values:
                super().add_metric(name=name, unit=MetricUnit.Milliseconds, value=round(value, 3))

    def due(self) -> bool:
        """Is a batch buffered for FLUSH_INTERVAL_SECONDS or longer (or added directly)?"""
        if self.metric_set:
            return True  # a caller of Powertools' own add_metric: published as it expects
        first_at = _first_at
        return bool(first_at) and monotonic() - first_at[0] >= FLUSH_INTERVAL_SECONDS

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        """Publish the batch if it is due; with nothing recorded, do no work at all."""
        if self.due():
            self.publish(raise_on_empty_metrics=raise_on_empty_metrics)

    def publish(self, raise_on_empty_metrics: bool = False) -> None:
        """Publish whatever is buffered now (one EMF document; nothing if nothing is)."""
        self.drain()
        if self.metric_set or raise_on_empty_metrics:
            super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)
        self.timestamp = None

    def clear_metrics(self) -> None:
        _forget_all()
        super().clear_metrics()
        self.timestamp = None


logger = Logger(service=SERVICE)
"""The one structured JSON logger of every function."""

_provider = _BufferedEMFProvider(namespace=NAMESPACE, service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE, provider=_provider)
"""The one EMF metrics object; ``@metrics.log_metrics`` publishes its batch when it is due."""

_tracer: Tracer | None = None


def count(name: str, value: int = 1) -> None:
    """Add `value` to the Count metric `name`."""
    if not _first_at:
        _mark_first_value()
    _counted.append((name, value))
    if len(_counted) > RAW_LIMIT:
        with _lock:
            _fold()


def latency(name: str, milliseconds: float) -> None:
    """Offer one latency sample (Milliseconds) of the metric `name` to its reservoir."""
    if not _first_at:
        _mark_first_value()
    _timed.append((name, milliseconds))
    if len(_timed) > RAW_LIMIT:
        with _lock:
            _fold()


def publish_if_due() -> None:
    """Publish a batch buffered for FLUSH_INTERVAL_SECONDS; call at an invocation's start, so
    a batch never waits through an idle period and carries the wrong minute."""
    if _provider.due():
        _provider.publish()


def publish_now() -> None:
    """Publish everything buffered at once (tests, shutdown, diagnostics)."""
    _provider.publish()


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
    """Values of metric `name` not yet published (tests and diagnostics)."""
    _provider.drain()
    entry = _provider.metric_set.get(name)
    return list(entry["Value"]) if entry else []
