"""The runtime's metric names (EMF), namespace and dimension: what the functions publish and
what CacheDashboard and CacheAlarms read (docs/architecture.md, "Metrics"). Pure Python."""

from __future__ import annotations

SERVICE_NAME = "product-service"
"""`POWERTOOLS_SERVICE_NAME` of every function (the metric dimension `service`)."""
DEFAULT_METRICS_NAMESPACE = "CachedProductService"
SERVICE_DIMENSION = "service"
"""The EMF dimension Powertools adds to every metric."""

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
L1_TRACKING_UNAVAILABLE = "L1TrackingUnavailable"
"""Counted once per environment whose Redis/Valkey refused client tracking: its L1 is then
bounded by the policy's L1 TTL only (docs/architecture.md, "Consistency promise")."""
PUSH_PUBLISHED = "PushPublished"
"""Publish requests the push channel accepted (one per channel a change is published to)."""
PUSH_PUBLISH_FAILURE = "PushPublishFailure"
"""Publish requests that failed or were skipped (breaker open); the record still succeeds."""
PUSH_HANDED_OVER = "PushHandedOver"
"""Publish requests the stream function handed to the push publisher function (async invoke)."""
PUSH_HANDOVER_FAILURE = "PushHandoverFailure"
"""Publish requests whose handover failed or was skipped (breaker open); the record still
succeeds."""

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
    L1_TRACKING_UNAVAILABLE,
    PUSH_PUBLISHED,
    PUSH_PUBLISH_FAILURE,
    PUSH_HANDED_OVER,
    PUSH_HANDOVER_FAILURE,
)
"""Counts (unit Count), summed per flush."""
LATENCY_METRICS: tuple[str, ...] = (L1_LATENCY, L2_LATENCY, ORIGIN_LATENCY)
"""Latencies (unit Milliseconds), one sample per call."""
DEGRADED_PATH_METRICS: tuple[str, ...] = (
    CACHE_BYPASS,
    STALE_SERVED,
    LEASE_WAIT,
    CACHE_WRITE_FAILURE,
)
"""Counts that say a read or write took a slower or weaker path."""
