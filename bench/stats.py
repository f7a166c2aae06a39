"""Percentiles and ratios as the report prints them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float | int]:
    """p50/p99 (and count) of latencies given in seconds, in milliseconds."""
    if not samples_s:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "n": 0}
    values = np.asarray(samples_s, dtype=float) * 1000
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 4),
        "p99_ms": round(float(np.percentile(values, 99)), 4),
        "n": len(values),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)
