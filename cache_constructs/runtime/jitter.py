"""TTL jitter: spread expiries so keys filled together do not expire together."""

from __future__ import annotations

import random


def jittered(ttl_seconds: float, fraction: float, rng: random.Random) -> float:
    """`ttl_seconds` shortened by a uniform random share of up to `fraction` of it.

    Jitter only ever shortens a TTL: the configured value stays an upper bound, which the
    consistency promise (max staleness = L1 TTL + invalidation lag) relies on.
    """
    if ttl_seconds <= 0 or fraction <= 0:
        return float(max(ttl_seconds, 0))
    return ttl_seconds * (1.0 - fraction * rng.random())
