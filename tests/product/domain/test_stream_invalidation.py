"""The stream function's Redis retry window: the invocation's remaining time minus a margin."""

from __future__ import annotations

import pytest
from handler_env import LambdaContext

from cache_constructs.contract.stream import (
    INVALIDATION_FUNCTION_TIMEOUT_SECONDS,
    INVALIDATION_RETRY_MARGIN_SECONDS,
)
from cache_constructs.product.domain.stream_invalidation import retry_window_seconds


@pytest.mark.parametrize(
    ("remaining_ms", "window"),
    [
        (INVALIDATION_FUNCTION_TIMEOUT_SECONDS * 1000, 55.0),
        (INVALIDATION_RETRY_MARGIN_SECONDS * 1000 + 300, 0.3),
        (INVALIDATION_RETRY_MARGIN_SECONDS * 1000 - 1, 0.0),  # no time left: one attempt each
    ],
)
def test_the_window_is_the_remaining_time_minus_the_margin(
    remaining_ms: int, window: float
) -> None:
    assert retry_window_seconds(LambdaContext(remaining_ms=remaining_ms)) == pytest.approx(window)


def test_without_a_lambda_context_the_deployed_window_applies() -> None:
    assert retry_window_seconds(None) == (
        INVALIDATION_FUNCTION_TIMEOUT_SECONDS - INVALIDATION_RETRY_MARGIN_SECONDS
    )
