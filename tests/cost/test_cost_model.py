"""The model, one hand-computed case per layer (round fixture prices, arithmetic in comments).

Fixture prices (tests/cost/fixtures/round_prices): REST $3.50 per million requests; Lambda
arm64 $0.20 per million requests and $0.00001 per GB-second; DynamoDB $0.25 per million read
units, $1.25 per million write units; stage cache 0.5 GB $0.02 an hour; Valkey serverless $0.10
per GB-hour and $0.002 per million ECPUs, cache.r7g.large $0.20 an hour; dax.t3.small $0.04 an
hour. Functions have 1024 MB, so GB-seconds equal seconds. A month is 730 hours.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from cache_constructs.cost import model
from cache_constructs.cost import prices as keys
from cache_constructs.cost.model import analyse, bill, break_even, served_shares
from cache_constructs.cost.prices import PriceBook, load_price_book
from cache_constructs.cost.template import (
    ApiCacheConfig,
    DaxConfig,
    FunctionConfig,
    NodeCacheConfig,
    ServerlessCacheConfig,
    StackConfig,
    TableConfig,
)
from cache_constructs.cost.traffic import HitRatios, Traffic

ROOT = Path(__file__).resolve().parents[2]
ROUND = sorted((Path(__file__).resolve().parent / "fixtures" / "round_prices").glob("*.json"))
GB = FunctionConfig(memory_mb=1024, architecture="arm64")
QUARTER_GB = FunctionConfig(memory_mb=256, architecture="arm64")


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return load_price_book("us-east-1", ROUND)


def stack(**parts: object) -> StackConfig:
    return StackConfig(
        source="test",
        read_function=GB,
        list_function=GB,
        write_function=GB,
        table=parts.pop("table", TableConfig(on_demand=True)),  # type: ignore[arg-type]
        **parts,  # type: ignore[arg-type]
    )


def traffic(api: float = 0, l1: float = 0, l2: float = 0, dax: float = 0, **kw: object) -> Traffic:
    values: dict[str, object] = {
        "requests": 1_000_000,
        "reads_per_write": math.inf,  # no writes unless a case says so
        "item_kb": 1.0,
        "list_share": 0.0,
        "consistent_read_share": 0.0,
        "handler_ms": 10.0,
        "l2_ms": 1.0,
        "origin_ms": 10.0,
        "cached_items": 10_000,
    }
    values.update(kw)
    return Traffic(hits=HitRatios(api=api, l1=l1, l2=l2, dax=dax), **values)  # type: ignore[arg-type]


def layer(analysis: model.Analysis, name: str) -> model.LayerResult:
    (result,) = [r for r in analysis.layers if r.layer == name]
    return result


def test_no_cache_lambda_and_dynamodb(book: PriceBook) -> None:
    month = bill(stack(), traffic(), book, ())
    assert month.lines["api_requests"] == pytest.approx(3.50)  # 1,000,000 x $3.50/M
    assert month.lines["lambda_requests"] == pytest.approx(0.20)  # 1,000,000 x $0.20/M
    # 1,000,000 x (10 ms handler + 10 ms origin) = 20,000 GB-s x $0.00001 = $0.20
    assert month.lines["lambda_duration"] == pytest.approx(0.20)
    # A 1 KB eventually consistent read is half a read unit: 500,000 units x $0.25/M = $0.125
    assert month.lines["dynamodb_reads"] == pytest.approx(0.125)
    assert month.total == pytest.approx(4.025)
    # 9 KB items: ceil(9 / 4) = 3 units, halved: 1.5 x 1,000,000 x $0.25/M = $0.375
    big = bill(stack(), traffic(item_kb=9.0), book, ())
    assert big.lines["dynamodb_reads"] == pytest.approx(0.375)


def test_stage_cache_hit_saves_lambda_and_everything_below(book: PriceBook) -> None:
    s = stack(api_cache=ApiCacheConfig("0.5", caches_items=False, caches_lists=True))
    t = traffic(api=0.5, list_share=1.0)  # every read a 20-item page of 1 KB items
    result = layer(analyse(s, t, book), "api")
    assert result.monthly_cost == pytest.approx(14.60)  # 730 h x $0.02
    assert result.requests_absorbed == pytest.approx(500_000)  # 1,000,000 x 0.5
    # Each hit saves the invocation ($0.20/M = $0.0000002), its 20 ms (0.02 GB-s x $0.00001
    # = $0.0000002) and the GSI query: 20 KB -> 5 units, halved = 2.5 x $0.25/M = $0.000000625.
    # 500,000 x $0.000001025 = $0.5125 saved; net $0.5125 - $14.60 = $-14.0875.
    assert result.savings == pytest.approx(0.5125)
    assert result.net == pytest.approx(-14.0875)
    # Break-even: $14.60 / (0.5 x $0.000001025 per request) = 28,487,805 requests a month.
    assert result.break_even == pytest.approx(14.60 / (0.5 * 1.025e-6), rel=1e-6)
    assert result.per_million == pytest.approx(0.5125, rel=1e-6)


def test_l1_hits_save_l2_commands(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    result = layer(analyse(s, traffic(l1=0.5, l2=1.0), book), "l1")
    assert result.monthly_cost == 0
    assert result.requests_absorbed == pytest.approx(500_000)
    # Without L1 each of its 500,000 hits is an L2 hit (L1 only holds what L2 gave it): a GET
    # of 1 KB = 1 ECPU x $0.002/M = $0.000000002, plus 1 ms of Lambda = 0.001 GB-s x $0.00001
    # = $0.00000001. 500,000 x $0.000000012 = $0.006; no DynamoDB read is involved.
    assert result.savings == pytest.approx(0.006)
    assert result.net == pytest.approx(0.006)
    assert result.break_even == 0.0  # pays from the first request


def test_valkey_serverless_minimum_storage_and_ecpus(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    t = traffic(l2=0.8)
    analysis = analyse(s, t, book)
    month = analysis.configured
    # Stored: 10,000 items x (1 KB + 0.1 KB overhead) = 0.0105 GB, under the 100 MB minimum:
    # 0.1 GB x 730 h x $0.10 = $7.30.
    assert month.lines["valkey_storage"] == pytest.approx(7.30)
    # ECPUs: 800,000 hits x 1 (a 1 KB GET) + 200,000 misses x (GET 1 + lease script 6 + fill
    # script 8) = 800,000 + 3,000,000 = 3,800,000 x $0.002/M = $0.0076.
    assert month.flows["ecpu"] == pytest.approx(3_800_000)
    assert month.lines["valkey_ecpu"] == pytest.approx(0.0076)
    result = layer(analysis, "l2")
    assert result.monthly_cost == pytest.approx(7.3076)
    # Saved: 800,000 reads x 0.5 unit x $0.25/M = $0.10 of DynamoDB and 800,000 x 10 ms =
    # 8,000 GB-s = $0.08 of Lambda; added: (1,000,000 GETs + 2 x 200,000 scripts) x 1 ms =
    # 1,400 GB-s = $0.014 of Lambda. Savings $0.166; net $0.166 - $7.3076 = $-7.1416.
    assert result.savings == pytest.approx(0.166)
    assert result.net == pytest.approx(-7.1416)
    # Per request: ($0.166 - $0.0076) / 1,000,000 = $0.0000001584 -> $7.30 / $0.0000001584
    # = 46,085,858.6 requests a month.
    assert result.break_even == pytest.approx(7.30 / 0.0000001584, rel=1e-6)


def test_ecpus_and_write_units_scale_with_item_size(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    month = bill(s, traffic(l2=1.0, item_kb=3.2), book, {"l2"})
    # Every read a 3.2 KB GET hit: 3.2 ECPUs each (1 per KB transferred), 3,200,000 in all.
    assert month.flows["ecpu"] == pytest.approx(3_200_000)
    writes = bill(
        s, traffic(l2=1.0, item_kb=2.5, requests=2_000_000, reads_per_write=1.0), book, ()
    )
    # A 2.5 KB write is ceil(2.5 / 1) = 3 write units, on the table and the GSI: 1,000,000 x 6
    # = 6,000,000 units x $1.25/M = $7.50.
    assert writes.flows["write_units"] == pytest.approx(6_000_000)
    assert writes.lines["dynamodb_writes"] == pytest.approx(7.50)


def test_valkey_storage_above_the_minimum(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    month = bill(s, traffic(l2=0.8, cached_items=1_048_576, item_kb=0.9), book, {"l2"})
    # 1,048,576 items x (0.9 + 0.1) KB = 1 GB: 1 x 730 h x $0.10 = $73.00
    assert month.lines["valkey_storage"] == pytest.approx(73.0)


def test_valkey_replication_group_node_hours(book: PriceBook) -> None:
    s = stack(valkey=NodeCacheConfig("valkey", "cache.r7g.large", 3))
    month = bill(s, traffic(l2=0.8), book, {"l2"})
    assert month.lines["valkey_nodes"] == pytest.approx(438.0)  # 3 x 730 h x $0.20
    assert "valkey_ecpu" not in month.lines  # node-based caches are not billed per command


def test_dax_node_hours_and_the_reads_it_absorbs(book: PriceBook) -> None:
    s = stack(dax=DaxConfig("dax.t3.small", 1))
    result = layer(analyse(s, traffic(dax=0.5), book), "dax")
    assert result.monthly_cost == pytest.approx(29.20)  # 730 h x $0.04
    # 500,000 DAX hits each save a half-unit read: 500,000 x 0.5 x $0.25/M = $0.0625 (a DAX
    # hit is still one origin round trip for Lambda). Net $0.0625 - $29.20 = $-29.1375.
    assert result.savings == pytest.approx(0.0625)
    assert result.net == pytest.approx(-29.1375)
    # $29.20 / (0.5 x $0.000000125) = 467,200,000 requests a month.
    assert result.break_even == pytest.approx(467_200_000, rel=1e-6)


def test_writes_cause_l2_commands_and_the_invalidator(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None), invalidator=QUARTER_GB)
    t = traffic(l2=1.0, requests=2_000_000, reads_per_write=1.0)  # 1,000,000 of each
    month = bill(s, t, book, {"l1", "l2"})
    # ECPUs: reads 1,000,000 GET hits x 1; each write: write-through script max(10, 1 KB) +
    # list bump 3 = 13; each stream record: invalidate script 9 + bump 3 = 12.
    # 1,000,000 + 13,000,000 + 12,000,000 = 26,000,000.
    assert month.flows["ecpu"] == pytest.approx(26_000_000)
    # 1,000,000 records a month = 0.38 a second, under one per poll: one invocation each.
    assert month.flows["invalidator_invocations"] == pytest.approx(1_000_000)
    assert month.lines["invalidator_requests"] == pytest.approx(0.20)  # x $0.20/M
    # 1,000,000 x 10 ms + 1,000,000 records x 2 scripts x 1 ms = 12,000 s x 0.25 GB
    # = 3,000 GB-s x $0.00001 = $0.03
    assert month.lines["invalidator_duration"] == pytest.approx(0.03)
    # Each write: a strongly consistent read of the current item (1 unit) and two write units
    # (table + GSI): 1,000,000 x $0.25/M = $0.25 and 2,000,000 x $1.25/M = $2.50.
    assert month.lines["dynamodb_reads"] == pytest.approx(0.25)
    assert month.lines["dynamodb_writes"] == pytest.approx(2.50)
    # The write function: 10 ms + 2 x 10 ms origin + 2 x 1 ms L2 = 32 ms; the read function
    # 10 ms + 1 ms GET: (1,000,000 x 32 ms + 1,000,000 x 11 ms) = 43,000 GB-s = $0.43.
    assert month.lines["lambda_duration"] == pytest.approx(0.43)
    without_l2 = bill(s, t, book, {"l1"})
    assert "invalidator_requests" not in without_l2.lines  # it exists only for L2


def test_a_busy_stream_fills_batches(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None), invalidator=QUARTER_GB)
    writes = 4_000 * model.SECONDS_PER_MONTH  # 4,000 a second: 1,000 per poll, capped at 100
    t = traffic(l2=1.0, requests=2 * writes, reads_per_write=1.0)
    month = bill(s, t, book, {"l2"})
    assert month.flows["invalidator_invocations"] == pytest.approx(writes / 100)


def test_strongly_consistent_share_of_origin_reads(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    month = bill(s, traffic(l2=0.8, consistent_read_share=0.5), book, {"l2"})
    # 200,000 misses read eventually consistent (0.5 unit each) and half of them again strongly
    # consistent (1 unit): 100,000 + 100,000 = 200,000 units x $0.25/M = $0.05.
    assert month.flows["read_units"] == pytest.approx(200_000)
    assert month.lines["dynamodb_reads"] == pytest.approx(0.05)
    # Without L2 there is no tombstone, so no read is repeated.
    assert bill(s, traffic(consistent_read_share=0.5), book, ()).flows["read_units"] == (
        pytest.approx(500_000)
    )


def test_provisioned_capacity_sized_for_the_average(book: PriceBook) -> None:
    s = stack(table=TableConfig(on_demand=False, read_capacity=5, write_capacity=5))
    month = bill(s, traffic(), book, ())
    # 500,000 units a month / 2,628,000 s = 0.19 a second, / 0.7 target = 0.27 -> 1 RCU;
    # no writes -> the 1 WCU minimum. 730 h x (1 x $0.0001 + 1 x $0.0005) = $0.438.
    assert month.lines["dynamodb_capacity"] == pytest.approx(0.438)


def test_a_removed_layer_hands_its_hits_to_the_next_one_below() -> None:
    hits = HitRatios(api=0, l1=0.5, l2=0.5, dax=0.5)
    chain = ("l1", "l2", "dax")
    full = served_shares(chain, hits, chain)
    assert full == pytest.approx({"l1": 0.5, "l2": 0.25, "dax": 0.125, "origin": 0.125})
    assert served_shares(chain, hits, ("l2", "dax"))["l2"] == pytest.approx(0.75)
    assert served_shares(chain, hits, ("l1", "dax"))["dax"] == pytest.approx(0.375)
    assert served_shares(chain, hits, ("dax",))["dax"] == pytest.approx(0.875)
    assert served_shares(chain, hits, ())["origin"] == pytest.approx(1.0)


def test_every_combination_is_priced(book: PriceBook) -> None:
    s = stack(
        api_cache=ApiCacheConfig("0.5", caches_items=False, caches_lists=True),
        valkey=ServerlessCacheConfig("valkey", None),
        dax=DaxConfig("dax.t3.small", 1),
    )
    analysis = analyse(s, traffic(api=0.5, l1=0.5, l2=0.5, dax=0.5, list_share=0.2), book)
    assert len(analysis.combinations) == 16
    none = next(c for c in analysis.combinations if not c.layers)
    assert none.total == pytest.approx(analysis.no_cache.total)
    assert none.net == 0
    full = next(c for c in analysis.combinations if len(c.layers) == 4)
    assert full.total == pytest.approx(analysis.configured.total)


def test_lambda_duration_bands_in_the_snapshot() -> None:
    rate = load_price_book("us-east-1").rate(keys.lambda_gb_second("arm64"))
    # 8 billion GB-s: 7.5 billion x $0.0000133334 + 0.5 billion x $0.0000120001
    assert rate.cost(8e9) == pytest.approx(7.5e9 * 0.0000133334 + 0.5e9 * 0.0000120001)


def test_break_even_solves_a_line() -> None:
    assert break_even(lambda n: n * 1e-6 - 10) == pytest.approx(10_000_000, rel=1e-6)
    assert break_even(lambda n: -1.0) is None
    assert break_even(lambda n: n * 1e-9) == 0.0


def test_script_command_counts_match_the_runtimes_lua() -> None:
    scripts = ROOT / "cache_constructs" / "runtime"
    for name, commands in model.SCRIPT_COMMANDS.items():
        text = (scripts / f"{name}.lua").read_text()
        assert len(re.findall(r"redis\.call\(", text)) == commands, name
