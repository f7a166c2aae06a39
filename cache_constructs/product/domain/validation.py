"""Validation of everything a client sends: ids, query strings, headers and JSON bodies.

Every rejection is a 4xx `ApiError` whose message names the offending field, so nothing
malformed reaches DynamoDB or the cache (and nothing a client sends can cause a 5xx).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cache_constructs.product import routes
from cache_constructs.product.domain.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

PRODUCT_ID_PATTERN = re.compile(routes.PRODUCT_ID_PATTERN)
CATEGORY_PATTERN = re.compile(routes.CATEGORY_PATTERN)
CURSOR_PATTERN = re.compile(r"[A-Za-z0-9_=-]{1,1024}")
LIMIT_PATTERN = re.compile(r"[0-9]{1,3}")

MAX_BODY_BYTES = routes.MAX_BODY_BYTES
DEFAULT_LIMIT = routes.LIST_LIMIT_DEFAULT
MIN_LIMIT = routes.LIST_LIMIT_MIN
MAX_LIMIT = routes.LIST_LIMIT_MAX
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000
# DynamoDB numbers hold 38 significant digits; a product price needs far fewer, and bounding
# it here keeps every accepted price storable (no ValidationException -> 5xx at write time).
MAX_PRICE = Decimal("1e12")
MAX_PRICE_DECIMALS = 10
# Readers get prices back as JSON numbers (floats once past DynamoDB): 15 significant digits
# survive that round trip exactly.
MAX_PRICE_DIGITS = 15

REQUIRED_FIELDS = ("name", "category", "price")
# The writable fields (docs/architecture.md); `updatedAt` is server-managed, so it is unknown.
KNOWN_FIELDS = frozenset(routes.PRODUCT_WRITE_FIELDS)


@dataclass(frozen=True)
class ProductInput:
    """A validated write body. `expected_version` is the body's optional `version`."""

    product_id: str | None
    name: str
    category: str
    price: int | Decimal
    description: str | None = None
    featured: bool | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ListQuery:
    """A validated `GET /products` query."""

    category: str
    limit: int
    cursor: str | None


def _show(value: str, limit: int = 64) -> str:
    """A client value quoted for an error message, cut short so messages stay small."""
    shown = value if len(value) <= limit else value[:limit] + "..."
    return json.dumps(shown)


def validate_product_id(value: object, field: str = "productId") -> str:
    """Return `value` if it is a valid product id, else raise BadRequest naming `field`."""
    if not isinstance(value, str) or not PRODUCT_ID_PATTERN.fullmatch(value):
        raise BadRequest(f"{field} must match ^[A-Za-z0-9_-]{{1,64}}$")
    return value


def validate_category(value: object, field: str = "category") -> str:
    """Return `value` if it is a valid category, else raise BadRequest naming `field`."""
    if not isinstance(value, str) or not CATEGORY_PATTERN.fullmatch(value):
        raise BadRequest(f"{field} must match ^[A-Za-z0-9 _-]{{1,64}}$")
    return value


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest(f"{name} must be given at most once")
    return values[0]


def parse_list_query(params: Mapping[str, Sequence[str]]) -> ListQuery:
    """Validate `category` (required), `limit` (1..100, default 20) and `cursor` (opaque).

    `params` maps each query parameter to all of its values, so a repeated parameter is
    rejected instead of silently picking one. Other parameters are ignored.
    """
    category = _single(params, "category")
    if category is None:
        raise BadRequest("category is required")
    validate_category(category)
    raw_limit = _single(params, "limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not LIMIT_PATTERN.fullmatch(raw_limit) or not MIN_LIMIT <= int(raw_limit) <= MAX_LIMIT:
            raise BadRequest(f"limit must be an integer from {MIN_LIMIT} to {MAX_LIMIT}")
        limit = int(raw_limit)
    cursor = _single(params, "cursor")
    if cursor is not None and not CURSOR_PATTERN.fullmatch(cursor):
        raise BadRequest("cursor is not a valid cursor")
    return ListQuery(category=category, limit=limit, cursor=cursor)


def check_json_content_type(content_type: str | None) -> None:
    """Accept `application/json` (or `application/*+json`), charset utf-8 if given; else 415."""
    if not content_type:
        raise UnsupportedMediaType("Content-Type must be application/json")
    media_type, *params = (part.strip() for part in content_type.split(";"))
    media_type = media_type.lower()
    is_json = media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
    if not is_json:
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {_show(media_type)}"
        )
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise UnsupportedMediaType("Content-Type charset must be utf-8")


