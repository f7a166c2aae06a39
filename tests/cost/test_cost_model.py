"""The model, one hand-computed case per layer (round fixture prices, arithmetic in comments).

Fixture prices (tests/cost/fixtures/round_prices): REST $3.50 per million requests; Lambda
arm64 $0.20 per million requests and $0.00001 per GB-second; DynamoDB $0.25 per million read
units, $1.25 per million write units; stage cache 0.5 GB $0.02 an hour; Valkey serverless $0.10
per GB-hour and $0.002 per million ECPUs, cache.r7g.large $0.20 an hour; dax.t3.small $0.04 an
hour. Functions have 1024 MB, so GB-seconds equal seconds. A month is 730 hours, 2,628,000
seconds. Unless a case says otherwise every Valkey miss meets a new fence (strongly
consistent, 1 read unit per 4 KB), and each read function has one environment (its L1
tracking connection is PINGed on the first lookup after a silent second).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from cache_constructs.contract.policy import CachePolicy
from cache_constructs.cost import model
from cache_constructs.cost import prices as keys
from cache_constructs.cost.model import analyse, bill, break_even, refusal, served_shares
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

ROUND = sorted((Path(__file__).resolve().parent / "fixtures" / "round_prices").glob("*.json"))
MONTH_SECONDS = 2_628_000  # 730 h x 3,600 s: one request a second for a month
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
        "consistent_read_share": 1.0,
        "environments": 1.0,
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


def test_no_cache_reads_every_item_strongly_consistent(book: PriceBook) -> None:
    month = bill(stack(), traffic(), book, ())
    assert month.lines["api_requests"] == pytest.approx(3.50)  # 1,000,000 x $3.50/M
    assert month.lines["lambda_requests"] == pytest.approx(0.20)  # 1,000,000 x $0.20/M
    # 1,000,000 x (10 ms handler + 10 ms origin) = 20,000 GB-s x $0.00001 = $0.20
    assert month.lines["lambda_duration"] == pytest.approx(0.20)
    # No Valkey, no fence to vouch for an older copy: every item read is strongly consistent,
    # a full read unit for 1 KB: 1,000,000 units x $0.25/M = $0.25.
    assert month.flows["consistent_item_reads"] == pytest.approx(1_000_000)
    assert month.lines["dynamodb_reads"] == pytest.approx(0.25)
    assert month.total == pytest.approx(4.15)  # 3.50 + 0.20 + 0.20 + 0.25
    # 9 KB items: ceil(9 / 4) = 3 units each: 3,000,000 x $0.25/M = $0.75
    big = bill(stack(), traffic(item_kb=9.0), book, ())
    assert big.lines["dynamodb_reads"] == pytest.approx(0.75)


def test_stage_cache_hit_saves_lambda_and_everything_below(book: PriceBook) -> None:
    s = stack(api_cache=ApiCacheConfig("0.5", caches_items=False, caches_lists=True))
    t = traffic(api=0.5, list_share=1.0)  # every read a 20-item page of 1 KB items
    result = layer(analyse(s, t, book), "api")
    assert result.monthly_cost == pytest.approx(14.60)  # 730 h x $0.02
    assert result.requests_absorbed == pytest.approx(500_000)  # 1,000,000 x 0.5
    # Each hit saves the invocation ($0.20/M = $0.0000002), its 20 ms (0.02 GB-s x $0.00001
    # = $0.0000002) and the GSI query (a GSI reads eventually consistent): 20 KB -> 5 units,
    # halved = 2.5 x $0.25/M = $0.000000625. 500,000 x $0.000001025 = $0.5125 saved; net
    # $0.5125 - $14.60 = $-14.0875.
    assert result.savings == pytest.approx(0.5125)
    assert result.net == pytest.approx(-14.0875)
    # Break-even: $14.60 / (0.5 x $0.000001025 per request) = 28,487,805 requests a month.
    assert result.break_even == pytest.approx(14.60 / (0.5 * 1.025e-6), rel=1e-6)
    assert result.per_million == pytest.approx(0.5125, rel=1e-6)


def test_l1_hits_save_l2_gets_and_its_tracking_connection_pings(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    # Three reads a second for a month, one environment: 3 lookups per second of it.
    t = traffic(l1=0.5, l2=1.0, requests=3 * MONTH_SECONDS)
    analysis = analyse(s, t, book)
    result = layer(analysis, "l1")
    assert result.requests_absorbed == pytest.approx(3_942_000)  # 7,884,000 x 0.5
    # A lookup PINGs when the connection was silent for a second: after each PING one quiet
    # second, then 1/3 s on average to the next lookup, so 1 PING per 1 + 3 lookups:
    # 7,884,000 / 4 = 1,971,000 PINGs, 1 ECPU each: 1,971,000 x $0.002/M = $0.003942, L1's
    # own line (its cost).
    assert analysis.configured.flows["tracking_pings"] == pytest.approx(1_971_000)
    assert analysis.configured.lines["l1_tracking"] == pytest.approx(0.003942)
    assert result.monthly_cost == pytest.approx(0.003942)
    # Without L1 each of its 3,942,000 hits is an L2 hit (L1 holds only what a tracked L2 GET
    # just returned, until L2's copy changes): 1 ECPU ($0.000000002) and 1 ms of Lambda
    # ($0.00000001) each, no DynamoDB read. The rest of the bill with L1: those GETs saved,
    # 1,971,000 ms of PING round trips added:
    # 3,942,000 x $0.000000002 + (3,942,000 - 1,971,000) x $0.00000001 = $0.007884 + $0.01971
    # = $0.027594; net $0.027594 - $0.003942 = $0.023652.
    assert result.savings == pytest.approx(0.027594)
    assert result.net == pytest.approx(0.023652)
    # A PING and a GET cost the same (1 ECPU, 1 ms): L1 pays once its hits (0.5 per lookup)
    # outnumber the PINGs (1 / (1 + lookups a second)), above 1 lookup a second:
    # 2,628,000 requests a month.
    assert result.break_even == pytest.approx(MONTH_SECONDS, rel=1e-6)
    assert result.needs == "l2"


def test_environments_default_to_the_read_functions_mean_concurrency(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    # 100 reads a second, each 25 ms of handler and half of them a 1 ms L2 GET: 25.5 ms on
    # average, so 100 x 0.0255 = 2.55 environments busy at any time.
    t = traffic(l1=0.5, l2=1.0, requests=100 * MONTH_SECONDS, handler_ms=25.0, environments=None)
    month = bill(s, t, book, {"l1", "l2"})
    assert month.flows["read_environments"] == pytest.approx(2.55)
    # 100 / 2.55 = 39.2 lookups a second per environment: 1 PING per 1 + 39.2 lookups.
    assert month.flows["tracking_pings"] == pytest.approx(100 * MONTH_SECONDS / (1 + 100 / 2.55))


def test_valkey_serverless_minimum_storage_and_ecpus(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    t = traffic(l2=0.8, requests=MONTH_SECONDS)  # one read a second, L1 on at a hit ratio of 0
    analysis = analyse(s, t, book)
    month = analysis.configured
    # Stored: 10,000 items x (1 KB + 0.1 KB overhead + 0.1 KB fence) = 0.0114 GB, under the
    # 100 MB minimum: 0.1 GB x 730 h x $0.10 = $7.30.
    assert month.lines["valkey_storage"] == pytest.approx(7.30)
    # ECPUs: 2,102,400 hits x 1 (a 1 KB GET) + 525,600 misses x (GET 1 + lease script on a
    # cold fence 6 + fill script from a consistent read 8) = 2,102,400 + 7,884,000 =
    # 9,986,400 x $0.002/M = $0.0199728.
    assert month.flows["ecpu"] == pytest.approx(9_986_400)
    assert month.lines["valkey_ecpu"] == pytest.approx(0.0199728)
    # L1's tracking connection: 2,628,000 lookups at 1 a second -> 1 PING per 2 lookups =
    # 1,314,000 PINGs x $0.002/M = $0.002628.
    assert month.lines["l1_tracking"] == pytest.approx(0.002628)
    result = layer(analysis, "l2")
    # Without Valkey, L1 goes too (it cannot run without it): the row counts both.
    assert result.removed_with == ("l1",)
    assert result.monthly_cost == pytest.approx(7.3226008)  # 7.30 + 0.0199728 + 0.002628
    assert result.requests_absorbed == pytest.approx(2_102_400)
    # Saved, DynamoDB: without Valkey all 2,628,000 reads are consistent ($0.657), with it
    # the 525,600 misses ($0.1314): $0.5256. Lambda: without, 2,628,000 x 20 ms = 52,560 GB-s
    # ($0.5256); with, 2,628,000 x 10 ms + (2,628,000 GETs + 2 x 525,600 scripts + 1,314,000
    # PINGs) x 1 ms + 525,600 x 10 ms = 26,280 + 4,993.2 + 5,256 = 36,529.2 GB-s ($0.365292):
    # $0.160308. Savings $0.685908; net $0.685908 - $7.3226008 = $-6.6366928.
    assert result.savings == pytest.approx(0.685908)
    assert result.net == pytest.approx(-6.6366928)
    # Per read (PINGs apart): DynamoDB 0.8 x $0.00000025 = $0.0000002 saved; Lambda 20 ms ->
    # 10 + 1 + 0.2 x (2 + 10) = 13.4 ms, 6.6 ms x $0.00001/s = $0.000000066 saved; 3.8 ECPU
    # x $0.000000002 = $0.0000000076 spent: a = $0.0000002584 a read. PINGs: N / (1 + N / m)
    # for N reads a month (m = 2,628,000), $0.000000012 each (1 ECPU + 1 ms). Net zero:
    # a N - 0.000000012 N m / (N + m) = 7.30, i.e. a N^2 + (a m - 0.000000012 m - 7.30) N -
    # 7.30 m = 0.
    a, m, c = 2.584e-7, MONTH_SECONDS, 7.30
    b = a * m - 1.2e-8 * m - c
    root = (-b + math.sqrt(b * b + 4 * a * c * m)) / (2 * a)
    assert root == pytest.approx(28_362_469, rel=1e-6)
    assert result.break_even == pytest.approx(root, rel=1e-6)


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


def test_valkey_storage_above_the_minimum_counts_the_fences(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    month = bill(s, traffic(l2=0.8, cached_items=1_048_576, item_kb=0.8), book, {"l2"})
    # 1,048,576 items x (0.8 + 0.1 overhead + 0.1 fence) KB = 1 GB: 1 x 730 h x $0.10 = $73.00
    assert month.lines["valkey_storage"] == pytest.approx(73.0)


def test_valkey_replication_group_node_hours(book: PriceBook) -> None:
    s = stack(valkey=NodeCacheConfig("valkey", "cache.r7g.large", 3))
    month = bill(s, traffic(l2=0.8), book, {"l2"})
    assert month.lines["valkey_nodes"] == pytest.approx(438.0)  # 3 x 730 h x $0.20
    assert "valkey_ecpu" not in month.lines  # node-based caches are not billed per command
    with_l1 = bill(s, traffic(l2=0.8), book, {"l1", "l2"})
    assert "l1_tracking" not in with_l1.lines  # nor are L1's PINGs


def test_dax_node_hours_and_the_anchored_reads_it_absorbs(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None), dax=DaxConfig("dax.t3.small", 1))
    # Valkey holds no values (hit ratio 0) but every fence is anchored: every miss may use DAX.
    result = layer(analyse(s, traffic(dax=0.5, consistent_read_share=0.0), book), "dax")
    assert result.monthly_cost == pytest.approx(29.20)  # 730 h x $0.04
    assert result.requests_absorbed == pytest.approx(500_000)  # 1,000,000 misses x 0.5
    # Without DAX those 500,000 reads are eventually consistent GetItems (the fence vouches):
    # each DAX hit saves half a unit, 500,000 x 0.5 x $0.25/M = $0.0625 (a DAX hit is still
    # one origin round trip for Lambda). Net $0.0625 - $29.20 = $-29.1375.
    assert result.savings == pytest.approx(0.0625)
    assert result.net == pytest.approx(-29.1375)
    # $29.20 / (0.5 x $0.000000125) = 467,200,000 requests a month (L1's PINGs are the same
    # with and without DAX).
    assert result.break_even == pytest.approx(467_200_000, rel=1e-6)
    assert result.needs == "l2"


def test_misses_split_into_consistent_and_eventual_reads_by_the_share(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    t = traffic(l2=0.8, consistent_read_share=0.25)
    month = bill(s, t, book, {"l2"})
    # 200,000 misses: 50,000 on a new fence (strongly consistent, 1 unit per 4 KB); 150,000
    # on an anchored one (eventually consistent, 0.5 unit).
    # 50,000 x 1 + 150,000 x 0.5 = 125,000 units x $0.25/M = $0.03125.
    assert month.flows["consistent_misses"] == pytest.approx(50_000)
    assert month.flows["anchored_misses"] == pytest.approx(150_000)
    assert month.flows["consistent_item_reads"] == pytest.approx(50_000)
    assert month.flows["dynamodb_item_reads"] == pytest.approx(200_000)
    assert month.flows["read_units"] == pytest.approx(125_000)
    assert month.lines["dynamodb_reads"] == pytest.approx(0.03125)
    # ECPUs: 800,000 hits x 1 + 200,000 GETs + 50,000 x (new-fence lease 6 + consistent fill
    # 8) + 150,000 x (anchored lease 4 + eventual fill 7) =
    # 800,000 + 200,000 + 700,000 + 1,650,000 = 3,350,000.
    assert month.flows["ecpu"] == pytest.approx(3_350_000)
    # Lambda: 1,000,000 x 10 ms + (1,000,000 GETs + 2 x 200,000 scripts) x 1 ms + 200,000
    # origin calls x 10 ms = 10,000 + 1,400 + 2,000 = 13,400 GB-s x $0.00001 = $0.134.
    assert month.lines["lambda_duration"] == pytest.approx(0.134)


def test_a_five_kb_item_is_two_units_strongly_and_one_eventually(
    book: PriceBook,
) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None))
    # 5 KB items: two 4 KB units a strongly consistent read, one eventually consistent.
    month = bill(s, traffic(l2=0.5, item_kb=5.0, consistent_read_share=0.4), book, {"l2"})
    # 500,000 misses: 200,000 x 2 + 300,000 x 2 x 0.5 = 400,000 + 300,000 = 700,000 units.
    assert month.flows["read_units"] == pytest.approx(700_000)
    everything_consistent = traffic(l2=0.5, item_kb=5.0, consistent_read_share=1.0)
    assert bill(s, everything_consistent, book, {"l2"}).flows["read_units"] == pytest.approx(
        1_000_000
    )  # 500,000 x 2
    nothing_consistent = traffic(l2=0.5, item_kb=5.0, consistent_read_share=0.0)
    assert bill(s, nothing_consistent, book, {"l2"}).flows["read_units"] == pytest.approx(
        500_000
    )  # 500,000 x 2 x 0.5


def test_without_valkey_every_read_is_strongly_consistent_whatever_the_share(
    book: PriceBook,
) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None), dax=DaxConfig("dax.t3.small", 1))
    month = bill(s, traffic(l2=0.8, dax=0.9, consistent_read_share=0.0), book, ())
    # No fence at all: 1,000,000 reads x 1 unit, none eventually consistent, none from DAX.
    assert month.flows["read_units"] == pytest.approx(1_000_000)
    assert month.flows["consistent_item_reads"] == pytest.approx(1_000_000)
    assert "dax_hits" not in month.flows
    assert "dax_nodes" not in month.lines


def test_dax_absorbs_only_the_anchored_share_of_valkeys_misses(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None), dax=DaxConfig("dax.t3.small", 1))
    t = traffic(l2=0.8, dax=0.6, consistent_read_share=0.25)
    month = bill(s, t, book, {"l2", "dax"})
    # The 50,000 consistent misses read DynamoDB past DAX; DAX sees only the 150,000
    # anchored ones: 90,000 hits (0.6), 60,000 misses that DAX reads eventually consistent.
    # 50,000 x 1 + 60,000 x 0.5 = 80,000 units x $0.25/M = $0.02.
    assert month.flows["dax_requests"] == pytest.approx(150_000)
    assert month.flows["dax_hits"] == pytest.approx(90_000)
    assert month.flows["dynamodb_item_reads"] == pytest.approx(110_000)  # 50k + 60k
    assert month.flows["consistent_item_reads"] == pytest.approx(50_000)
    assert month.flows["read_units"] == pytest.approx(80_000)
    assert month.lines["dynamodb_reads"] == pytest.approx(0.02)
    # Lambda still makes 200,000 origin calls (a DAX answer is one too).
    assert month.flows["origin_reads"] == pytest.approx(200_000)
    # Without DAX: 125,000 units (the case above); DAX saved its 90,000 hits' half units.
    assert bill(s, t, book, {"l2"}).flows["read_units"] == pytest.approx(125_000)
    # Every miss consistent (a Zipf-like workload): DAX sees nothing and absorbs nothing.
    cold = bill(s, traffic(l2=0.8, dax=0.6, consistent_read_share=1.0), book, {"l2", "dax"})
    assert cold.flows["dax_requests"] == 0
    assert cold.flows["dax_hits"] == 0
    assert cold.flows["read_units"] == pytest.approx(200_000)
    # What the runtime refuses is not priced.
    with pytest.raises(ValueError, match="DAX cannot run without Valkey here"):
        bill(s, t, book, {"dax"})
    with pytest.raises(ValueError, match="L1 cannot run without Valkey here"):
        bill(s, t, book, {"l1", "dax"})


def test_writes_cause_l2_commands_and_the_invalidator(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None), invalidator=QUARTER_GB)
    t = traffic(l2=1.0, requests=2_000_000, reads_per_write=1.0)  # 1,000,000 of each
    month = bill(s, t, book, {"l2"})
    # ECPUs: reads 1,000,000 GET hits x 1; each write: write-through script max(8, 1 KB) +
    # list bump 2 = 10; each stream record: invalidate script 6 + bump 2 = 8.
    # 1,000,000 + 10,000,000 + 8,000,000 = 19,000,000.
    assert month.flows["ecpu"] == pytest.approx(19_000_000)
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
    without_l2 = bill(s, t, book, ())
    assert "invalidator_requests" not in without_l2.lines  # it exists only for L2


def test_a_busy_stream_fills_batches(book: PriceBook) -> None:
    s = stack(valkey=ServerlessCacheConfig("valkey", None), invalidator=QUARTER_GB)
    writes = 4_000 * model.SECONDS_PER_MONTH  # 4,000 a second: 1,000 per poll, capped at 100
    t = traffic(l2=1.0, requests=2 * writes, reads_per_write=1.0)
    month = bill(s, t, book, {"l2"})
    assert month.flows["invalidator_invocations"] == pytest.approx(writes / 100)


def test_provisioned_capacity_sized_for_the_average(book: PriceBook) -> None:
    s = stack(table=TableConfig(on_demand=False, read_capacity=5, write_capacity=5))
    month = bill(s, traffic(), book, ())
    # 1,000,000 consistent units a month / 2,628,000 s = 0.38 a second, / 0.7 target = 0.54
    # -> 1 RCU; no writes -> the 1 WCU minimum. 730 h x (1 x $0.0001 + 1 x $0.0005) = $0.438.
    assert month.lines["dynamodb_capacity"] == pytest.approx(0.438)


def test_a_removed_layer_hands_its_hits_to_the_next_one_below() -> None:
    hits = HitRatios(api=0, l1=0.5, l2=0.5, dax=0.5)
    chain = model.LOCAL_CHAIN  # L1 then Valkey; DAX sits behind Valkey's anchored misses
    full = served_shares(chain, hits, chain)
    assert full == pytest.approx({"l1": 0.5, "l2": 0.25, "origin": 0.25})
    # Without L1, its hits are Valkey hits (L1 held only what Valkey had).
    assert served_shares(chain, hits, ("l2",))["l2"] == pytest.approx(0.75)
    assert served_shares(chain, hits, ())["origin"] == pytest.approx(1.0)


def test_every_deployable_combination_is_priced_and_the_rest_refused(book: PriceBook) -> None:
    s = stack(
        api_cache=ApiCacheConfig("0.5", caches_items=False, caches_lists=True),
        valkey=ServerlessCacheConfig("valkey", None),
        dax=DaxConfig("dax.t3.small", 1),
    )
    analysis = analyse(s, traffic(api=0.5, l1=0.5, l2=0.5, dax=0.5, list_share=0.2), book)
    # Of the 16 subsets of {api, l1, l2, dax}, those with L1 or DAX but not Valkey (3 x 2
    # with and without the stage cache) cannot be deployed.
    assert len(analysis.combinations) == 10
    assert len(analysis.refused) == 6
    assert all("l2" not in r.layers and r.layers & {"l1", "dax"} for r in analysis.refused)
    (dax_alone,) = [r for r in analysis.refused if r.layers == {"dax"}]
    assert dax_alone.reason == (
        "DAX cannot run without Valkey here: the fence that vouches for DAX lives in Valkey"
    )
    none = next(c for c in analysis.combinations if not c.layers)
    assert none.total == pytest.approx(analysis.no_cache.total)
    assert none.net == 0
    full = next(c for c in analysis.combinations if len(c.layers) == 4)
    assert full.total == pytest.approx(analysis.configured.total)
    # Valkey's row: the stack without Valkey has no L1 and no DAX either.
    valkey = layer(analysis, "l2")
    assert valkey.removed_with == ("l1", "dax")
    assert valkey.alone_without == "dax"


@pytest.mark.parametrize("size", [0, 1, 2, 3])
def test_the_refused_combinations_are_the_ones_cache_policy_refuses(size: int) -> None:
    ttl_fields = {"l1": "l1_ttl_seconds", "l2": "l2_ttl_seconds", "dax": "dax_ttl_seconds"}
    ttls = {"l1": 5, "l2": 60, "dax": 300}
    for layers in itertools.combinations(("l1", "l2", "dax"), size):
        fields = {ttl_fields[layer]: ttls[layer] for layer in layers}
        try:
            CachePolicy(name="p", layers=set(layers), **fields)  # type: ignore[arg-type]
        except ValueError:
            assert refusal(layers) is not None, layers
        else:
            assert refusal(layers) is None, layers


def test_the_health_check_interval_is_the_trackers() -> None:
    from cache_constructs.runtime.tracking import DEFAULT_HEALTH_CHECK_SECONDS

    assert model.TRACKING_HEALTH_CHECK_SECONDS == DEFAULT_HEALTH_CHECK_SECONDS


def test_lambda_duration_bands_in_the_snapshot() -> None:
    rate = load_price_book("us-east-1").rate(keys.lambda_gb_second("arm64"))
    # 8 billion GB-s: 7.5 billion x $0.0000133334 + 0.5 billion x $0.0000120001
    assert rate.cost(8e9) == pytest.approx(7.5e9 * 0.0000133334 + 0.5e9 * 0.0000120001)


def test_break_even_solves_a_line() -> None:
    assert break_even(lambda n: n * 1e-6 - 10) == pytest.approx(10_000_000, rel=1e-6)
    assert break_even(lambda n: -1.0) is None
    assert break_even(lambda n: n * 1e-9) == 0.0


def test_a_stack_with_dax_but_no_valkey_is_refused_naming_the_template(book: PriceBook) -> None:
    from cache_constructs.cost.errors import InputError

    s = stack(dax=DaxConfig("dax.t3.small", 1))
    assert s.cache_layers == {"dax"}  # no Valkey, so no L1 either
    with pytest.raises(InputError) as error:
        analyse(s, traffic(dax=0.9), book)
    assert error.value.field == "--template"
    assert "CachePolicy refuses 'dax' without 'l2'" in error.value.message
