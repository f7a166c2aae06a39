"""Multi-layer caching constructs for serverless services (AWS CDK, Python).

The public API: import the constructs from here, e.g.
``from cache_constructs import CachedRestApi, ServerlessValkeyCache``; the product reference is
``from cache_constructs import CachedProductService`` (or ``cache_constructs.product``).

The names are resolved on first use (PEP 562), so the Lambda runtime inside this package
(`cache_constructs.runtime`, `cache_constructs.contract`, the product handlers) imports
without starting aws_cdk and jsii.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cache_constructs.cache_alarms import CacheAlarms, CacheAlarmsProps, Thresholds
    from cache_constructs.cache_dashboard import CacheDashboard
    from cache_constructs.cached_rest_api import CachedRestApi, CachedRestApiProps
    from cache_constructs.contract.policy import CachePolicy
    from cache_constructs.dax_cache import DaxCache, DaxCacheProps
    from cache_constructs.invalidation_channel import (
        InvalidationChannel,
        InvalidationChannelProps,
    )
    from cache_constructs.log_groups import LogGroupSettings
    from cache_constructs.metric_sources import MetricSources, MonitoredService, ServiceMetrics
    from cache_constructs.product.function_code import ProductServiceCode
    from cache_constructs.product.service import CachedProductService
    from cache_constructs.static_site import StaticSite, StaticSiteProps
    from cache_constructs.stream_invalidator import StreamInvalidator
    from cache_constructs.valkey_cache import (
        ImportedValkeyCache,
        IValkeyCache,
        ReplicatedValkeyCache,
        ReplicatedValkeyCacheProps,
        ServerlessValkeyCache,
        ServerlessValkeyCacheProps,
        ValkeyCache,
    )

_EXPORTS = {
    "CacheAlarms": "cache_constructs.cache_alarms",
    "CacheAlarmsProps": "cache_constructs.cache_alarms",
    "CacheDashboard": "cache_constructs.cache_dashboard",
    "CachePolicy": "cache_constructs.contract.policy",
    "CachedProductService": "cache_constructs.product.service",
    "CachedRestApi": "cache_constructs.cached_rest_api",
    "CachedRestApiProps": "cache_constructs.cached_rest_api",
    "DaxCache": "cache_constructs.dax_cache",
    "DaxCacheProps": "cache_constructs.dax_cache",
    "IValkeyCache": "cache_constructs.valkey_cache",
    "ImportedValkeyCache": "cache_constructs.valkey_cache",
    "InvalidationChannel": "cache_constructs.invalidation_channel",
    "InvalidationChannelProps": "cache_constructs.invalidation_channel",
    "LogGroupSettings": "cache_constructs.log_groups",
    "MetricSources": "cache_constructs.metric_sources",
    "MonitoredService": "cache_constructs.metric_sources",
    "ProductServiceCode": "cache_constructs.product.function_code",
    "ReplicatedValkeyCache": "cache_constructs.valkey_cache",
    "ReplicatedValkeyCacheProps": "cache_constructs.valkey_cache",
    "ServerlessValkeyCache": "cache_constructs.valkey_cache",
    "ServerlessValkeyCacheProps": "cache_constructs.valkey_cache",
    "ServiceMetrics": "cache_constructs.metric_sources",
    "StaticSite": "cache_constructs.static_site",
    "StaticSiteProps": "cache_constructs.static_site",
    "StreamInvalidator": "cache_constructs.stream_invalidator",
    "Thresholds": "cache_constructs.cache_alarms",
    "ValkeyCache": "cache_constructs.valkey_cache",
}

__all__ = [
    "CacheAlarms",
    "CacheAlarmsProps",
    "CacheDashboard",
    "CachePolicy",
    "CachedProductService",
    "CachedRestApi",
    "CachedRestApiProps",
    "DaxCache",
    "DaxCacheProps",
    "IValkeyCache",
    "ImportedValkeyCache",
    "InvalidationChannel",
    "InvalidationChannelProps",
    "LogGroupSettings",
    "MetricSources",
    "MonitoredService",
    "ProductServiceCode",
    "ReplicatedValkeyCache",
    "ReplicatedValkeyCacheProps",
    "ServerlessValkeyCache",
    "ServerlessValkeyCacheProps",
    "ServiceMetrics",
    "StaticSite",
    "StaticSiteProps",
    "StreamInvalidator",
    "Thresholds",
    "ValkeyCache",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cache_constructs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
