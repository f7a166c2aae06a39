"""Streaming reader of AWS Price List offer files (the bulk API's JSON schema).

An offer file is one service's price list::

    {"formatVersion", "offerCode", "version", "publicationDate",
     "products": {sku: {"sku", "productFamily", "attributes": {name: value}}},
     "terms": {"OnDemand": {sku: {term: {"priceDimensions": {rate: {
         "unit", "pricePerUnit": {"USD": "0.0000001250"}, "beginRange", "endRange",
         "description"}}}}}, "Reserved": {...}}}

A downloaded file is large (an all-region ElastiCache offer is well over 100 MB), so it is never
loaded whole: ijson streams it twice, the first pass keeping only the products the caller asks
for, the second only their on-demand rates. The shipped snapshot uses the same schema (plus
`x-source` and `x-confirmation` on each rate, which other readers ignore).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
from ijson.common import ObjectBuilder

from cache_constructs.cost.errors import InputError

_META_FIELDS = ("formatVersion", "offerCode", "version", "publicationDate")


@dataclass(frozen=True)
class Product:
    """One SKU: its product family and attributes (region, usage type, node type, ...)."""

    sku: str
    family: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class Tier:
    """One price band of a rate: `usd` per unit from `begin` units (inclusive) to `end`."""

    begin: float
    end: float
    usd: float


@dataclass(frozen=True)
class Rate:
    """An on-demand price of one SKU, in bands (most rates have a single band from 0 to Inf)."""

    sku: str
    unit: str
    description: str
    tiers: tuple[Tier, ...]
    source: str | None = None
    confirmation: str | None = None

    @property
    def usd(self) -> float:
        """The price of the first band (the price most usage pays)."""
        return self.tiers[0].usd

    def cost(self, quantity: float) -> float:
        """USD for `quantity` units, each band priced at its own rate."""
        total = 0.0
        for tier in self.tiers:
            if quantity <= tier.begin:
                break
            total += (min(quantity, tier.end) - tier.begin) * tier.usd
        return total


@dataclass
class Offer:
    """The products and on-demand rates kept from one offer file."""

    offer_code: str
    publication_date: str
    origin: str
    """Where the figures came from: the file path, or the snapshot's own description."""
    products: dict[str, Product] = field(default_factory=dict)
    rates: dict[str, list[Rate]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    """Snapshot only: source id -> where the figure was read and when."""


def read_offer(
    path: Path,
    *,
    keep: Callable[[Product], bool],
    field_name: str = "--prices",
    origin: str | None = None,
) -> Offer:
    """Read `path` (an offer file), keeping the products for which `keep` is true.

    Raises InputError naming `field_name` and the offending JSON field when the file is not an
    offer file (not JSON, no products, a product without a family, a price that is not a number).
    """
    with _open(path, field_name) as stream:
        meta, products, sources = _scan_products(stream, keep, field_name)
    if "offerCode" not in meta:
        raise InputError(field_name, f"{path}: field offerCode is missing (not an offer file?)")
    if not products and not meta.get("_has_products"):
        raise InputError(field_name, f"{path}: field products is missing or empty")
    with _open(path, field_name) as stream:
        rates = _scan_rates(stream, products, field_name)
    return Offer(
        offer_code=str(meta["offerCode"]),
        publication_date=str(meta.get("publicationDate", "unknown")),
        origin=origin or str(path),
        products=products,
        rates=rates,
        sources=sources,
    )


@contextmanager
def _open(path: Path, field_name: str) -> Iterator[IO[bytes]]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError(field_name, f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        yield stream
    except ijson.JSONError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(field_name, f"{path}: not valid JSON ({first_line})") from None
    finally:
        stream.close()


def _scan_products(
    stream: IO[bytes], keep: Callable[[Product], bool], field_name: str
) -> tuple[dict[str, Any], dict[str, Product], dict[str, str]]:
    """First pass: the top-level metadata, the kept products and the snapshot's sources."""
    meta: dict[str, Any] = {}
    products: dict[str, Product] = {}
    sources: dict[str, str] = {}
    builder: ObjectBuilder | None = None
    sku = ""
    for prefix, event, value in ijson.parse(stream, use_float=True):
        if prefix == "products":
            if event == "start_map":
                meta["_has_products"] = True
            elif event in ("map_key", "end_map"):
                if builder is not None:
                    _keep_product(sku, builder.value, keep, products, field_name)
                builder = None
                if event == "map_key":
                    sku, builder = str(value), ObjectBuilder()
            continue
        if builder is not None and prefix.startswith("products."):
            builder.event(event, value)
        elif prefix in _META_FIELDS and event in ("string", "number"):
            meta[prefix] = value
        elif prefix.startswith("x-sources.") and event == "string":
            sources[prefix.removeprefix("x-sources.")] = str(value)
    return meta, products, sources


def _keep_product(
    sku: str,
    raw: Any,
    keep: Callable[[Product], bool],
    products: dict[str, Product],
    field_name: str,
) -> None:
    where = f"products.{sku}"
    if not isinstance(raw, dict):
        raise InputError(field_name, f"field {where} is not an object")
    family = raw.get("productFamily")
    attributes = raw.get("attributes", {})
    if not isinstance(family, str):
        # A few real SKUs (e.g. free-tier or data-transfer lines) have no family: never ours.
        return
    if not isinstance(attributes, dict):
        raise InputError(field_name, f"field {where}.attributes is not an object")
    product = Product(sku, family, {str(k): str(v) for k, v in attributes.items()})
    if keep(product):
        products[sku] = product


def _scan_rates(
    stream: IO[bytes], products: dict[str, Product], field_name: str
) -> dict[str, list[Rate]]:
    """Second pass: the on-demand rates of the kept products."""
    rates: dict[str, list[Rate]] = {}
    for sku, terms in ijson.kvitems(stream, "terms.OnDemand", use_float=True):
        if sku not in products:
            continue
        where = f"terms.OnDemand.{sku}"
        if not isinstance(terms, dict):
            raise InputError(field_name, f"field {where} is not an object")
        for term_code, term in terms.items():
            dimensions = term.get("priceDimensions") if isinstance(term, dict) else None
            if not isinstance(dimensions, dict):
                raise InputError(field_name, f"field {where}.{term_code}.priceDimensions missing")
            rates.setdefault(sku, []).extend(
                _rates_of(sku, dimensions, f"{where}.{term_code}.priceDimensions", field_name)
            )
    return rates


def _rates_of(sku: str, dimensions: dict[str, Any], where: str, field_name: str) -> list[Rate]:
    """The dimensions of one term as rates: the bands of one unit form one banded rate."""
    grouped: dict[str, list[tuple[Tier, dict[str, Any]]]] = {}
    for rate_code, dimension in dimensions.items():
        at = f"{where}.{rate_code}"
        if not isinstance(dimension, dict):
            raise InputError(field_name, f"field {at} is not an object")
        price = dimension.get("pricePerUnit")
        if not isinstance(price, dict):
            raise InputError(field_name, f"field {at}.pricePerUnit is missing")
        usd = _number(price.get("USD"), f"{at}.pricePerUnit.USD", field_name)
        begin = _number(dimension.get("beginRange", "0"), f"{at}.beginRange", field_name)
        end = _number(dimension.get("endRange", "Inf"), f"{at}.endRange", field_name)
        unit = dimension.get("unit")
        if not isinstance(unit, str):
            raise InputError(field_name, f"field {at}.unit is missing")
        grouped.setdefault(unit, []).append((Tier(begin, end, usd), dimension))
    rates = []
    for unit, banded in grouped.items():
        banded.sort(key=lambda pair: pair[0].begin)
        first = banded[0][1]
        rates.append(
            Rate(
                sku=sku,
                unit=unit,
                description=str(first.get("description", "")),
                tiers=tuple(tier for tier, _ in banded),
                source=_optional_str(first.get("x-source")),
                confirmation=_optional_str(first.get("x-confirmation")),
            )
        )
    return rates


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any, where: str, field_name: str) -> float:
    if isinstance(value, bool):
        raise InputError(field_name, f"field {where} is not a number: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("inf", "infinity"):
            return math.inf
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number) and number >= 0:
                return number
    raise InputError(field_name, f"field {where} is not a non-negative number: {value!r}")
