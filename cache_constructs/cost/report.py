"""What `cache-cost estimate` prints: the per-layer table, recommendations, and the JSON form."""

from __future__ import annotations

import math
from typing import Any

from cache_constructs.cost.model import (
    CACHE_LAYERS,
    LINE_OWNERS,
    WHY_REQUIRED,
    Analysis,
    LayerResult,
)
from cache_constructs.cost.prices import SNAPSHOT_ORIGIN, PriceBook
from cache_constructs.cost.template import NodeCacheConfig, ServerlessCacheConfig, StackConfig
from cache_constructs.cost.traffic import Traffic

BASE_ROWS = (
    ("lambda", "Lambda (read, list, write)", "lambda_invocations", "invocations"),
    ("dynamodb", "DynamoDB", "dynamodb_requests", "requests"),
    ("api requests", "API Gateway requests", "requests", "every request"),
)


def layer_name(stack: StackConfig, layer: str) -> str:
    """The layer as a person knows it, with its size from the template."""
    if layer == "api" and stack.api_cache is not None:
        return f"API Gateway stage cache ({stack.api_cache.size_gb} GB)"
    if layer == "l1":
        return "L1 in-process"
    if layer == "l2":
        cache = stack.valkey
        if isinstance(cache, ServerlessCacheConfig):
            return f"{cache.engine.capitalize()} serverless"
        if isinstance(cache, NodeCacheConfig):
            return f"{cache.engine.capitalize()} {cache.nodes} x {cache.node_type}"
    if layer == "dax" and stack.dax is not None:
        return f"DAX {stack.dax.nodes} x {stack.dax.node_type}"
    return layer


def row_name(stack: StackConfig, result: LayerResult) -> str:
    """The table's name of a layer's row: with the layers that go when it goes."""
    name = layer_name(stack, result.layer)
    if not result.removed_with:
        return name
    carried = " and ".join(_short_name(layer) for layer in result.removed_with)
    return f"{name} (with {carried}, which need it)"


def _short_name(layer: str) -> str:
    return {"api": "the stage cache", "l1": "L1", "l2": "Valkey", "dax": "DAX"}[layer]


def money(dollars: float) -> str:
    """Dollars as the guide prints them: `$-13.00`, `$5.00`, `$1,234.56`."""
    return f"${dollars:,.2f}"


def count(value: float) -> str:
    """A request count, rounded to three significant figures: 268,000,000."""
    if value <= 0:
        return "0"
    digits = 3 - math.floor(math.log10(value)) - 1
    return f"{round(value, digits):,.0f}"


def break_even_text(value: float | None) -> str:
    """A break-even volume for the table."""
    if value is None:
        return "never"
    if value == 0:
        return "from the first"
    return count(value)


def text_report(stack: StackConfig, traffic: Traffic, prices: PriceBook, analysis: Analysis) -> str:
    """The human report: inputs, the table per layer, totals and one recommendation per layer."""
    lines = [
        f"Configuration ({stack.source}): {stack.describe()}",
        _prices_line(prices),
        _traffic_line(traffic),
        "Hit ratios: "
        + ", ".join(
            f"{layer} {traffic.hits.of(layer):.3f} ({traffic.hits.sources.get(layer, 'given')})"
            for layer in CACHE_LAYERS
            if layer in stack.cache_layers
        ),
        "",
        _table(stack, analysis),
        "",
        f"Monthly total: {money(analysis.configured.total)} "
        f"(without any cache: {money(analysis.no_cache.total)}); "
        f"net monthly savings of the caches: "
        f"{money(analysis.no_cache.total - analysis.configured.total)}",
        "",
        "Recommendations:",
    ]
    lines += [f"- {recommendation(stack, traffic, result)}" for result in analysis.layers]
    if analysis.refused:
        total = len(analysis.refused) + len(analysis.combinations)
        reasons = sorted({part for r in analysis.refused for part in r.reason.split("; ")})
        lines += [
            "",
            f"Not priced: {len(analysis.refused)} of the {total} layer combinations, those with "
            "L1 or DAX but no Valkey, cannot be deployed (CachePolicy refuses them):",
        ]
        lines += [f"- {reason}." for reason in reasons]
    unconfirmed = [u for u in prices.used.values() if u.rate.confirmation not in (None, "aws")]
    if unconfirmed:
        lines += [
            "",
            "Figures not confirmed on an AWS page (docs/cost.md; --prices replaces them):",
        ]
        lines += [
            f"- {used.key.label}: {used.rate.usd:.10g} USD per {used.rate.unit} "
            f"({used.rate.confirmation})"
            for used in sorted(unconfirmed, key=lambda u: u.key.label)
        ]
    return "\n".join(lines)


