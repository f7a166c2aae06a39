"""What the cache dashboard and alarms read: metric-source protocols and the handlers' EMF metrics.

`CacheDashboard` and `CacheAlarms` take a whole service: anything with a ``metric_sources``
attribute (`MonitoredService`), such as `CachedProductService`, or a `MetricSources` built
from the parts of an à-la-carte app. Each source is any object with the right ``metric_*``
methods (``CachedRestApi``, ``ServerlessValkeyCache``, ``ReplicatedValkeyCache``,
``DaxCache``, ``StreamInvalidator``, ``InvalidationChannel`` or a caller's own construct):
the protocols below are structural, nothing has to inherit from them.

`ServiceMetrics` builds the CloudWatch metrics that the Lambda runtime publishes through
Powertools EMF (namespace ``POWERTOOLS_METRICS_NAMESPACE``, dimension ``service``), using
exactly the names fixed in docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

from cache_constructs.contract import metrics as metric_names

# The names the runtime publishes under (docs/architecture.md), from the one module that
# also sets them as the functions' environment.
DEFAULT_METRICS_NAMESPACE = metric_names.DEFAULT_METRICS_NAMESPACE
DEFAULT_SERVICE_NAME = metric_names.SERVICE_NAME
SERVICE_DIMENSION = metric_names.SERVICE_DIMENSION

CacheLayer = Literal["L1", "L2"]


class ApiMetricsSource(Protocol):
    """An API Gateway REST stage with a cache (e.g. ``CachedRestApi``)."""

    def metric_cache_hit_count(self) -> cloudwatch.IMetric: ...
    def metric_cache_miss_count(self) -> cloudwatch.IMetric: ...
    def metric_latency(self) -> cloudwatch.IMetric: ...
    def metric_integration_latency(self) -> cloudwatch.IMetric: ...


class ValkeyMetricsSource(Protocol):
    """A Valkey/Redis cache (e.g. ``ValkeyCache``)."""

    def metric_cpu_utilization(self) -> cloudwatch.IMetric: ...
    def metric_memory_usage_percent(self) -> cloudwatch.IMetric: ...
    def metric_evictions(self) -> cloudwatch.IMetric: ...
    def metric_current_connections(self) -> cloudwatch.IMetric: ...
    def metric_replication_lag(self) -> cloudwatch.IMetric | None: ...
    def metric_cache_hit_rate(self) -> cloudwatch.IMetric: ...


class DaxMetricsSource(Protocol):
    """A DAX cluster (e.g. ``DaxCache``)."""

    def metric_item_cache_hits(self) -> cloudwatch.IMetric: ...
    def metric_item_cache_misses(self) -> cloudwatch.IMetric: ...
    def metric_query_cache_hits(self) -> cloudwatch.IMetric: ...
    def metric_query_cache_misses(self) -> cloudwatch.IMetric: ...
    def metric_evicted_size(self) -> cloudwatch.IMetric: ...
    def metric_error_request_count(self) -> cloudwatch.IMetric: ...
    def metric_fault_request_count(self) -> cloudwatch.IMetric: ...


class StreamMetricsSource(Protocol):
    """A stream-to-Lambda invalidation path with a dead-letter queue (``StreamInvalidator``)."""

    def metric_iterator_age(self) -> cloudwatch.IMetric: ...
    def metric_dlq_depth(self) -> cloudwatch.IMetric: ...


class PushChannelMetricsSource(Protocol):
    """A pub/sub channel that pushes invalidations to clients (``InvalidationChannel``).

    The last three are its publisher function's (None when it has none): publishes accepted,
    publishes that failed, and handovers Lambda dropped after its retries.
    """

    def metric_publish_errors(self) -> cloudwatch.IMetric: ...
    def metric_connect_client_errors(self) -> cloudwatch.IMetric: ...
    def metric_connect_server_errors(self) -> cloudwatch.IMetric: ...
    def metric_active_connections(self) -> cloudwatch.IMetric: ...
    def metric_connect_success(self) -> cloudwatch.IMetric: ...
    def metric_subscribe_errors(self) -> cloudwatch.IMetric: ...
    def metric_delivered_messages(self) -> cloudwatch.IMetric: ...
    def metric_published(self) -> cloudwatch.IMetric | None: ...
    def metric_publish_failures(self) -> cloudwatch.IMetric | None: ...
    def metric_dropped_publishes(self) -> cloudwatch.IMetric | None: ...


@dataclass(frozen=True)
class MetricSources:
    """The parts of one cached service that the dashboard and the alarms watch.

    Every part is optional; a section or alarm exists only for the parts given. A
    `MetricSources` is itself a `MonitoredService` (``metric_sources`` returns itself), so an
    à-la-carte app passes ``MetricSources(api=api, valkey=cache)`` where an app with a
    `CachedProductService` passes the service itself.
    """

    api: ApiMetricsSource | None = None
    """The REST API stage (``CachedRestApi``)."""
    service_metrics: ServiceMetrics | None = None
    """The handlers' EMF metrics (L1/L2 hits, latencies, bypasses)."""
    valkey: ValkeyMetricsSource | None = None
    """The L2 cache (a built ``ValkeyCache`` variant; an imported endpoint has no metrics)."""
    dax: DaxMetricsSource | None = None
    """The DAX cluster."""
    stream: StreamMetricsSource | None = None
    """The stream invalidation path (``StreamInvalidator``)."""
    functions: Sequence[lambda_.IFunction] = field(default_factory=tuple)
    """Functions whose errors, throttles and durations are watched."""
    table: dynamodb.ITable | None = None
    """The origin table (throttles)."""
    push: PushChannelMetricsSource | None = None
    """The push channel to clients (``InvalidationChannel``); with ``service_metrics`` also
    the stream function's handovers to its publisher."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "functions", tuple(self.functions))

    @property
    def metric_sources(self) -> MetricSources:
        """Itself: a `MetricSources` is a `MonitoredService`."""
        return self

    def is_empty(self) -> bool:
        """True when no part is given (nothing to show or alarm on)."""
        return (
            not any(
                (
                    self.api,
                    self.service_metrics,
                    self.valkey,
                    self.dax,
                    self.stream,
                    self.table,
                    self.push,
                )
            )
            and not self.functions
        )


class MonitoredService(Protocol):
    """Anything that can say what to watch: `CachedProductService`, `MetricSources`, ..."""

    @property
    def metric_sources(self) -> MetricSources: ...


class ServiceMetrics:
    """The cache runtime's own EMF metrics, as its handlers publish them.

    :param namespace: ``POWERTOOLS_METRICS_NAMESPACE`` of the functions.
        Default ``"CachedProductService"``.
    :param service_name: ``POWERTOOLS_SERVICE_NAME`` (the ``service`` dimension).
        Default ``"product-service"``.
    :param period: aggregation period of every metric. Default 1 minute.
    """

    def __init__(
        self,
        *,
        namespace: str = DEFAULT_METRICS_NAMESPACE,
        service_name: str = DEFAULT_SERVICE_NAME,
        period: Duration | None = None,
    ) -> None:
        if not namespace:
            raise ValueError("namespace must be a non-empty string")
        if not service_name:
            raise ValueError("service_name must be a non-empty string")
        self.namespace = namespace
        self.service_name = service_name
        self.period = period or Duration.minutes(1)

    def metric(self, metric_name: str, *, statistic: str = "Sum") -> cloudwatch.Metric:
        """One EMF metric of the service, e.g. ``metric("L2Hit")``."""
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=metric_name,
            dimensions_map={SERVICE_DIMENSION: self.service_name},
            statistic=statistic,
            period=self.period,
        )

    def metric_hits(self, layer: CacheLayer) -> cloudwatch.Metric:
        """``L1Hit`` or ``L2Hit`` (Sum)."""
        return self.metric(f"{layer}Hit")

    def metric_misses(self, layer: CacheLayer) -> cloudwatch.Metric:
        """``L1Miss`` or ``L2Miss`` (Sum)."""
        return self.metric(f"{layer}Miss")

    def metric_hit_rate_percent(
        self, layer: CacheLayer, *, min_requests: int = 1
    ) -> cloudwatch.MathExpression:
        """Hits / (hits + misses) in percent; 100 in periods with fewer than ``min_requests``.

        A layer publishes a hit or a miss only when it is consulted, so either series can
        be absent in a period: FILL(..., 0) keeps an all-hit or all-miss minute meaningful.
        Periods with fewer lookups than ``min_requests`` report 100 (healthy), so a quiet
        service never looks like a cold cache.
        """
        _check_min_requests(min_requests)
        # Ids name the layer: two layers' rates can then share one graph or alarm.
        h, m = f"{layer.lower()}_hits", f"{layer.lower()}_misses"
        hits, lookups = f"FILL({h}, 0)", f"(FILL({h}, 0) + FILL({m}, 0))"
        return cloudwatch.MathExpression(
            expression=f"IF({lookups} >= {min_requests}, 100 * {hits} / {lookups}, 100)",
            using_metrics={h: self.metric_hits(layer), m: self.metric_misses(layer)},
            label=f"{layer} hit rate %",
            period=self.period,
        )

    def metric_bypass_rate_percent(self, *, min_requests: int = 1) -> cloudwatch.MathExpression:
        """CacheBypass / (L2Hit + L2Miss + CacheBypass) in percent; 0 below ``min_requests``.

        The denominator is every read that got past L1 and either consulted L2 (hit or miss)
        or skipped it (bypass: L2 unavailable, breaker open). Guarded like the hit rate.
        """
        _check_min_requests(min_requests)
        bypasses = "FILL(bypasses, 0)"
        reads = f"(FILL(l2_hits, 0) + FILL(l2_misses, 0) + {bypasses})"
        return cloudwatch.MathExpression(
            expression=f"IF({reads} >= {min_requests}, 100 * {bypasses} / {reads}, 0)",
            using_metrics={
                "l2_hits": self.metric_hits("L2"),
                "l2_misses": self.metric_misses("L2"),
                "bypasses": self.metric("CacheBypass"),
            },
            label="cache bypass rate %",
            period=self.period,
        )


def _check_min_requests(min_requests: int) -> None:
    if min_requests < 1:
        raise ValueError(f"min_requests must be an integer >= 1, got {min_requests!r}")