def decode_body(body: str | None, is_base64_encoded: bool) -> str:
    """The request body as text: base64-decoded when flagged, at most 16 KiB, valid UTF-8."""
    if body is None or body == "":
        raise BadRequest("body is required")
    if is_base64_encoded:
        # A base64 text longer than 4/3 of the limit cannot decode to less than the limit.
        if len(body) > (MAX_BODY_BYTES // 3 + 1) * 4 + 4:
            raise PayloadTooLarge(f"body must be at most {MAX_BODY_BYTES} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("body is flagged isBase64Encoded but is not valid base64") from None
    else:
        # surrogatepass: a lone surrogate still counts (and is rejected below), not crashes.
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body must be at most {MAX_BODY_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body must be UTF-8 encoded JSON") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadRequest(f"field {_show(key)} appears more than once")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"body contains {name}, which is not valid JSON")


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse a JSON object strictly: no NaN/Infinity, no duplicate keys; floats as Decimal."""
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=Decimal,
            parse_constant=_reject_constant,
        )
    except BadRequest:
        raise
    except (ValueError, RecursionError) as err:
        # JSONDecodeError is a ValueError, as is an integer beyond Python's digit limit.
        raise BadRequest(f"body is malformed JSON: {str(err)[:120]}") from None
    if not isinstance(value, dict):
        raise BadRequest("body must be a JSON object")
    return value


def _text(body: Mapping[str, Any], field: str, max_chars: int, *, min_chars: int = 0) -> str:
    value = body[field]
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    if not min_chars <= len(value) <= max_chars:
        raise BadRequest(f"{field} must be {min_chars} to {max_chars} characters long")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{field} must be valid Unicode text (no lone surrogates)") from None
    return value


def _price(value: object) -> int | Decimal:
    # bool is an int subclass: `true` is not a price.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise BadRequest("price must be a number")
    # A float (from a caller that parsed JSON itself) is taken at its shortest repr.
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite() or amount < 0:
        raise BadRequest("price must be a number >= 0")
    if amount > MAX_PRICE:
        raise BadRequest(f"price must be at most {MAX_PRICE:f}")
    if amount == amount.to_integral_value():
        return int(amount)
    normalized = amount.normalize()
    digits = normalized.as_tuple()
    if isinstance(digits.exponent, int) and -digits.exponent > MAX_PRICE_DECIMALS:
        raise BadRequest(f"price must have at most {MAX_PRICE_DECIMALS} decimal places")
    if len(digits.digits) > MAX_PRICE_DIGITS:
        raise BadRequest(f"price must have at most {MAX_PRICE_DIGITS} significant digits")
    return normalized


def validate_product_body(body: Mapping[str, Any], *, path_id: str | None) -> ProductInput:
    """Validate a POST (`path_id` None) or PUT body against the product contract."""
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise BadRequest("unknown field(s): " + ", ".join(_show(name) for name in unknown[:5]))
    missing = [field for field in REQUIRED_FIELDS if field not in body]
    if missing:
        raise BadRequest("missing required field(s): " + ", ".join(missing))

    product_id = body.get("productId")
    if product_id is not None:
        validate_product_id(product_id)
        if path_id is not None and product_id != path_id:
            raise BadRequest("productId in the body must equal the id in the path")
    elif "productId" in body:
        raise BadRequest("productId must be a string when given")

    description = None
    if body.get("description") is not None:
        description = _text(body, "description", MAX_DESCRIPTION_CHARS)
    featured = body.get("featured")
    if featured is not None and not isinstance(featured, bool):
        raise BadRequest("featured must be a boolean")
    version = body.get("version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 0
    ):
        raise BadRequest("version must be a non-negative integer")
    return ProductInput(
        product_id=path_id if path_id is not None else product_id,
        name=_text(body, "name", MAX_NAME_CHARS, min_chars=1),
        category=validate_category(body["category"]),
        price=_price(body["price"]),
        description=description,
        featured=featured,
        expected_version=version,
    )
