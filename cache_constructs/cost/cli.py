"""`cache-cost`: the guide's seed formula, and the real per-layer estimate of the stack.

    cache-cost seed --hit-rate 0.8 --requests 10000000 --dynamo-read-cost 0.25 --cache-cost 15
    cache-cost estimate --template cdk.out/CachedProductService-dev.template.json \
        --requests 50000000 --item-kb 2 [--region us-east-1] [--prices index.json] \
        [--json] [--plot savings.png]

Bad input exits 2 with a message naming the flag or field; nothing here raises a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from cache_constructs.cost import model, report, seed
from cache_constructs.cost.errors import InputError
from cache_constructs.cost.prices import PriceBook, load_price_book
from cache_constructs.cost.template import StackConfig, read_template
from cache_constructs.cost.traffic import (
    DEFAULT_BENCH,
    DEFAULT_CONSISTENT_READ_SHARE,
    DEFAULT_CONSISTENT_READ_SOURCE,
    BenchFigures,
    HitRatios,
    Traffic,
    read_bench,
)

BUILT_IN_BENCH = BenchFigures(
    path="built in",
    date="2026-11-24T03:49:07+00:00",
    mode="full",
    l1=4258 / 6937,
    l2=363 / (6937 - 4258),
    shared_cache=0.6536,
    write_fraction=0.01,
)
"""The Zipf figures of the bench run committed with this tool, used when no result file is found.
That run counts no consistent reads (it predates the fences): the consistent share then falls
back to `DEFAULT_CONSISTENT_READ_SHARE` (a later quick run's count)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0, or 2 for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "seed":
            return _seed(args)
        return _estimate(args)
    except InputError as exc:
        parser.exit(2, f"{parser.prog} {args.command}: error: {exc}\n")
    return 2  # pragma: no cover (parser.exit raises)


def _seed(args: argparse.Namespace) -> int:
    result = seed.analyze_cache_cost(
        hit_rate=args.hit_rate,
        requests=args.requests,
        dynamo_read_cost=args.dynamo_read_cost,
        cache_cost=args.cache_cost,
    )
    print(seed.format_seed(result))
    return 0


def _estimate(args: argparse.Namespace) -> int:
    stack = read_template(_template_path(args.template))
    prices = load_price_book(args.region, args.prices or ())
    traffic = _traffic(args, _bench(args))
    analysis = model.analyse(stack, traffic, prices)
    if args.plot is not None:
        # Imported only now: matplotlib is an optional extra.
        from cache_constructs.cost.plot import write_plot

        write_plot(args.plot, stack, traffic, prices, _plot_title(stack, traffic, prices))
        print(f"Plot written: {args.plot}", file=sys.stderr)
    if args.json:
        data = report.json_report(stack, traffic, prices, analysis)
        print(json.dumps(data, indent=2, allow_nan=False))
    else:
        print(report.text_report(stack, traffic, prices, analysis))
    return 0


def _template_path(given: Path | None) -> Path:
    if given is not None:
        return given
    found = sorted(Path("cdk.out").glob("*.template.json"))
    if len(found) != 1:
        what = "none" if not found else ", ".join(str(p) for p in found)
        raise InputError(
            "--template",
            f"give the synthesized template (`make synth` writes cdk.out/<Stack>.template.json); "
            f"cdk.out/ here has {what}",
        )
    return found[0]


def _bench(args: argparse.Namespace) -> BenchFigures:
    if args.no_bench:
        return BUILT_IN_BENCH
    if args.bench is not None:
        return read_bench(args.bench)
    if DEFAULT_BENCH.is_file():
        return read_bench(DEFAULT_BENCH)
    return BUILT_IN_BENCH


def _traffic(args: argparse.Namespace, bench: BenchFigures) -> Traffic:
    where = (
        f"{bench.path}, {bench.mode} run of {bench.date[:10]}"
        if bench.path != "built in"
        else f"built-in bench figures of {bench.date[:10]}"
    )
    measured = {
        "api": (bench.shared_cache, f"{where}: Zipf, one shared cache (L1 off), as a proxy"),
        "l1": (bench.l1, f"{where}: Zipf HIT-L1 / reads"),
        "l2": (bench.l2, f"{where}: Zipf HIT-L2 / L1 misses"),
        "dax": (0.0, "not measured: DAX is not in the bench"),
    }
    values, sources = {}, {}
    for layer, (default, source) in measured.items():
        given = getattr(args, f"{layer}_hit_ratio")
        values[layer] = default if given is None else given
        sources[layer] = source if given is None else f"--{layer}-hit-ratio"
    consistent_share, consistent_source = _consistent_read_share(args, bench, where)
    reads_per_write = args.read_write_ratio
    if reads_per_write is None:
        fraction = bench.write_fraction
        reads_per_write = math.inf if fraction == 0 else (1 - fraction) / fraction
    return Traffic(
        requests=args.requests,
        reads_per_write=reads_per_write,
        item_kb=args.item_kb,
        hits=HitRatios(**values, sources=sources),
        list_share=args.list_share,
        page_items=args.page_items,
        consistent_read_share=consistent_share,
        consistent_read_source=consistent_source,
        environments=args.environments,
        cached_items=args.cached_items,
        handler_ms=args.handler_ms,
        l2_ms=args.l2_ms,
        origin_ms=args.origin_ms,
    )


def _consistent_read_share(
    args: argparse.Namespace, bench: BenchFigures, where: str
) -> tuple[float, str]:
    """The share of Valkey's item misses read strongly consistent, and where it came from."""
    if args.consistent_read_share is not None:
        return args.consistent_read_share, "--consistent-read-share"
    measured = bench.consistent_read_share
    if measured is None:
        return DEFAULT_CONSISTENT_READ_SHARE, DEFAULT_CONSISTENT_READ_SOURCE
    return measured, (
        f"{where}: Zipf, {bench.consistent_origin_reads} of {bench.origin_reads} read-path "
        "origin reads strongly consistent"
    )


def _plot_title(stack: StackConfig, traffic: Traffic, prices: PriceBook) -> str:
    dates = sorted({u.offer.publication_date[:10] for u in prices.used.values()})
    hits = ", ".join(
        f"{layer} {traffic.hits.of(layer):.2f}" for layer in ("api", "l1", "l2", "dax")
    )
    return (
        f"{Path(stack.source).name}, {prices.region} prices of {', '.join(dates)}\n"
        f"{traffic.item_kb:g} KB items, {traffic.reads_per_write:g} reads per write, "
        f"{traffic.list_share:.0%} list reads\nhit ratios {hits}; "
        f"{traffic.consistent_read_share:.1%} of Valkey's item misses read strongly consistent"
    )


# --- arguments ------------------------------------------------------------------------------------


def _number(text: str) -> float:
    cleaned = text.replace(",", "").replace("_", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _whole(text: str) -> int:
    value = _non_negative(text)
    if value != int(value):
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text}")
    return int(value)


def _ratio(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _environments(text: str) -> float:
    value = _number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _read_write_ratio(text: str) -> float:
    """`99`, or `99:1`: reads per write (`1:0` = no writes)."""
    reads, _, writes = text.partition(":")
    r = _non_negative(reads)
    w = _non_negative(writes) if writes else 1.0
    if r == 0:
        raise argparse.ArgumentTypeError(f"needs some reads, got {text}")
    return math.inf if w == 0 else r / w


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cache-cost",
        description="What each cache layer costs and saves a month, and when it pays "
        "(docs/cost.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    guide = commands.add_parser(
        "seed", help="the guide's analyzeCacheCost formula, exactly", description=seed.__doc__
    )
    guide.add_argument("--hit-rate", type=_ratio, default=seed.GUIDE_HIT_RATE)
    guide.add_argument("--requests", type=_non_negative, default=seed.GUIDE_REQUESTS)
    guide.add_argument(
        "--dynamo-read-cost",
        type=_non_negative,
        default=seed.GUIDE_DYNAMO_READ_COST,
        help="dollars per million DynamoDB reads (guide: 0.25)",
    )
    guide.add_argument(
        "--cache-cost",
        type=_non_negative,
        default=seed.GUIDE_CACHE_COST,
        help="flat dollars a month for the cache (guide: 15)",
    )

    est = commands.add_parser(
        "estimate",
        help="the per-layer model of the synthesized stack",
        description="Price the stack of a synthesized template layer by layer.",
    )
    est.add_argument(
        "--template",
        type=Path,
        help="cdk.out/<Stack>.template.json from `make synth` (default: the only one in cdk.out/)",
    )
    est.add_argument("--region", default="us-east-1", help="AWS region code (default us-east-1)")
    est.add_argument(
        "--prices",
        type=Path,
        action="append",
        metavar="FILE",
        help="an AWS offer file (offers/v1.0/aws/<Service>/current/<region>/index.json) that "
        "replaces the shipped snapshot for its service; repeat for several services",
    )
    est.add_argument(
        "--requests",
        type=_non_negative,
        default=10_000_000.0,
        help="API requests a month, reads and writes (default 10,000,000)",
    )
    est.add_argument(
        "--read-write-ratio",
        type=_read_write_ratio,
        help="reads per write, 99 or 99:1 (default: the bench's write fraction)",
    )
    est.add_argument("--item-kb", type=_positive, default=1.0, help="item size in KB (default 1)")
    est.add_argument(
        "--list-share",
        type=_ratio,
        default=0.2,
        help="share of reads that are list pages (default 0.2)",
    )
    est.add_argument(
        "--page-items",
        type=_whole,
        default=20,
        help="items per list page (default 20, the API's default limit)",
    )
    for layer, what in (
        ("api", "of the cached routes' reads, served by the stage cache"),
        ("l1", "of the reads reaching Lambda, served by L1"),
        ("l2", "of L1's misses, served by Valkey"),
        ("dax", "of Valkey's item misses on an anchored fence, served by DAX"),
    ):
        est.add_argument(f"--{layer}-hit-ratio", type=_ratio, help=f"share {what}")
    est.add_argument(
        "--consistent-read-share",
        type=_ratio,
        help="share of Valkey's item misses read from DynamoDB strongly consistent, past DAX "
        "(their fence is new: never made, expired or evicted); the rest meet an anchored "
        "fence and use DAX or an eventually consistent read (default: the bench result's "
        f"consistent share of read-path origin reads, else {DEFAULT_CONSISTENT_READ_SHARE:.3f})",
    )
    est.add_argument(
        "--environments",
        type=_environments,
        help="warm execution environments of each read function, for L1's tracking "
        "connection's health checks (default: the function's mean concurrency, at least 1)",
    )
    est.add_argument(
        "--cached-items",
        type=_whole,
        default=10_000,
        help="items held in Valkey, for serverless stored data (default 10,000)",
    )
    est.add_argument(
        "--handler-ms",
        type=_non_negative,
        default=10.0,
        help="Lambda duration of an invocation apart from cache and origin calls",
    )
    est.add_argument(
        "--l2-ms", type=_non_negative, default=1.0, help="Lambda duration of one Valkey round trip"
    )
    est.add_argument(
        "--origin-ms",
        type=_non_negative,
        default=10.0,
        help="Lambda duration of one DAX or DynamoDB call",
    )
    bench = est.add_mutually_exclusive_group()
    bench.add_argument(
        "--bench",
        type=Path,
        help=f"a `make bench` result (default: {DEFAULT_BENCH} when it exists)",
    )
    bench.add_argument(
        "--no-bench",
        action="store_true",
        help="use the built-in bench figures even if a result file exists",
    )
    est.add_argument("--json", action="store_true", help="print the report as JSON")
    est.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="write net savings against requests a month per layer combination",
    )
    return parser
