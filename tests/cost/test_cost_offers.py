"""The offer-file parser and the price book, on fixtures in the AWS Price List schema."""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

import pytest

from cache_constructs.cost import prices as keys
from cache_constructs.cost.errors import InputError
from cache_constructs.cost.offers import read_offer
from cache_constructs.cost.prices import REGIONS, load_price_book, snapshot_offers

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROUND = FIXTURES / "round_prices"


def keep_all(_product: object) -> bool:
    return True


def test_reads_products_and_on_demand_rates() -> None:
    offer = read_offer(ROUND / "AmazonDynamoDB.json", keep=keep_all)
    assert offer.offer_code == "AmazonDynamoDB"
    assert offer.publication_date == "2026-11-01T00:00:00Z"
    assert offer.products["RRU1"].family == "Amazon DynamoDB PayPerRequest Throughput"
    (rate,) = offer.rates["RRU1"]
    assert rate.usd == 0.00000025
    assert rate.unit == "ReadRequestUnits"
    # Only on-demand terms are read: the reserved upfront fee of RCU1 is not a rate here.
    assert [r.unit for r in offer.rates["RCU1"]] == ["ReadCapacityUnit-Hrs"]
    # A product without a family (real files have some) is skipped, not an error.
    assert "NOFAM" not in offer.products


def test_keep_filters_products_while_streaming() -> None:
    offer = read_offer(
        ROUND / "AmazonDynamoDB.json", keep=lambda p: p.attributes.get("regionCode") == "eu-west-1"
    )
    assert sorted(offer.products) == ["RRUEU", "WRUEU"]
    assert sorted(offer.rates) == ["RRUEU", "WRUEU"]


def test_banded_rates_are_sorted_and_priced_band_by_band() -> None:
    (rate,) = read_offer(ROUND / "AmazonApiGateway.json", keep=keep_all).rates["REST"]
    assert [t.begin for t in rate.tiers] == [0, 333e6, 1e9, 20e9]
    assert math.isinf(rate.tiers[-1].end)
    # 1,000,000,000 requests: 333,000,000 x $3.50/M + 667,000,000 x $2.80/M
    #   = $1,165.50 + $1,867.60 = $3,033.10
    assert rate.cost(1e9) == pytest.approx(3033.10)
    # 21,000,000,000: + 19,000,000,000 x $2.38/M ($45,220) + 1,000,000,000 x $1.51/M ($1,510)
    assert rate.cost(21e9) == pytest.approx(3033.10 + 45_220 + 1_510)


def test_the_price_book_finds_each_price_by_what_it_is() -> None:
    book = load_price_book("us-east-1", sorted(ROUND.glob("*.json")))
    assert book.usd(keys.dynamodb_read_request()) == 0.00000025  # not the IA read price
    assert book.usd(keys.dynamodb_write_request()) == 0.00000125
    assert book.usd(keys.dynamodb_read_capacity_hour()) == 0.0001
    assert book.usd(keys.lambda_gb_second("arm64")) == 0.00001
    assert book.usd(keys.lambda_gb_second("x86_64")) == 0.00002
    assert book.usd(keys.lambda_request("arm64")) == 0.0000002
    assert book.usd(keys.api_rest_request()) == 0.0000035  # not the HTTP API price
    assert book.usd(keys.api_cache_hour("1.6")) == 0.04
    assert book.usd(keys.cache_node_hour("cache.r7g.large", "valkey")) == 0.2
    assert book.usd(keys.cache_node_hour("cache.r7g.large", "redis")) == 0.25
    # The serverless usage types carry a USE1- prefix in this fixture; they still match.
    assert book.usd(keys.serverless_storage_gb_hour("valkey")) == 0.1
    assert book.usd(keys.serverless_ecpu("valkey")) == 0.000000002
    assert book.usd(keys.dax_node_hour("dax.r5.large")) == 0.25
    used = {label: u.offer.origin for label, u in book.used.items()}
    assert used["DAX dax.r5.large node-hour"].endswith("AmazonDAX.json")


