"""Percentiles and ratios as the report prints them, and the sampling-error verdicts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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


def paired_bootstrap(
    samples: dict[str, Sequence[float]],
    statistic: Callable[[dict[str, np.ndarray]], float],
    *,
    resamples: int = 200,
    blocks: int = 20,
    seed: int = 0,
) -> tuple[float, float]:
    """`statistic` of paired series (index i of every series is one round) and its standard
    error, the sampling error a verdict's tolerance is taken from.

    A moving-block bootstrap: the rounds are cut into `blocks` runs of consecutive rounds,
    and each resample draws that many runs with replacement. On a shared machine the load
    comes in bursts that last many rounds, so neighbouring rounds are not independent; an
    ordinary bootstrap of single rounds would understate the error.
    """
    arrays = {name: np.asarray(values, dtype=float) for name, values in samples.items()}
    rounds = min(len(values) for values in arrays.values())
    arrays = {name: values[:rounds] for name, values in arrays.items()}
    estimate = float(statistic(arrays))
    size = max(1, rounds // blocks)
    starts = np.arange(0, rounds - size + 1)
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(resamples):
        chosen = rng.choice(starts, size=max(1, rounds // size))
        picked = (chosen[:, None] + np.arange(size)[None, :]).ravel()
        replicates.append(float(statistic({name: v[picked] for name, v in arrays.items()})))
    return estimate, float(np.std(replicates, ddof=1))


TOLERANCE_STANDARD_ERRORS = 2.0
"""A target is missed only when the estimate is beyond it by more than this many standard
errors, so a verdict near its limit does not flip between runs on sampling noise."""


def judge(estimate: float, standard_error: float, target: float | None, strict: bool) -> Any:
    """met unless the estimate exceeds the target by more than the tolerance."""
    if target is None:
        return None
    tolerance = TOLERANCE_STANDARD_ERRORS * standard_error
    return estimate - tolerance < target if strict else estimate - tolerance <= target