def _prices_line(prices: PriceBook) -> str:
    snapshot: dict[str, set[str]] = {}
    files = set()
    for used in prices.used.values():
        offer = used.offer
        if offer.origin.startswith(SNAPSHOT_ORIGIN):
            snapshot.setdefault(offer.publication_date[:10], set()).add(offer.offer_code)
        else:
            files.add(
                f"{offer.origin} ({offer.offer_code}, published {offer.publication_date[:10]})"
            )
    parts = [
        f"shipped snapshot of {date} ({', '.join(sorted(codes))})"
        for date, codes in sorted(snapshot.items())
    ] + sorted(files)
    return f"Prices ({prices.region}): " + "; ".join(parts)


def _traffic_line(traffic: Traffic) -> str:
    return (
        f"Traffic: {traffic.requests:,.0f} requests a month, {traffic.reads_per_write:g} reads per "
        f"write, {traffic.item_kb:g} KB items, {traffic.list_share:.0%} of reads list pages of "
        f"{traffic.page_items} items, {traffic.cached_items:,} items cached; "
        f"{traffic.consistent_read_share:.1%} of Valkey's item misses read strongly consistent "
        f"({traffic.consistent_read_source}); {_environments(traffic)} per read function"
    )


def _environments(traffic: Traffic) -> str:
    if traffic.environments is None:
        return "environments from the mean concurrency (at least 1)"
    return f"{traffic.environments:g} environments"


