"""Multi-layer caching constructs for serverless services (AWS CDK, Python).

The public API: import the constructs from here, e.g.
``from cache_constructs import CachedProductService``.
"""

from cache_constructs.lambda_code import ProductServiceCode

__all__ = [
    "ProductServiceCode",
]
