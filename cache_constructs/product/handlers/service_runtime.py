"""The product functions' one CacheRuntime per process, built from the environment once.

Handlers call `get_runtime()`; tests and the local stack install their own with
`set_runtime(build_runtime(..., codec=PRODUCT_CODEC))`.
"""

from __future__ import annotations

import os
import threading

from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import CacheRuntime, build_runtime

_runtime: CacheRuntime | None = None
_lock = threading.Lock()


def get_runtime() -> CacheRuntime:
    """The process's runtime, built once from `load_config(os.environ)`."""
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                _runtime = build_runtime(load_config(os.environ), codec=PRODUCT_CODEC)
    return _runtime


def set_runtime(runtime: CacheRuntime | None) -> None:
    """Replace (or with None, forget) the process's runtime: tests and the local stack."""
    global _runtime
    with _lock:
        _runtime = runtime
