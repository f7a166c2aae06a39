"""Prices for one region: the shipped snapshot, or offer files a user downloaded, by what they are.

Each price the model needs is a `PriceKey`: the offer (service), product family, attributes and
usage type that identify it in an offer file. A `PriceBook` finds each key's rate in the chosen
region and remembers which figures a report used (with their source and how well confirmed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from cache_constructs.cost.errors import InputError
from cache_constructs.cost.offers import Offer, Product, Rate, read_offer

SNAPSHOT_OFFERS = (
    "AmazonApiGateway",
    "AWSLambda",
    "AmazonElastiCache",
    "AmazonDAX",
    "AmazonDynamoDB",
)
"""The services the model prices; the snapshot has one offer file for each."""

SNAPSHOT_ORIGIN = "the shipped price snapshot"
OFFER_FILE_URL = (
    "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/current/{region}/index.json"
)

REGIONS: dict[str, tuple[str, ...]] = {
    "us-east-1": ("US East (N. Virginia)",),
    "us-east-2": ("US East (Ohio)",),
    "us-west-1": ("US West (N. California)",),
    "us-west-2": ("US West (Oregon)",),
    "ca-central-1": ("Canada (Central)",),
    "sa-east-1": ("South America (Sao Paulo)", "South America (São Paulo)"),
    "eu-west-1": ("EU (Ireland)", "Europe (Ireland)"),
    "eu-west-2": ("EU (London)", "Europe (London)"),
    "eu-west-3": ("EU (Paris)", "Europe (Paris)"),
    "eu-central-1": ("EU (Frankfurt)", "Europe (Frankfurt)"),
    "eu-central-2": ("EU (Zurich)", "Europe (Zurich)"),
    "eu-north-1": ("EU (Stockholm)", "Europe (Stockholm)"),
    "eu-south-1": ("EU (Milan)", "Europe (Milan)"),
    "eu-south-2": ("EU (Spain)", "Europe (Spain)"),
    "ap-south-1": ("Asia Pacific (Mumbai)",),
    "ap-south-2": ("Asia Pacific (Hyderabad)",),
    "ap-east-1": ("Asia Pacific (Hong Kong)",),
    "ap-northeast-1": ("Asia Pacific (Tokyo)",),
    "ap-northeast-2": ("Asia Pacific (Seoul)",),
    "ap-northeast-3": ("Asia Pacific (Osaka)",),
    "ap-southeast-1": ("Asia Pacific (Singapore)",),
    "ap-southeast-2": ("Asia Pacific (Sydney)",),
    "ap-southeast-3": ("Asia Pacific (Jakarta)",),
    "ap-southeast-4": ("Asia Pacific (Melbourne)",),
    "me-south-1": ("Middle East (Bahrain)",),
    "me-central-1": ("Middle East (UAE)",),
    "il-central-1": ("Israel (Tel Aviv)",),
    "af-south-1": ("Africa (Cape Town)",),
}
"""AWS commercial regions: code -> the `location` names offer files use for it."""

# A usage type carries a region prefix outside us-east-1 ("EU-ReadRequestUnits", "USE2-...").
_REGION_PREFIX = re.compile(r"[A-Z]{2,4}[0-9]?-")


@dataclass(frozen=True)
class PriceKey:
    """What identifies one price in an offer file, and how to name it in a report."""

    label: str
    offer: str
    family: str | None
    attributes: tuple[tuple[str, str], ...] = ()
    usage: str | None = None
    """The usage type without its region prefix, matched exactly."""
    usage_contains: str | None = None
    usage_excludes: tuple[str, ...] = ()

    def matches(self, product: Product, region: str) -> bool:
        """True when `product` is this price in `region`."""
        if self.family is not None and product.family != self.family:
            return False
        attrs = product.attributes
        if not _in_region(attrs, region):
            return False
        if any(attrs.get(name) != value for name, value in self.attributes):
            return False
        usagetype = attrs.get("usagetype", "")
        if any(token in usagetype for token in self.usage_excludes):
            return False
        if self.usage is not None and not _usage_is(usagetype, self.usage):
            return False
        return self.usage_contains is None or self.usage_contains in usagetype


def _in_region(attributes: dict[str, str], region: str) -> bool:
    if "regionCode" in attributes:
        return attributes["regionCode"] == region
    return attributes.get("location") in REGIONS[region]


def _usage_is(usagetype: str, usage: str) -> bool:
    if usagetype == usage:
        return True
    prefix = usagetype[: -len(usage)] if usagetype.endswith("-" + usage) else ""
    return bool(prefix) and _REGION_PREFIX.fullmatch(prefix) is not None


# --- the catalog: every price the model uses ---------------------------------------------------

_DDB_ON_DEMAND = "Amazon DynamoDB PayPerRequest Throughput"
_DDB_PROVISIONED = "Provisioned IOPS"
# Standard-Infrequent Access tables have their own (dearer) request prices.
_NOT_IA = ("IA-",)


def dynamodb_read_request() -> PriceKey:
    """DynamoDB on demand: one read request unit (a 4 KB strongly consistent read)."""
    return PriceKey(
        "DynamoDB on-demand read request unit",
        "AmazonDynamoDB",
        _DDB_ON_DEMAND,
        usage="ReadRequestUnits",
        usage_excludes=_NOT_IA,
    )


def dynamodb_write_request() -> PriceKey:
    """DynamoDB on demand: one write request unit (a 1 KB write)."""
    return PriceKey(
        "DynamoDB on-demand write request unit",
        "AmazonDynamoDB",
        _DDB_ON_DEMAND,
        usage="WriteRequestUnits",
        usage_excludes=_NOT_IA,
    )


def dynamodb_read_capacity_hour() -> PriceKey:
    """DynamoDB provisioned: one read capacity unit for an hour."""
    return PriceKey(
        "DynamoDB provisioned read capacity unit-hour",
        "AmazonDynamoDB",
        _DDB_PROVISIONED,
        usage="ReadCapacityUnit-Hrs",
        usage_excludes=_NOT_IA,
    )


def dynamodb_write_capacity_hour() -> PriceKey:
    """DynamoDB provisioned: one write capacity unit for an hour."""
    return PriceKey(
        "DynamoDB provisioned write capacity unit-hour",
        "AmazonDynamoDB",
        _DDB_PROVISIONED,
        usage="WriteCapacityUnit-Hrs",
        usage_excludes=_NOT_IA,
    )


def lambda_gb_second(architecture: str) -> PriceKey:
    """Lambda duration: one GB-second on `architecture` (arm64 or x86_64)."""
    arm = architecture == "arm64"
    return PriceKey(
        f"Lambda GB-second ({architecture})",
        "AWSLambda",
        "Serverless",
        usage="Lambda-GB-Second-ARM" if arm else "Lambda-GB-Second",
    )


def lambda_request(architecture: str) -> PriceKey:
    """Lambda: one request (invocation) on `architecture`."""
    arm = architecture == "arm64"
    return PriceKey(
        f"Lambda request ({architecture})",
        "AWSLambda",
        "Serverless",
        usage="Request-ARM" if arm else "Request",
    )


def api_rest_request() -> PriceKey:
    """API Gateway: one REST API request (banded by monthly volume)."""
    return PriceKey(
        "API Gateway REST request", "AmazonApiGateway", "API Calls", usage="ApiGatewayRequest"
    )


def api_cache_hour(size_gb: str) -> PriceKey:
    """API Gateway: one hour of a stage cache of `size_gb` ("0.5" ... "237")."""
    return PriceKey(
        f"API Gateway stage cache {size_gb} GB hour",
        "AmazonApiGateway",
        "Amazon API Gateway Cache",
        attributes=(("cacheMemorySizeGb", size_gb),),
    )


def cache_node_hour(node_type: str, engine: str) -> PriceKey:
    """ElastiCache: one node-hour of `node_type` running `engine` (valkey or redis)."""
    return PriceKey(
        f"ElastiCache {_engine_name(engine)} {node_type} node-hour",
        "AmazonElastiCache",
        "Cache Instance",
        attributes=(("instanceType", node_type), ("cacheEngine", _engine_name(engine))),
    )


def serverless_storage_gb_hour(engine: str) -> PriceKey:
    """ElastiCache Serverless: one GB-hour of data stored."""
    return PriceKey(
        f"ElastiCache Serverless {_engine_name(engine)} GB-hour stored",
        "AmazonElastiCache",
        "ElastiCache Serverless",
        attributes=(("cacheEngine", _engine_name(engine)),),
        usage_contains="CachedData",
    )


def serverless_ecpu(engine: str) -> PriceKey:
    """ElastiCache Serverless: one ElastiCache Processing Unit."""
    return PriceKey(
        f"ElastiCache Serverless {_engine_name(engine)} ECPU",
        "AmazonElastiCache",
        "ElastiCache Serverless",
        attributes=(("cacheEngine", _engine_name(engine)),),
        usage_contains="ElastiCacheProcessingUnits",
    )


def dax_node_hour(node_type: str) -> PriceKey:
    """DAX: one node-hour of `node_type`."""
    return PriceKey(
        f"DAX {node_type} node-hour",
        "AmazonDAX",
        None,
        attributes=(("instanceType", node_type),),
        usage_contains="NodeUsage",
    )


def _engine_name(engine: str) -> str:
    return {"valkey": "Valkey", "redis": "Redis"}.get(engine.lower(), engine)


_FAMILIES = frozenset(
    {
        _DDB_ON_DEMAND,
        _DDB_PROVISIONED,
        "Serverless",
        "API Calls",
        "Amazon API Gateway Cache",
        "Cache Instance",
        "ElastiCache Serverless",
    }
)


def _wanted(product: Product) -> bool:
    # Keep only what a PriceKey can match, so a 100 MB offer file costs little memory.
    return product.family in _FAMILIES or product.attributes.get("instanceType", "").startswith(
        "dax."
    )


# --- the book -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsedPrice:
    """A figure a report used: what it is, the rate and where it came from."""

    key: PriceKey
    rate: Rate
    offer: Offer


@dataclass
class PriceBook:
    """The offers to price from, for one region."""

    offers: dict[str, Offer]
    region: str
    used: dict[str, UsedPrice] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise InputError(
                "--region", f"unknown region {self.region!r}; known: {', '.join(sorted(REGIONS))}"
            )

    def rate(self, key: PriceKey) -> Rate:
        """The rate of `key` in this region; InputError naming --prices when there is none."""
        offer = self.offers.get(key.offer)
        if offer is None:
            raise InputError("--prices", f"no {key.offer} offer loaded for {key.label}")
        matches = [p for p in offer.products.values() if key.matches(p, self.region)]
        rates = [rate for product in matches for rate in offer.rates.get(product.sku, [])]
        if not rates:
            url = OFFER_FILE_URL.format(offer=key.offer, region=self.region)
            raise InputError(
                "--prices",
                f"no price for {key.label} in {self.region} in {offer.origin} "
                f"(published {offer.publication_date}); download {url} and pass it with --prices",
            )
        rate = rates[0]
        self.used[key.label] = UsedPrice(key, rate, offer)
        return rate

    def usd(self, key: PriceKey) -> float:
        """The first-band price of `key` in USD per unit."""
        return self.rate(key).usd


def load_price_book(region: str, price_files: Sequence[Path] = ()) -> PriceBook:
    """The shipped snapshot for `region`, each offer replaced by a user's file of that offer."""
    if region not in REGIONS:
        raise InputError(
            "--region", f"unknown region {region!r}; known: {', '.join(sorted(REGIONS))}"
        )
    offers = {offer.offer_code: offer for offer in snapshot_offers()}
    for path in price_files:
        offer = read_offer(Path(path), keep=_wanted)
        if offer.offer_code not in SNAPSHOT_OFFERS:
            raise InputError(
                "--prices",
                f"{path}: offerCode {offer.offer_code!r} is not one the model prices "
                f"({', '.join(SNAPSHOT_OFFERS)})",
            )
        offers[offer.offer_code] = offer
    return PriceBook(offers=offers, region=region)


def snapshot_offers() -> Iterable[Offer]:
    """The offers shipped in this package (cache_constructs/cost/prices/<offer>.json)."""
    folder = resources.files("cache_constructs.cost") / "prices"
    for offer_code in SNAPSHOT_OFFERS:
        with resources.as_file(folder / f"{offer_code}.json") as path:
            yield read_offer(
                path,
                keep=_wanted,
                field_name="price snapshot",
                origin=f"{SNAPSHOT_ORIGIN} ({offer_code}.json)",
            )
