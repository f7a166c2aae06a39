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
    baseline: bool = False
    """A measured reference with no target of its own (the report prints "baseline")."""


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


def _judged(ours_hit: dict[str, Any], name: str) -> tuple[str, bool | None]:
    """A hit-path statistic as `value x (+- tolerance)` and its verdict."""
    judged = (ours_hit.get("judged") or {}).get(name) or {}
    value, tolerance = judged.get("value"), judged.get("tolerance")
    if value is None:
        return f"{ours_hit.get('error', 'not measured')}"[:120], None
    return f"{value}x (+-{tolerance})", judged.get("met")


def _us(figures: dict[str, Any]) -> str:
    p50 = figures.get("p50_ms")
    return f"{p50 * 1000:.1f} us" if isinstance(p50, int | float) else "-"


def _hit_path_checks(ours_hit: dict[str, Any]) -> list[Check]:
    """The cache API's three targets and the read handler's two, judged with the tolerance
    of bench/scenarios/hit_path.py; the Powertools floor as a measured baseline."""
    result = []
    for name, target in (
        ("l2_p50_vs_raw", "L2 hit p50 <= 1.3x raw GET + decode (cache API)"),
        ("l2_p99_vs_raw", "L2 hit p99 <= 2x raw GET + decode (cache API)"),
        ("l1_p50_vs_l2_p50", "L1 hit < 0.1x an L2 hit (p50, cache API)"),
    ):
        measured, met = _judged(ours_hit, name)
        result.append(Check(target, measured, met))
    floor, bare = ours_hit.get("floor") or {}, ours_hit.get("bare_resolver") or {}
    ratio, _ = _judged(ours_hit, "floor_vs_bare_resolver")
    result.append(
        Check(
            "Powertools floor p50 (resolver + Logger + Metrics as the read handler wires them, "
            "constant body): measured baseline",
            f"{_us(floor)} = {ratio.split(' ')[0]} the bare resolver ({_us(bare)})",
            None,
            baseline=True,
        )
    )
    measured, met = _judged(ours_hit, "handler_l1_vs_floor")
    l1 = ours_hit.get("l1_hit_handler") or {}
    result.append(
        Check(
            "Read handler L1 hit p50 <= 1.25x the Powertools floor",
            f"{measured}: {_us(l1)} vs {_us(floor)}",
            met,
        )
    )
    measured, met = _judged(ours_hit, "handler_l2_vs_floor_plus_raw")
    l2, raw = ours_hit.get("l2_hit_handler") or {}, ours_hit.get("raw") or {}
    result.append(
        Check(
            "Read handler L2 hit p50 <= the Powertools floor + 1.3x raw GET + decode",
            f"{measured} of that sum: {_us(l2)} vs {_us(floor)} + 1.3 x {_us(raw)}",
            met,
        )
    )
    return result


def _convergence_checks(section: dict[str, Any]) -> list[Check]:
    ours = _get(section, "peers", "ours") or {}
    naive = _get(section, "peers", "naive") or {}
    p99, p50 = ours.get("p99_ms"), ours.get("p50_ms")
    never, stale = ours.get("never_converged"), ours.get("stale_reads_after_ack")
    met: bool | None = None
    if isinstance(p99, int | float) and isinstance(never, int):
        met = never == 0 and p99 <= 1000 * float(section.get("target_s", 1.0))
    measured = (
        f"p50 {p50} ms, p99 {p99} ms over {ours.get('readers')} reader processes "
        f"({ours.get('writes')} writes, {never} never; {stale} reads after an ack returned "
        f"an older version); naive p50 {naive.get('p50_ms')} ms, p99 {naive.get('p99_ms')} ms"
        if p99 is not None
        else f"error: {str(ours.get('error'))[:80]}"
    )
    return [Check("Read-your-writes convergence across processes: p99 <= 1 s", measured, met)]


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


def _zipf_check(
    target: str, measured: str, judged: dict[str, Any] | None, unjudged: bool | None
) -> Check:
    """A Zipf comparison: judged on the paired per-read hits with their sampling error when
    the run recorded them (bench/scenarios/zipf.py), else on the bare figures."""
    if not judged:
        return Check(target, measured, unjudged)
    return Check(
        target,
        f"{measured} (hit-ratio gap {judged['value']} +-{judged['tolerance']})",
        judged["met"],
    )


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
    result = _hit_path_checks(ours_hit)
    cold_judged = _get(scenarios, "cold_start", "peers", "ours", "judged") or {}
    result.append(
        Check(
            "Cold start to first response <= 1.0x the floor",
            f"{cold}x (+-{cold_judged.get('tolerance')})" if cold_judged else f"{cold}x",
            cold_judged.get("met") if cold_judged else _cmp(cold, 1.0),
        )
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
        _zipf_check(
            "Zipf hit ratio >= the LRU reference (same trace; ours L2 only, same budget)",
            f"{zipf_ours.get('hit_ratio')} vs {lru}",
            _get(zipf, "judged", "lru_hit_ratio_minus_ours"),
            _cmp(-(zipf_ours.get("hit_ratio") or 0), -(lru or 0))
            if zipf_ours.get("hit_ratio") is not None and lru is not None
            else None,
        ),
        _zipf_check(
            "Zipf origin reads <= the naive peer's (ours L2 only, same budget)",
            f"{zipf_ours.get('origin_reads')} vs {naive_reads}",
            _get(zipf, "judged", "naive_hit_ratio_minus_ours"),
            _cmp(zipf_ours.get("origin_reads"), naive_reads) if naive_reads is not None else None,
        ),
    ]
    if "convergence" in scenarios:
        result += _convergence_checks(scenarios["convergence"])
    return result
