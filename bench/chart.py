"""bench/results/latest.png: one panel per scenario, ours / naive / dogpile side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PEERS = ("ours", "naive", "dogpile")
COLORS = {"ours": "#1f77b4", "naive": "#ff7f0e", "dogpile": "#2ca02c", "ref": "#7f7f7f"}


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _bars(ax: Any, labels: list[str], values: list[Any], colors: list[str], title: str) -> None:
    ax.bar(labels, [_num(v) for v in values], color=colors)
    for index, value in enumerate(values):
        text = "n/a" if not isinstance(value, int | float) else f"{value:.3g}"
        ax.annotate(text, (index, _num(value)), ha="center", va="bottom", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", labelsize=7, rotation=20)
    ax.tick_params(axis="y", labelsize=7)


def render(results: dict[str, Any], path: Path) -> None:
    s = results["scenarios"]
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5))
    ax = axes.flat

    hit = s.get("hit_path", {})
    ours = hit.get("peers", {}).get("ours", {})
    peers = hit.get("peers", {})
    l2_api = ours.get("l2_hit_api", {})
    series = [
        ("raw GET", ours.get("raw") or l2_api.get("raw", {}), "ref"),
        ("Powertools floor", ours.get("floor", {}), "ref"),
        ("ours L1 (handler)", ours.get("l1_hit_handler", {}), "ours"),
        ("ours L2 (handler)", ours.get("l2_hit_handler", {}), "ours"),
        ("ours L2 (API)", l2_api, "ours"),
        ("naive", peers.get("naive", {}).get("l2_hit", {}), "naive"),
        ("dogpile", peers.get("dogpile", {}).get("l2_hit", {}), "dogpile"),
    ]
    labels = [name for name, _, _ in series]
    colors = [COLORS[color] for _, _, color in series]
    _bars(ax[0], labels, [f.get("p50_ms") for _, f, _ in series], colors, "1. Hit path p50 (ms)")
    _bars(ax[1], labels, [f.get("p99_ms") for _, f, _ in series], colors, "1. Hit path p99 (ms)")

    cold = s.get("cold_start", {})
    _bars(
        ax[2],
        ["floor", *PEERS],
        [cold.get("floor_median_ms")]
        + [cold.get("peers", {}).get(p, {}).get("median_ms") for p in PEERS],
        [COLORS["ref"]] + [COLORS[p] for p in PEERS],
        "2. Cold start to first response (ms, median)",
    )

    stampede = s.get("stampede", {}).get("peers", {})
    cases = sorted({c for p in PEERS for c in stampede.get(p, {})})
    width = 0.8 / max(1, len(PEERS))
    for i, peer in enumerate(PEERS):
        values = [_num(stampede.get(peer, {}).get(c, {}).get("origin_reads")) for c in cases]
        ax[3].bar(
            [x + i * width for x in range(len(cases))],
            values,
            width,
            label=peer,
            color=COLORS[peer],
        )
    ax[3].set_xticks(
        [x + width for x in range(len(cases))], [c.replace("_", "\n") for c in cases], fontsize=7
    )
    ax[3].set_title("3. Stampede: origin reads (target 1)", fontsize=9)
    ax[3].legend(fontsize=7)

    zipf = s.get("zipf", {})
    zipf_peers = zipf.get("peers", {})
    zipf_series = ("ours_l1_off", "ours", "naive", "dogpile")
    _bars(
        ax[4],
        ["LRU ref", "LRU steady", "ours L2 only", "ours L1+L2*", "naive", "dogpile"],
        [zipf.get("lru_reference_hit_ratio"), zipf.get("steady_lru_hit_ratio")]
        + [zipf_peers.get(p, {}).get("hit_ratio") for p in zipf_series],
        [COLORS["ref"], COLORS["ref"]] + [COLORS[p.split("_")[0]] for p in zipf_series],
        "4. Zipf hit ratio (*: larger total budget)",
    )

    stale = s.get("stale_reads", {}).get("peers", {})
    _bars(
        ax[5],
        list(PEERS),
        [stale.get(p, {}).get("stale_reads") for p in PEERS],
        [COLORS[p] for p in PEERS],
        "5. Stale reads beyond the promise (target 0)",
    )

    outage = s.get("redis_outage", {}).get("peers", {})
    variants = ("ours", "ours_l1_off", "naive", "dogpile")
    _bars(
        ax[6],
        ["ours", "ours L1 off", "naive", "dogpile"],
        [outage.get(p, {}).get("5xx") for p in variants],
        [COLORS[p.split("_")[0]] for p in variants],
        "6. 5xx during Redis outage (target 0)",
    )

    synth = s.get("synth", {})
    _bars(
        ax[7],
        ["product stack", "one function"],
        [synth.get("product_stack_s"), synth.get("one_function_s")],
        [COLORS["ours"], COLORS["ref"]],
        f"7. python app.py synth, no CLI/bundling (s; ratio {synth.get('ratio')})",
    )

    machine = results["machine"]
    fig.suptitle(
        f"ours vs naive vs dogpile.cache: {results['mode']} run, {machine['date']}, "
        f"{machine['cores']} cores, Python {machine['python']}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
