"""The consistency model's adapter for the runtime at b139d26 (before issue 8's fixes).

Selected with CONSISTENCY_MODEL_CODE=model_code_b139d26 while that commit's package is the
`cache_constructs` on the path (pytest's `-o pythonpath=<checkout of b139d26>`); the command
is in tests/runtime/MODEL_FINDINGS.md. Nothing imports this module unless it is selected: it
builds runtimes with b139d26's `build_runtime`, which this checkout's does not match.

b139d26 has no L1 client tracking and no `Cache-Control: no-cache` path, so every L1 there is
bounded by its TTL (the model judges its readers so) and a no-cache request is a plain one.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from typing import Any

LEASE_WAIT_SECONDS = 0.5
"""As model_code.LEASE_WAIT_SECONDS (b139d26 calls it `lease_wait_seconds`)."""


class CodeB139d26:
    """b139d26: L1 bounded by its TTL, no-cache not special."""

    name = "b139d26"
    tracks_l1 = False
    skips_l1_on_no_cache = False

    def __init__(self) -> None:
        from cache_constructs.product.domain.codec import PRODUCT_CODEC

        self.codec = PRODUCT_CODEC

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
        from cache_constructs.runtime.config import load_config
        from cache_constructs.runtime.runtime import build_runtime

        build: Any = build_runtime  # b139d26's signature, not this checkout's
        return build(
            load_config(environ),
            codec=self.codec,
            dynamodb_client=dynamodb_client,
            dax_client=dax_client,
            clock=clock,
            rng=rng,
            sleep=lambda _seconds: None,
            lease_wait_seconds=LEASE_WAIT_SECONDS,
        )

    def l1_coherent(self, runtime: Any) -> bool:
        return False

    def no_cache(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def close(self, runtime: Any) -> None:
        client = runtime.l2._client if runtime.l2 is not None else None
        if client is not None:
            client.close()


CODE = CodeB139d26()