def _table(stack: StackConfig, analysis: Analysis) -> str:
    header = (
        "layer",
        "monthly cost",
        "requests absorbed",
        "savings",
        "net",
        "break-even req/month",
    )
    rows = [header]
    for result in analysis.layers:
        rows.append(
            (
                row_name(stack, result),
                money(result.monthly_cost),
                f"{result.requests_absorbed:,.0f}",
                money(result.savings),
                money(result.net),
                break_even_text(result.break_even),
            )
        )
    configured = analysis.configured
    invalidator = configured.lines.get("invalidator_requests", 0.0) + configured.lines.get(
        "invalidator_duration", 0.0
    )
    if "invalidator_requests" in configured.lines:
        (l2,) = [r for r in analysis.layers if r.layer == "l2"]
        at = next(i for i, row in enumerate(rows) if row[0] == row_name(stack, l2)) + 1
        rows.insert(
            at,
            (
                "  of which stream invalidator",
                money(invalidator),
                f"{configured.flows.get('invalidator_invocations', 0.0):,.0f} invocations",
                "",
                "",
                "",
            ),
        )
    for owner, name, flow, what in BASE_ROWS:
        rows.append(
            (
                name,
                money(configured.owned_by(owner)),
                f"{configured.flows.get(flow, 0.0):,.0f} {what}",
                "-",
                "-",
                "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    out = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, len(row))]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def recommendation(stack: StackConfig, traffic: Traffic, result: LayerResult) -> str:
    """Sentences in the guide's terms: below which monthly volume the layer does not pay, and
    what cannot run without it or what it cannot run without."""
    name = layer_name(stack, result.layer)
    now = f"{traffic.requests:,.0f}"
    condition = _condition(stack, traffic, result.layer)
    if result.requests_absorbed == 0:
        sentence = (
            f"{name} absorbs no requests {condition}: its {money(result.monthly_cost)} a month "
            "buys latency, not savings"
        )
    elif result.break_even is None:
        sentence = (
            f"{name} does not pay at any volume {condition}: each extra million requests a month "
            f"changes its net by ${result.per_million:,.4f} (it costs more per request than it "
            f"saves); at {now} it costs {money(result.monthly_cost)} a month"
        )
    elif result.break_even == 0:
        sentence = f"{name} pays from the first request {condition}"
    else:
        verdict = (
            f"at {now} it costs {money(-result.net)} a month more than it saves"
            if result.net < 0
            else f"at {now} it saves {money(result.net)} a month net"
        )
        sentence = (
            f"{name} does not pay below {count(result.break_even)} requests a month "
            f"{condition}; {verdict}"
        )
    sentences = [sentence]
    if result.layer == "l1":
        billed = (
            f"{money(result.monthly_cost)} of ECPUs at {now} and a round trip each"
            if isinstance(stack.valkey, ServerlessCacheConfig)
            else "a round trip each; a node-based cache bills no commands"
        )
        sentences.append(
            "Its one cost is its tracking connection's health-check PINGs, at most one per "
            f"lookup after a second of silence and fewer per request as traffic grows ({billed}); "
            f"its {result.requests_absorbed:,.0f} hits each skip an L2 GET and its Lambda time. "
            "It is there for latency: keep it on"
        )
    if result.removed_with:
        carried = " and ".join(layer_name(stack, layer) for layer in result.removed_with)
        sentences.append(
            f"These figures count {carried} with it: "
            + "; ".join(WHY_REQUIRED[layer] for layer in result.removed_with)
        )
    if result.alone_without is not None:
        other = layer_name(stack, result.alone_without)
        alone = (
            "would not pay at any volume either"
            if result.alone_break_even is None
            else f"would pay above {count(result.alone_break_even)} requests a month"
        )
        sentences.append(f"Without {other}, {name} and L1 {alone}")
    if result.needs is not None:
        sentences.append(WHY_REQUIRED[result.layer])
    return ". ".join(sentences) + "."


def _condition(stack: StackConfig, traffic: Traffic, layer: str) -> str:
    ratio = traffic.hits.of(layer)
    if layer == "api" and stack.api_cache is not None:
        routes = [
            r
            for r, on in (
                ("item reads", stack.api_cache.caches_items),
                ("list reads", stack.api_cache.caches_lists),
            )
            if on
        ]
        share = (1 - traffic.list_share if stack.api_cache.caches_items else 0.0) + (
            traffic.list_share if stack.api_cache.caches_lists else 0.0
        )
        return f"at a hit ratio of {ratio:.2f} on its {' and '.join(routes)} ({share:.0%} of reads)"
    if layer == "l1":
        return f"at a hit ratio of {ratio:.2f} of the reads reaching Lambda"
    if layer == "l2":
        return f"at {traffic.item_kb:g} KB items and a hit ratio of {ratio:.2f} behind L1"
    anchored = 1 - traffic.consistent_read_share
    return (
        f"at a hit ratio of {ratio:.2f} of the item reads Valkey misses on an anchored fence "
        f"({anchored:.1%} of its misses; the rest meet a new fence and read DynamoDB strongly "
        "consistent, past DAX)"
    )


def json_report(
    stack: StackConfig, traffic: Traffic, prices: PriceBook, analysis: Analysis
) -> dict[str, Any]:
    """Everything the text report says, as data (infinities, e.g. no writes, become null)."""
    return _finite(
        {
            "configuration": {
                "template": stack.source,
                "summary": stack.describe(),
                "cache_layers": sorted(stack.cache_layers, key=CACHE_LAYERS.index),
            },
            "prices": {
                "region": prices.region,
                "figures": [
                    {
                        "price": used.key.label,
                        "usd_per_unit": used.rate.usd,
                        "unit": used.rate.unit,
                        "bands": [
                            {
                                "from": t.begin,
                                "to": None if math.isinf(t.end) else t.end,
                                "usd": t.usd,
                            }
                            for t in used.rate.tiers
                        ],
                        "confirmation": used.rate.confirmation or "offer file",
                        "source": used.offer.sources.get(used.rate.source or "", used.offer.origin),
                        "published": used.offer.publication_date,
                    }
                    for used in sorted(prices.used.values(), key=lambda u: u.key.label)
                ],
            },
            "traffic": {
                "requests_per_month": traffic.requests,
                "reads_per_write": traffic.reads_per_write,
                "item_kb": traffic.item_kb,
                "list_share": traffic.list_share,
                "page_items": traffic.page_items,
                "consistent_read_share": {
                    "value": traffic.consistent_read_share,
                    "source": traffic.consistent_read_source,
                },
                "environments": traffic.environments,
                "cached_items": traffic.cached_items,
                "handler_ms": traffic.handler_ms,
                "l2_ms": traffic.l2_ms,
                "origin_ms": traffic.origin_ms,
                "hit_ratios": {
                    layer: {
                        "value": traffic.hits.of(layer),
                        "source": traffic.hits.sources.get(layer, "given"),
                    }
                    for layer in CACHE_LAYERS
                },
            },
            "layers": [
                {
                    "layer": result.layer,
                    "name": layer_name(stack, result.layer),
                    "monthly_cost": result.monthly_cost,
                    "requests_absorbed": result.requests_absorbed,
                    "savings": result.savings,
                    "net": result.net,
                    "break_even_requests_per_month": result.break_even,
                    "net_per_extra_million_requests": result.per_million,
                    "removed_with": list(result.removed_with),
                    "needs": result.needs,
                    "break_even_without_dax": result.alone_break_even,
                    "recommendation": recommendation(stack, traffic, result),
                }
                for result in analysis.layers
            ],
            "bill": {
                "lines": analysis.configured.lines,
                "owners": {name: LINE_OWNERS[name] for name in analysis.configured.lines},
                "flows": analysis.configured.flows,
                "total": analysis.configured.total,
            },
            "no_cache_total": analysis.no_cache.total,
            "net_monthly_savings": analysis.no_cache.total - analysis.configured.total,
            "combinations": [
                {
                    "layers": sorted(combo.layers, key=CACHE_LAYERS.index),
                    "total": combo.total,
                    "net_vs_no_cache": combo.net,
                    "break_even_requests_per_month": combo.break_even,
                }
                for combo in analysis.combinations
            ],
            "refused_combinations": [
                {"layers": sorted(refused.layers, key=CACHE_LAYERS.index), "reason": refused.reason}
                for refused in analysis.refused
            ],
        }
    )


def _finite(value: Any) -> Any:
    """`value` with every infinite or NaN float replaced by None, so the JSON stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
