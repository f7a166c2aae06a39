"""The code under test, as the consistency model reaches it: this checkout's runtime.

The model imports the product domain (writes, validation, preconditions, the stream handler)
and the policy itself; what differs between versions of the runtime (how a runtime is built,
whether L1 client tracking and `Cache-Control: no-cache` exist, how it is closed) goes
through a code object. `model_machine.load_code()` returns `MainCode()`, or the `CODE` of
the module that CONSISTENCY_MODEL_CODE names: issue 8's evidence ran the same model against
b139d26 through `model_code_b139d26` (tests/runtime/MODEL_FINDINGS.md).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from typing import Any

from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.l1_cache import skipping_l1
from cache_constructs.runtime.runtime import build_runtime
from cache_constructs.runtime.tracking import REFUSED

LEASE_WAIT_SECONDS = 0.5
"""Waiters poll a paused lease holder this long (model time: the model's sleep is a no-op)
before reading the origin themselves; the bound's size does not matter to consistency."""


class MainCode:
    """This checkout: L1 kept coherent by client tracking, no-cache skips L1."""

    name = "this checkout"
    tracks_l1 = True
    """Whether L1 can be coherent (client tracking); else every L1 is bounded by its TTL."""
    skips_l1_on_no_cache = True
    """Whether a request with `Cache-Control: no-cache` skips L1."""
    codec = PRODUCT_CODEC

    def build_runtime(
        self,
        environ: dict[str, str],
        *,
        tracking: bool,
        dynamodb_client: Any,
        dax_client: Any,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> Any:
        return build_runtime(
            load_config(environ),
            codec=PRODUCT_CODEC,
            dynamodb_client=dynamodb_client,
            dax_client=dax_client,
            clock=clock,
            rng=rng,
            sleep=lambda _seconds: None,
            lease_wait_max_seconds=LEASE_WAIT_SECONDS,
            l1_tracking=tracking,
        )

    def l1_coherent(self, runtime: Any) -> bool:
        """True while nothing but tracked values can enter this runtime's L1."""
        tracker = runtime.tracker
        return tracker is not None and tracker.state != REFUSED

    def no_cache(self) -> contextlib.AbstractContextManager[None]:
        """The context of a request with `Cache-Control: no-cache`."""
        return skipping_l1()

    def close(self, runtime: Any) -> None:
        if runtime.tracker is not None:
            runtime.tracker.close()
        client = runtime.l2._client if runtime.l2 is not None else None
        if client is not None:
            client.close()
