"""The handlers enforce exactly the limits the constructs publish (product_routes)."""

from __future__ import annotations

from handler_env import load_pure_module
from product_service import validation

routes = load_pure_module("product_routes")


def test_patterns_and_limits_match_the_route_table() -> None:
    assert f"^{validation.PRODUCT_ID_PATTERN.pattern}$" == routes.PRODUCT_ID_PATTERN
    assert f"^{validation.CATEGORY_PATTERN.pattern}$" == routes.CATEGORY_PATTERN
    assert validation.MAX_BODY_BYTES == routes.MAX_BODY_BYTES
    assert (validation.DEFAULT_LIMIT, validation.MAX_LIMIT) == (
        routes.LIST_LIMIT_DEFAULT,
        routes.LIST_LIMIT_MAX,
    )
    assert routes.LIST_LIMIT_MIN == 1


def test_body_fields_match_the_route_table_and_its_schema() -> None:
    assert set(routes.PRODUCT_WRITE_FIELDS) == validation.KNOWN_FIELDS
    schema = routes.PRODUCT_BODY_SCHEMA
    assert set(schema["required"]) == set(validation.REQUIRED_FIELDS)
    properties = schema["properties"]
    assert properties["name"]["maxLength"] == validation.MAX_NAME_CHARS
    assert properties["description"]["maxLength"] == validation.MAX_DESCRIPTION_CHARS
    assert schema["additionalProperties"] is False
