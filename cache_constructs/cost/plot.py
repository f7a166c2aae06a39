"""`--plot FILE.png`: net monthly savings against monthly requests for each layer combination.

matplotlib is an optional extra (`pip install 'cache-constructs[cost-plot]'`); it is imported
only here, and only when a plot is asked for.
"""

from __future__ import annotations

import math
from pathlib import Path

from cache_constructs.cost.errors import InputError
from cache_constructs.cost.model import CACHE_LAYERS, REQUIRES, break_even, net_curve, refusal
from cache_constructs.cost.prices import PriceBook
from cache_constructs.cost.template import StackConfig
from cache_constructs.cost.traffic import Traffic

INSTALL_HINT = "pip install 'cache-constructs[cost-plot]'"
POINTS = 61
LOWEST, HIGHEST = 1e5, 1e11
"""The requests-a-month axis: a hundred thousand to a hundred billion."""


class PlotUnavailable(InputError):
    """matplotlib is not installed."""


def plotted_combinations(stack: StackConfig) -> list[frozenset[str]]:
    """Every deployable combination of the stack's paid caches (stage cache, Valkey, DAX), L1
    with each that has Valkey; "no cache" (the zero line) aside.

    L1 is on wherever it can run (it needs Valkey), so the plot shows the choices that cost
    money; what CachePolicy refuses (DAX or L1 without Valkey) is not drawn and the footnote
    says so (`refused_note`). The JSON report lists every deployable combination, L1 off
    included, and the refused ones with their reason.
    """
    paid = [layer for layer in ("api", "l2", "dax") if layer in stack.cache_layers]
    combos: list[frozenset[str]] = []
    for mask in range(1, 2 ** len(paid)):
        layers: set[str] = {layer for i, layer in enumerate(paid) if mask >> i & 1}
        if "l2" in layers:
            layers |= {"l1"} & stack.cache_layers
        if refusal(layers) is None:
            combos.append(frozenset(layers))
    return combos


def refused_note(stack: StackConfig) -> str | None:
    """The plot's footnote: which of the stack's layers CachePolicy refuses without another
    (`REQUIRES`); no line with them alone is drawn."""
    needy = [
        f"{_NAMES[layer]} without {_NAMES[needed]}"
        for layer, needed in REQUIRES.items()
        if layer in stack.cache_layers
    ]
    if not needy:
        return None
    return "Not drawn, refused by CachePolicy: " + ", ".join(needy)


def write_plot(
    path: Path, stack: StackConfig, traffic: Traffic, prices: PriceBook, title: str
) -> list[str]:
    """Draw the lines and their break-even points into the PNG `path`; the texts written
    beside the lines (each line's legend label, then the footnote, if any)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        raise PlotUnavailable(
            "--plot", f"needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from None
    volumes = [LOWEST * (HIGHEST / LOWEST) ** (i / (POINTS - 1)) for i in range(POINTS)]
    figure, axes = pyplot.subplots(figsize=(10, 6), dpi=110)
    texts = []
    for layers in plotted_combinations(stack):
        curve = net_curve(stack, traffic, prices, layers, frozenset())
        crossing = break_even(curve)
        label = _label(layers) + _pays(crossing)
        texts.append(label)
        (line,) = axes.plot(volumes, [curve(n) for n in volumes], label=label, linewidth=1.6)
        if crossing and LOWEST <= crossing <= HIGHEST:
            axes.plot([crossing], [0.0], marker="o", color=line.get_color(), markersize=7)
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yscale("symlog", linthresh=10)
    axes.set_xlabel("requests a month")
    axes.set_ylabel("net monthly savings vs no cache, USD (linear within ±10)")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.25)
    axes.legend(fontsize=8, loc="upper left")
    note = refused_note(stack)
    if note is not None:
        figure.text(0.01, 0.01, note, fontsize=8, color="dimgray")
        texts.append(note)
    figure.tight_layout(rect=(0, 0.03, 1, 1))  # leave the footnote its own strip
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise InputError("--plot", f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        pyplot.close(figure)
    return texts


_NAMES = {"api": "stage cache", "l1": "L1", "l2": "Valkey", "dax": "DAX"}


def _label(layers: frozenset[str]) -> str:
    return " + ".join(_NAMES[layer] for layer in CACHE_LAYERS if layer in layers) or "no cache"


def _pays(crossing: float | None) -> str:
    if crossing is None:
        return " (never pays)"
    if crossing == 0:
        return " (pays from the first request)"
    return f" (pays above {_short(crossing)})"


def _short(n: float) -> str:
    exponent = math.floor(math.log10(n))
    for size, suffix in ((9, "B"), (6, "M"), (3, "k")):
        if exponent >= size:
            return f"{n / 10**size:.3g}{suffix}"
    return f"{n:.0f}"
