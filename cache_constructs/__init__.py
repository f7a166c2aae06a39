"""Multi-layer caching constructs for serverless services (AWS CDK, Python).

The public API: import the constructs from here, e.g.
``from cache_constructs import CachedProductService``.
"""

from cache_constructs.cache_policy import CachePolicy
from cache_constructs.cached_product_service import CachedProductService
from cache_constructs.lambda_code import ProductServiceCode
from cache_constructs.stream_invalidator import StreamInvalidator

__all__ = [
    "CachePolicy",
    "CachedProductService",
    "ProductServiceCode",
    "StreamInvalidator",
]
