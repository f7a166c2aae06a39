"""Multi-layer caching constructs for serverless services (AWS CDK, Python).

The public API: import the constructs from here, e.g.
``from cache_constructs import CachedProductService``.
"""

from cache_constructs.cache_alarms import CacheAlarms
from cache_constructs.cache_dashboard import CacheDashboard
from cache_constructs.cache_policy import CachePolicy
from cache_constructs.cached_product_service import CachedProductService
from cache_constructs.cached_rest_api import CachedRestApi
from cache_constructs.dax_cache import DaxCache
from cache_constructs.lambda_code import ProductServiceCode
from cache_constructs.metric_sources import ServiceMetrics
from cache_constructs.stream_invalidator import StreamInvalidator
from cache_constructs.valkey_cache import ValkeyCache

__all__ = [
    "CacheAlarms",
    "CacheDashboard",
    "CachePolicy",
    "CachedProductService",
    "CachedRestApi",
    "DaxCache",
    "ProductServiceCode",
    "ServiceMetrics",
    "StreamInvalidator",
    "ValkeyCache",
]