def test_regions_match_by_code_or_by_location_name() -> None:
    eu = load_price_book("eu-west-1", [ROUND / "AmazonDynamoDB.json"])
    assert eu.usd(keys.dynamodb_read_request()) == 0.000000283  # EU-ReadRequestUnits
    # The Lambda fixture has only `location` ("US East (N. Virginia)"), no regionCode.
    us = load_price_book("us-east-1", [ROUND / "AWSLambda.json"])
    assert us.usd(keys.lambda_request("arm64")) == 0.0000002


def test_a_price_missing_in_the_region_names_prices_and_the_offer_file() -> None:
    book = load_price_book("eu-west-1", [ROUND / "AmazonDAX.json"])
    with pytest.raises(InputError) as error:
        book.rate(keys.dax_node_hour("dax.t3.small"))
    assert error.value.field == "--prices"
    assert "eu-west-1" in error.value.message
    assert "offers/v1.0/aws/AmazonDAX/current/eu-west-1/index.json" in error.value.message


def test_an_unknown_region_names_region() -> None:
    with pytest.raises(InputError) as error:
        load_price_book("mars-1")
    assert error.value.field == "--region"
    assert "us-east-1" in error.value.message


@pytest.mark.parametrize(
    ("fixture", "says"),
    [
        ("malformed_truncated.json", "not valid JSON"),
        ("malformed_price.json", "pricePerUnit.USD"),
        ("malformed_no_products.json", "products"),
    ],
)
def test_malformed_offer_files_name_prices_and_the_field(fixture: str, says: str) -> None:
    with pytest.raises(InputError) as error:
        load_price_book("us-east-1", [FIXTURES / fixture])
    assert error.value.field == "--prices"
    assert says in error.value.message


def test_other_malformed_files(tmp_path: Path) -> None:
    cases = {
        "not_an_object.json": "[1, 2, 3]",
        "no_offer_code.json": json.dumps({"products": {}, "terms": {}}),
        "bad_product.json": json.dumps({"offerCode": "AmazonDAX", "products": {"A": 7}}),
        "no_unit.json": json.dumps(
            {
                "offerCode": "AmazonDAX",
                "products": {
                    "A": {"productFamily": "DAX", "attributes": {"instanceType": "dax.t3.small"}}
                },
                "terms": {
                    "OnDemand": {
                        "A": {"T": {"priceDimensions": {"R": {"pricePerUnit": {"USD": "1"}}}}}
                    }
                },
            }
        ),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match="--prices"):
            load_price_book("us-east-1", [tmp_path / name])
    with pytest.raises(InputError, match="cannot read"):
        load_price_book("us-east-1", [tmp_path / "absent.json"])
    (tmp_path / "ec2.json").write_text(
        json.dumps({"offerCode": "AmazonEC2", "products": {}, "terms": {}})
    )
    with pytest.raises(InputError, match="AmazonEC2"):
        load_price_book("us-east-1", [tmp_path / "ec2.json"])


