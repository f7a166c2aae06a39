"""The L2 cache: ElastiCache for Valkey, as two variants behind one interface.

- `ServerlessValkeyCache` (``AWS::ElastiCache::ServerlessCache``) with
  `ServerlessValkeyCacheProps`;
- `ReplicatedValkeyCache` (``AWS::ElastiCache::ReplicationGroup``) with
  `ReplicatedValkeyCacheProps`;
- `ImportedValkeyCache`: an existing endpoint;

all of them `IValkeyCache` (what a function is granted). `ValkeyCache` is the shared base of
the two built variants.
"""

from cache_constructs.valkey_cache.access import (
    DEFAULT_ACCESS_STRING,
    DEFAULT_PORT,
    ENGINE,
    ENGINE_VERSIONS,
    KEY_PATTERN,
    NAMESPACE,
    RUNTIME_COMMANDS,
)
from cache_constructs.valkey_cache.base import ValkeyCache
from cache_constructs.valkey_cache.imported import IMPORTED_AUTH_MODES, ImportedValkeyCache
from cache_constructs.valkey_cache.interface import IValkeyCache
from cache_constructs.valkey_cache.props import (
    ReplicatedValkeyCacheProps,
    ServerlessValkeyCacheProps,
    ValkeyCacheProps,
)
from cache_constructs.valkey_cache.replicated import ReplicatedValkeyCache
from cache_constructs.valkey_cache.serverless import ServerlessValkeyCache

__all__ = [
    "DEFAULT_ACCESS_STRING",
    "DEFAULT_PORT",
    "ENGINE",
    "ENGINE_VERSIONS",
    "IMPORTED_AUTH_MODES",
    "KEY_PATTERN",
    "NAMESPACE",
    "RUNTIME_COMMANDS",
    "IValkeyCache",
    "ImportedValkeyCache",
    "ReplicatedValkeyCache",
    "ReplicatedValkeyCacheProps",
    "ServerlessValkeyCache",
    "ServerlessValkeyCacheProps",
    "ValkeyCache",
    "ValkeyCacheProps",
]
