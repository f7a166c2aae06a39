"""Ours at the cache API: `runtime.items.read(id)` of cache_constructs.runtime, no handler.

The runtime is built from the environment exactly as the handlers build it
(`cache_constructs.product.handlers.service_runtime.get_runtime()`), with the same variables
as `OursPeer`.
"""

from __future__ import annotations

import os
from typing import Any

from bench.peers.base import PeerSettings, ReadResult
from bench.peers.ours import handler_environment


class OursRuntime:
    name = "ours"

    def __init__(self, settings: PeerSettings) -> None:
        os.environ.update(handler_environment(settings))
        from cache_constructs.product.handlers.service_runtime import get_runtime

        self.runtime: Any = get_runtime()

    def read(self, product_id: str) -> ReadResult:
        read = self.runtime.items.read(product_id)
        return ReadResult(200 if read.body is not None else 404, read.version, read.x_cache)

    def end_invocation(self) -> None:
        """What the handler does after each invocation: flush the buffered EMF metrics.

        Without it the runtime's metric buffer fills and drains itself every 100 reads, a
        cost that on Lambda is paid once per invocation by the handler, not by a read.
        """
        from cache_constructs.runtime.telemetry import metrics

        metrics.flush_metrics()