def test_a_large_offer_file_is_streamed_not_loaded(tmp_path: Path) -> None:
    """Tens of thousands of products, two wanted: memory stays far below the file's size."""
    path = tmp_path / "AmazonElastiCache.json"
    with path.open("w") as out:
        out.write('{"formatVersion":"v1.0","offerCode":"AmazonElastiCache",')
        out.write('"publicationDate":"2026-11-01T00:00:00Z","products":{')
        for i in range(30_000):
            out.write(
                f'"N{i}":{{"sku":"N{i}","productFamily":"Storage Snapshot","attributes":'
                f'{{"location":"US East (N. Virginia)","usagetype":"BackupUsage{i}"}}}},'
            )
        out.write(
            '"WANT":{"sku":"WANT","productFamily":"Cache Instance","attributes":{'
            '"regionCode":"us-east-1","instanceType":"cache.r7g.large","cacheEngine":"Valkey",'
            '"usagetype":"NodeUsage:cache.r7g.large"}}},"terms":{"OnDemand":{'
        )
        for i in range(30_000):
            out.write(
                f'"N{i}":{{"N{i}.T":{{"priceDimensions":{{"N{i}.T.R":{{"unit":"GB-Mo",'
                f'"pricePerUnit":{{"USD":"0.085"}},"description":"backup"}}}}}}}},'
            )
        out.write(
            '"WANT":{"WANT.T":{"priceDimensions":{"WANT.T.R":{"unit":"Hrs",'
            '"pricePerUnit":{"USD":"0.2000"},"description":"node"}}}}}}}'
        )
    size = path.stat().st_size
    assert size > 8_000_000
    tracemalloc.start()
    try:
        book = load_price_book("us-east-1", [path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert book.usd(keys.cache_node_hour("cache.r7g.large", "valkey")) == 0.2
    assert len(book.offers["AmazonElastiCache"].products) == 1
    # json.load of the same file would hold every product at once (several times its size).
    assert peak < size / 4, (peak, size)


# --- the shipped snapshot -------------------------------------------------------------------


def test_every_snapshot_figure_is_dated_sourced_and_graded() -> None:
    offers = list(snapshot_offers())
    assert {o.offer_code for o in offers} == set(keys.SNAPSHOT_OFFERS)
    for offer in offers:
        assert offer.publication_date == "2026-12-02T00:00:00Z"
        assert offer.sources, offer.offer_code
        for sku, rates in offer.rates.items():
            for rate in rates:
                assert rate.confirmation in ("aws", "third-party", "unconfirmed"), sku
                assert rate.source in offer.sources, (sku, rate.source)
                assert (
                    "read 2026-12-02" in offer.sources[rate.source]
                    or "Unconfirmed" in (offer.sources[rate.source])
                )


def test_the_snapshot_prices_every_part_of_both_stacks_in_us_east_1() -> None:
    book = load_price_book("us-east-1")
    figures = {
        keys.dynamodb_read_request(): 0.125e-6,
        keys.dynamodb_write_request(): 0.625e-6,
        keys.lambda_gb_second("arm64"): 0.0000133334,
        keys.lambda_request("arm64"): 0.2e-6,
        keys.api_rest_request(): 3.5e-6,
        keys.api_cache_hour("0.5"): 0.02,
        keys.api_cache_hour("1.6"): 0.038,
        keys.serverless_storage_gb_hour("valkey"): 0.084,
        keys.serverless_ecpu("valkey"): 0.0023e-6,
        keys.cache_node_hour("cache.r7g.large", "valkey"): 0.2016,
        keys.dax_node_hour("dax.t3.small"): 0.04,
        keys.dax_node_hour("dax.r5.large"): 0.269,
    }
    for key, usd in figures.items():
        assert book.usd(key) == pytest.approx(usd), key.label
    # The one figure read on an AWS page; the r7g node price is derived and says so.
    assert book.rate(keys.api_rest_request()).confirmation == "aws"
    assert book.rate(keys.cache_node_hour("cache.r7g.large", "valkey")).confirmation == (
        "unconfirmed"
    )


def test_the_snapshot_has_what_could_be_sourced_for_eu_west_1_and_says_what_it_lacks() -> None:
    book = load_price_book("eu-west-1")
    assert book.usd(keys.lambda_gb_second("arm64")) == pytest.approx(0.0000133334)
    assert book.usd(keys.serverless_storage_gb_hour("valkey")) == pytest.approx(0.084)
    assert book.rate(keys.serverless_ecpu("valkey")).confirmation == "unconfirmed"
    with pytest.raises(InputError, match="AmazonDynamoDB/current/eu-west-1"):
        book.rate(keys.dynamodb_read_request())


def test_region_table_knows_the_common_regions() -> None:
    assert {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"} <= set(REGIONS)
