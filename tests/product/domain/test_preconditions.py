"""Entity-tag lists for If-Match / If-None-Match."""

from __future__ import annotations

import pytest

from cache_constructs.product.domain.errors import BadRequest, PreconditionFailed
from cache_constructs.product.domain.preconditions import check_if_match, header, parse_entity_tags

ETAG = '"0123456789abcdef0123456789abcdef"'


def test_absent_header_is_none() -> None:
    assert parse_entity_tags(None, "If-None-Match") is None


@pytest.mark.parametrize(
    "value", [ETAG, f'"x", {ETAG}', f"W/{ETAG}", "*", f' "a" ,W/"b",  {ETAG} ']
)
def test_weak_comparison_matches(value: str) -> None:
    tags = parse_entity_tags(value, "If-None-Match")
    assert tags is not None and tags.weak_match(ETAG)


def test_strong_comparison_ignores_weak_tags() -> None:
    tags = parse_entity_tags(f"W/{ETAG}", "If-Match")
    assert tags is not None and not tags.strong_match(ETAG)
    with pytest.raises(PreconditionFailed):
        check_if_match(tags, ETAG)


def test_if_match_star_needs_an_existing_item() -> None:
    star = parse_entity_tags("*", "If-Match")
    check_if_match(star, ETAG)
    with pytest.raises(PreconditionFailed):
        check_if_match(star, None)


def test_other_tags_do_not_match() -> None:
    tags = parse_entity_tags('"a", "b"', "If-None-Match")
    assert tags is not None and not tags.weak_match(ETAG)


@pytest.mark.parametrize("value", ["abc", '"unterminated', '"a" "b"', ",", "W/abc"])
def test_malformed_lists_are_400_naming_the_header(value: str) -> None:
    with pytest.raises(BadRequest, match="If-Match"):
        parse_entity_tags(value, "If-Match")


def test_multi_value_header_lines_are_joined() -> None:
    assert header({"a": "1"}, {"a": ["1", "2"]}, "a") == "1, 2"
    assert header({"a": "1"}, {}, "a") == "1"
    assert header({}, {}, "a") is None
