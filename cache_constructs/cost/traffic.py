"""The traffic profile the model prices, and the hit ratios `make bench` measured.

Hit ratios are conditional: each is the share of the requests *reaching* that layer which it
serves, in the stack as configured (docs/cost.md explains how a removed layer hands its hits on).
The bench's Zipf scenario replays one trace through this runtime with L1 on ("ours": HIT-L1,
HIT-L2, MISS per read) and with L1 off ("ours_l1_off": one shared cache), which gives L1, L2
and a proxy for a shared stage cache, and counts the read path's strongly consistent origin
reads, which gives the consistent share of Valkey's item misses. DAX is not in the bench.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cache_constructs.cost.errors import InputError

DEFAULT_BENCH = Path("bench") / "results" / "latest.json"
"""Where `make bench` writes its result, relative to the repository (the current directory)."""

DEFAULT_CONSISTENT_READ_SHARE = 262 / 263
"""The consistent share of Valkey's item misses when the bench result does not count them
(runs before the fences): the quick Zipf run with the fences that docs/architecture.md quotes
made 262 of its 263 read-path origin reads strongly consistent (every Zipf miss meets a cold
fence: its key was never cached or was evicted with its fence)."""
DEFAULT_CONSISTENT_READ_SOURCE = (
    "default: the quick Zipf run in docs/architecture.md, 262 of 263 read-path origin reads "
    "strongly consistent"
)


@dataclass(frozen=True)
class HitRatios:
    """Conditional hit ratio per cache layer, and where each figure came from."""

    api: float
    l1: float
    l2: float
    dax: float
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for layer in ("api", "l1", "l2", "dax"):
            _ratio(getattr(self, layer), f"--{layer}-hit-ratio")

    def of(self, layer: str) -> float:
        """The ratio of `layer` (api, l1, l2 or dax)."""
        return float(getattr(self, layer))


@dataclass(frozen=True)
class Traffic:
    """A month of traffic and the few timings that turn it into Lambda GB-seconds."""

    requests: float
    """API requests a month, reads and writes."""
    reads_per_write: float
    item_kb: float
    hits: HitRatios
    list_share: float = 0.2
    """Share of reads that are list pages (GET /products) rather than items."""
    page_items: int = 20
    consistent_read_share: float = DEFAULT_CONSISTENT_READ_SHARE
    """Share of Valkey's item misses read from DynamoDB strongly consistent, past DAX: those
    whose fence is new (never made, expired or evicted) and the rare repeat of an answer the
    fence refused. The rest meet an anchored fence: DAX, or an eventually consistent read."""
    consistent_read_source: str = DEFAULT_CONSISTENT_READ_SOURCE
    environments: float | None = None
    """Warm execution environments of each read function (read, list), each with its own L1
    tracking connection; None: the function's mean concurrency, at least 1."""
    cached_items: int = 10_000
    handler_ms: float = 10.0
    l2_ms: float = 1.0
    origin_ms: float = 10.0

    def __post_init__(self) -> None:
        _non_negative(self.requests, "--requests")
        if not self.reads_per_write > 0:
            raise InputError("--read-write-ratio", f"must be above 0, got {self.reads_per_write}")
        if not (math.isfinite(self.item_kb) and self.item_kb > 0):
            raise InputError("--item-kb", f"must be above 0, got {self.item_kb}")
        _ratio(self.list_share, "--list-share")
        _ratio(self.consistent_read_share, "--consistent-read-share")
        if self.environments is not None and not (
            isinstance(self.environments, int | float)
            and math.isfinite(self.environments)
            and self.environments >= 1
        ):
            raise InputError("--environments", f"must be at least 1, got {self.environments}")
        if self.page_items < 1:
            raise InputError("--page-items", f"must be at least 1, got {self.page_items}")
        _non_negative(self.cached_items, "--cached-items")
        for name in ("handler_ms", "l2_ms", "origin_ms"):
            _non_negative(getattr(self, name), "--" + name.replace("_", "-"))

    @property
    def writes(self) -> float:
        """Writes a month."""
        if math.isinf(self.reads_per_write):
            return 0.0
        return self.requests / (self.reads_per_write + 1)

    @property
    def reads(self) -> float:
        """Reads a month (items and lists)."""
        return self.requests - self.writes

    @property
    def page_kb(self) -> float:
        """The size of one list page."""
        return self.page_items * self.item_kb

    def at(self, requests: float) -> Traffic:
        """The same profile at another monthly volume."""
        return replace(self, requests=requests)


