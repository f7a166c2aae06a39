"""The issue's targets for ours, checked against a run's results.

Each check gives the target as the README states it, the measured figure, and met/missed.
A scenario that failed to run counts as missed, with its error as the figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    met: bool | None  # None: could not be measured


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _cmp(value: Any, limit: float, *, strict: bool = False) -> bool | None:
    if not isinstance(value, int | float):
        return None
    return value < limit if strict else value <= limit


def _hit_path_checks(ours_hit: dict[str, Any], level: str, prefix: str) -> list[Check]:
    """The three hit-path targets at one level: the cache API or the read handler."""
    l2_p50 = ours_hit.get(f"{prefix}l2_p50_vs_raw")
    l2_p99 = ours_hit.get(f"{prefix}l2_p99_vs_raw")
    l1_vs_l2 = ours_hit.get(f"{prefix}l1_p50_vs_l2_p50")
    return [
        Check(f"L2 hit p50 <= 1.3x raw GET + decode ({level})", f"{l2_p50}x", _cmp(l2_p50, 1.3)),
        Check(f"L2 hit p99 <= 2x raw GET + decode ({level})", f"{l2_p99}x", _cmp(l2_p99, 2.0)),
        Check(
            f"L1 hit < 0.1x an L2 hit (p50, {level})",
            f"{l1_vs_l2}x",
            _cmp(l1_vs_l2, 0.1, strict=True),
        ),
    ]


def _error(figures: Any) -> str:
    message = figures.get("error") if isinstance(figures, dict) else "not run"
    return f"error: {str(message)[:80]}"


def _stampede_check(case: str, figures: Any) -> Check:
    """One origin read; a case run several times (processes) must read once in every run."""
    label = case.replace("_", ", ")
    if not isinstance(figures, dict) or "origin_reads" not in figures:
        return Check(f"Stampede ({label}): 1 origin read", _error(figures), None)
    per_run = figures.get("origin_reads_per_run")
    if per_run is None:
        reads = figures["origin_reads"]
        return Check(f"Stampede ({label}): 1 origin read", f"{reads}", reads == 1)
    return Check(
        f"Stampede ({label}): 1 origin read in each of {len(per_run)} runs",
        ", ".join(str(n) for n in per_run),
        bool(per_run) and all(n == 1 for n in per_run),
    )


def _list_stampede_check(figures: Any) -> Check:
    target = "List stampede: 1 query per page per generation"
    if not isinstance(figures, dict) or "queries_per_generation" not in figures:
        return Check(target, _error(figures), None)
    per_generation = figures["queries_per_generation"]
    return Check(
        target,
        f"{', '.join(str(n) for n in per_generation)} ({figures.get('callers')} callers, "
        f"{figures.get('processes')} processes)",
        bool(per_generation) and all(n == 1 for n in per_generation),
    )


def _stale_check(target: str, figures: Any) -> Check:
    stale = figures.get("stale_reads") if isinstance(figures, dict) else None
    if stale is None:
        return Check(target, _error(figures), None)
    return Check(target, f"{stale}", _cmp(stale, 0))


def checks(results: dict[str, Any]) -> list[Check]:
    scenarios = results.get("scenarios", {})
    hit = scenarios.get("hit_path", {})
    ours_hit = _get(hit, "peers", "ours") or {}
    cold = _get(scenarios, "cold_start", "peers", "ours", "vs_floor")
    stampede = _get(scenarios, "stampede", "peers", "ours") or {}
    stale = _get(scenarios, "stale_reads", "peers", "ours", "stale_reads")
    outage_peers = _get(scenarios, "redis_outage", "peers") or {}
    outage_5xx = [outage_peers.get(variant, {}).get("5xx") for variant in ("ours", "ours_l1_off")]
    outage = None if None in outage_5xx else sum(outage_5xx)
    zipf = scenarios.get("zipf", {})
    # Judged on the budget-equal variant: ours with the same L2 as the peers and no L1.
    zipf_ours = _get(zipf, "peers", "ours_l1_off") or {}
    lru = zipf.get("lru_reference_hit_ratio")
    naive_reads = _get(zipf, "peers", "naive", "origin_reads")
    result = _hit_path_checks(ours_hit, "cache API", "")
    result += _hit_path_checks(ours_hit, "read handler", "handler_")
    result.append(
        Check("Cold start to first response <= 1.0x the floor", f"{cold}x", _cmp(cold, 1.0))
    )
    for case, figures in sorted(stampede.items()):
        result.append(_stampede_check(case, figures))
    result += [
        _list_stampede_check(_get(scenarios, "list_stampede", "peers", "ours")),
        Check("Stale reads beyond the promise: 0", f"{stale}", _cmp(stale, 0)),
        _stale_check(
            "Stale reads under eviction pressure (small maxmemory, volatile-lru and "
            "allkeys-lru): 0",
            _get(scenarios, "stale_reads_eviction", "peers", "ours"),
        ),
        _stale_check(
            "Stale reads under Redis blips: 0",
            _get(scenarios, "stale_reads_blips", "peers", "ours"),
        ),
        Check(
            "5xx during a Redis outage: 0 (L1 on + L1 off)",
            " + ".join(str(n) for n in outage_5xx),
            _cmp(outage, 0),
        ),
        Check(
            "Zipf hit ratio >= the LRU reference (same trace; ours L2 only, same budget)",
            f"{zipf_ours.get('hit_ratio')} vs {lru}",
            _cmp(-(zipf_ours.get("hit_ratio") or 0), -(lru or 0))
            if zipf_ours.get("hit_ratio") is not None and lru is not None
            else None,
        ),
        Check(
            "Zipf origin reads <= the naive peer's (ours L2 only, same budget)",
            f"{zipf_ours.get('origin_reads')} vs {naive_reads}",
            _cmp(zipf_ours.get("origin_reads"), naive_reads) if naive_reads is not None else None,
        ),
    ]
    return result
