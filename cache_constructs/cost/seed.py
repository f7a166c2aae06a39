"""The guide's `analyzeCacheCost`, reproduced exactly, to compare the real model against.

savings = hits / 1e6 x the DynamoDB read price per million - a flat cache cost. It counts only
DynamoDB reads (at the guide's $0.25 per million), charges every layer the same flat sum and
ignores what a stage-cache hit saves above DynamoDB: docs/cost.md recomputes its two examples.
"""

from __future__ import annotations

from dataclasses import dataclass

from cache_constructs.cost.errors import InputError

GUIDE_HIT_RATE = 0.8
GUIDE_REQUESTS = 10_000_000
GUIDE_DYNAMO_READ_COST = 0.25
"""Dollars per million DynamoDB reads, as the guide has it."""
GUIDE_CACHE_COST = 15.0
"""Dollars a month for "the cache", whatever it is."""


@dataclass(frozen=True)
class SeedResult:
    """The guide's figures for one month."""

    hits: float
    read_savings: float
    cache_cost: float

    @property
    def net(self) -> float:
        """Net monthly savings: what the hits save on reads minus the cache."""
        return self.read_savings - self.cache_cost


def analyze_cache_cost(
    *,
    hit_rate: float = GUIDE_HIT_RATE,
    requests: float = GUIDE_REQUESTS,
    dynamo_read_cost: float = GUIDE_DYNAMO_READ_COST,
    cache_cost: float = GUIDE_CACHE_COST,
) -> SeedResult:
    """The guide's formula; InputError naming the flag for a negative value or a rate over 1."""
    if not 0 <= hit_rate <= 1:
        raise InputError("--hit-rate", f"must be between 0 and 1, got {hit_rate}")
    for name, value in (
        ("--requests", requests),
        ("--dynamo-read-cost", dynamo_read_cost),
        ("--cache-cost", cache_cost),
    ):
        if value < 0:
            raise InputError(name, f"must be >= 0, got {value}")
    hits = requests * hit_rate
    return SeedResult(hits=hits, read_savings=hits / 1e6 * dynamo_read_cost, cache_cost=cache_cost)


def format_seed(result: SeedResult) -> str:
    """The guide's output, ending with `Net monthly savings: $<net>`."""
    return "\n".join(
        [
            f"Cache hits: {result.hits:,.0f}",
            f"DynamoDB read savings: ${result.read_savings:.2f}",
            f"Cache cost: ${result.cache_cost:.2f}",
            f"Net monthly savings: ${result.net:.2f}",
        ]
    )
