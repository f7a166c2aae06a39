"""Input validation: every rejection is a 4xx naming the field."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from cache_constructs.product.domain.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from cache_constructs.product.domain.validation import (
    MAX_BODY_BYTES,
    check_json_content_type,
    decode_body,
    parse_json_object,
    parse_list_query,
    validate_product_body,
    validate_product_id,
)

VALID = {"name": "Lamp", "category": "home", "price": 12.5}


def body(**changes: object) -> dict[str, object]:
    result = {**VALID, **changes}
    return {key: value for key, value in result.items() if value is not ...}


@pytest.mark.parametrize("bad", ["", "a" * 65, "a/b", "a b", "é", "a.b", 5, None])
def test_product_id_pattern_and_length(bad: object) -> None:
    with pytest.raises(BadRequest, match="productId"):
        validate_product_id(bad)


def test_product_id_accepts_the_whole_alphabet() -> None:
    assert validate_product_id("aZ09_-" + "x" * 58) == "aZ09_-" + "x" * 58


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": True}, "price"),
        ({"price": "12"}, "price"),
        ({"price": -1}, "price"),
        ({"price": float("inf")}, "price"),
        ({"price": float("nan")}, "price"),
        ({"price": Decimal("-0.01")}, "price"),
        ({"price": Decimal("1e13")}, "price"),
        ({"price": Decimal("0.00000000001")}, "price"),
        ({"price": Decimal("123456789012.1234")}, "price"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 3}, "name"),
        ({"name": "\ud800"}, "name"),
        ({"category": "a/b"}, "category"),
        ({"category": ""}, "category"),
        ({"description": "x" * 2001}, "description"),
        ({"featured": "yes"}, "featured"),
        ({"featured": 1}, "featured"),
        ({"version": True}, "version"),
        ({"version": -1}, "version"),
        ({"version": Decimal("1.5")}, "version"),
        ({"productId": "bad id"}, "productId"),
        ({"productId": None}, "productId"),
        ({"updatedAt": "2026-11-24T02:10:00Z"}, "updatedAt"),
        ({"colour": "red"}, "colour"),
        ({"price": ...}, "price"),
        ({"name": ..., "category": ...}, "name, category"),
    ],
)
def test_bad_bodies_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(BadRequest, match=field):
        validate_product_body(body(**changes), path_id=None)


def test_put_body_id_must_equal_path_id() -> None:
    with pytest.raises(BadRequest, match="productId"):
        validate_product_body(body(productId="other"), path_id="p1")


def test_valid_body_is_normalised() -> None:
    parsed = validate_product_body(
        body(price=Decimal("12.50"), featured=True, version=3), path_id="p1"
    )
    assert parsed.product_id == "p1"
    assert parsed.price == Decimal("12.5")
    assert parsed.featured is True
    assert parsed.expected_version == 3
    assert validate_product_body(body(price=Decimal("7.0")), path_id=None).price == 7
    assert validate_product_body(body(price=0.1), path_id=None).price == Decimal("0.1")


@pytest.mark.parametrize(
    "text",
    ["", "{", "[1]", '"x"', "null", '{"a": NaN}', '{"a": Infinity}', "[" * 5000, "1" * 5000],
)
def test_malformed_json_is_a_400(text: str) -> None:
    with pytest.raises(BadRequest, match="body"):
        parse_json_object(text)


def test_duplicate_keys_are_rejected_by_name() -> None:
    with pytest.raises(BadRequest, match='"price"'):
        parse_json_object('{"price": 1, "price": 2}')


def test_floats_parse_as_decimal() -> None:
    assert parse_json_object('{"price": 0.1}') == {"price": Decimal("0.1")}


def test_body_size_limit_is_413_for_text_and_base64() -> None:
    decode_body("x" * MAX_BODY_BYTES, False)
    with pytest.raises(PayloadTooLarge):
        decode_body("x" * (MAX_BODY_BYTES + 1), False)
    with pytest.raises(PayloadTooLarge):
        decode_body(base64.b64encode(b"x" * (MAX_BODY_BYTES + 1)).decode(), True)
    with pytest.raises(PayloadTooLarge):
        decode_body("é" * (MAX_BODY_BYTES // 2 + 1), False)


def test_base64_bodies_are_decoded_and_checked() -> None:
    assert decode_body(base64.b64encode(b'{"a":1}').decode(), True) == '{"a":1}'
    with pytest.raises(BadRequest, match="base64"):
        decode_body("not base64!", True)
    with pytest.raises(BadRequest, match="UTF-8"):
        decode_body(base64.b64encode(b"\xff\xfe").decode(), True)
    with pytest.raises(BadRequest, match="body"):
        decode_body("", False)
    with pytest.raises(BadRequest, match="body"):
        decode_body(None, False)


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ],
)
def test_json_content_types(value: str) -> None:
    check_json_content_type(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
    ],
)
def test_other_content_types_are_415(value: str | None) -> None:
    with pytest.raises(UnsupportedMediaType, match="Content-Type"):
        check_json_content_type(value)


def test_list_query_defaults_and_bounds() -> None:
    query = parse_list_query({"category": ["home"]})
    assert (query.category, query.limit, query.cursor) == ("home", 20, None)
    assert (
        parse_list_query({"category": ["a b"], "limit": ["100"], "cursor": ["abc_-="]}).limit == 100
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "category"),
        ({"category": ["a/b"]}, "category"),
        ({"category": ["a", "b"]}, "category"),
        ({"category": ["a"], "limit": ["0"]}, "limit"),
        ({"category": ["a"], "limit": ["101"]}, "limit"),
        ({"category": ["a"], "limit": ["-1"]}, "limit"),
        ({"category": ["a"], "limit": ["1.5"]}, "limit"),
        ({"category": ["a"], "limit": ["ten"]}, "limit"),
        ({"category": ["a"], "cursor": ["%%%"]}, "cursor"),
        ({"category": ["a"], "cursor": ["x" * 2000]}, "cursor"),
    ],
)
def test_bad_list_queries_name_the_parameter(params: dict[str, list[str]], field: str) -> None:
    with pytest.raises(BadRequest, match=field):
        parse_list_query(params)