@dataclass(frozen=True)
class BenchFigures:
    """What the latest `make bench` Zipf run measured, for the default hit ratios."""

    path: str
    date: str
    mode: str
    l1: float
    l2: float
    shared_cache: float
    write_fraction: float
    origin_reads: int | None = None
    """Read-path origin reads of ours (None: the file does not count them)."""
    consistent_origin_reads: int | None = None
    """Of those, strongly consistent ones (a cold fence, or a repeat after a refused answer)."""

    @property
    def consistent_read_share(self) -> float | None:
        """Consistent / all read-path origin reads (None when the file has no counts)."""
        if not self.origin_reads or self.consistent_origin_reads is None:
            return None
        return self.consistent_origin_reads / self.origin_reads


def read_bench(path: Path) -> BenchFigures:
    """The Zipf figures of a bench result file (bench/results/latest.json)."""
    where = "--bench"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(where, f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(where, f"{path} is not JSON: {exc.msg}") from None
    zipf = _path(data, ("scenarios", "zipf"), path)
    ours = _path(zipf, ("peers", "ours"), path)
    sources = _path(ours, ("sources",), path)
    reads = _number(ours.get("reads"), "scenarios.zipf.peers.ours.reads", path)
    l1_hits = _number(sources.get("HIT-L1", 0), "...ours.sources.HIT-L1", path)
    # A stale-while-revalidate answer is served from L2 too.
    l2_hits = _number(sources.get("HIT-L2", 0), "...ours.sources.HIT-L2", path) + _number(
        sources.get("STALE", 0), "...ours.sources.STALE", path
    )
    if reads <= 0 or l1_hits > reads:
        raise InputError(where, f"{path}: scenarios.zipf.peers.ours has no usable read counts")
    shared = _path(zipf, ("peers", "ours_l1_off"), path).get("hit_ratio")
    origin_reads, consistent = _consistent_counts(ours, path)
    return BenchFigures(
        path=str(path),
        date=str((data.get("machine") or {}).get("date", "unknown")),
        mode=str(data.get("mode", "unknown")),
        l1=l1_hits / reads,
        l2=l2_hits / (reads - l1_hits) if reads > l1_hits else 0.0,
        shared_cache=_number(shared, "scenarios.zipf.peers.ours_l1_off.hit_ratio", path),
        write_fraction=_number(
            zipf.get("write_fraction", 0.0), "scenarios.zipf.write_fraction", path
        ),
        origin_reads=origin_reads,
        consistent_origin_reads=consistent,
    )


def _consistent_counts(ours: dict[str, Any], path: Path) -> tuple[int | None, int | None]:
    """ours' read-path origin reads and the strongly consistent ones, when the run counted
    them (bench runs since the fences: `consistent_origin_reads`)."""
    if "consistent_origin_reads" not in ours:
        return None, None
    name = "scenarios.zipf.peers.ours"
    reads = _number(ours.get("origin_reads"), f"{name}.origin_reads", path)
    consistent = _number(ours["consistent_origin_reads"], f"{name}.consistent_origin_reads", path)
    if consistent > reads:
        raise InputError(
            "--bench",
            f"{path}: field {name}.consistent_origin_reads ({consistent:g}) is more than "
            f"{name}.origin_reads ({reads:g})",
        )
    return int(reads), int(consistent)


def _path(data: Any, keys: tuple[str, ...], path: Path) -> dict[str, Any]:
    node = data
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise InputError("--bench", f"{path}: field {'.'.join(keys)} is missing")
    return node


def _number(value: Any, name: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError("--bench", f"{path}: field {name} is not a non-negative number")
    return float(value)


def _ratio(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise InputError(name, f"must be between 0 and 1, got {value}")
    return float(value)


def _non_negative(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise InputError(name, f"must be a number >= 0, got {value}")
    return float(value)
