"""The Zipf trace and the exact-LRU reference it is judged against."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Request:
    key: int
    write: bool


def zipf_trace(
    keys: int, requests: int, alpha: float = 0.99, write_fraction: float = 0.01, seed: int = 7
) -> list[Request]:
    """`requests` draws over `keys` ranks with P(rank k) proportional to 1 / k**alpha.

    Ranks are shuffled onto key ids so hot keys are not the low ids. Seeded: every peer and
    the LRU reference see the very same trace.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, keys + 1, dtype=float) ** alpha
    ranks = rng.choice(keys, size=requests, p=weights / weights.sum())
    key_of_rank = rng.permutation(keys)
    writes = rng.random(requests) < write_fraction
    return [Request(int(key_of_rank[r]), bool(w)) for r, w in zip(ranks, writes, strict=True)]


def lru_hit_ratio(trace: Sequence[Request], capacity: int, warmup: int = 0) -> float:
    """Hit ratio of an exact LRU of `capacity` entries on the reads of `trace`.

    A write refreshes the entry (write-through), as every peer's write path does. Reads in
    the first `warmup` requests fill the cache but are not counted.
    """
    hits = lru_hits(trace, capacity, warmup)
    return sum(hits) / len(hits) if hits else 0.0


def lru_hits(trace: Sequence[Request], capacity: int, warmup: int = 0) -> list[bool]:
    """Per counted read of `trace` (as `lru_hit_ratio` counts them), whether the LRU hit."""
    cache: OrderedDict[int, None] = OrderedDict()
    hits: list[bool] = []
    for index, request in enumerate(trace):
        present = request.key in cache
        if present:
            cache.move_to_end(request.key)
        else:
            cache[request.key] = None
            if len(cache) > capacity:
                cache.popitem(last=False)
        if not request.write and index >= warmup:
            hits.append(present)
    return hits
