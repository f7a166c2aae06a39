"""The handlers enforce exactly the body the constructs publish (routes.PRODUCT_BODY_SCHEMA).

(The id and category patterns, the body size and the list limits are the route table's own
constants, imported by the validation module, so they cannot drift.)
"""

from __future__ import annotations

from cache_constructs.product import routes
from cache_constructs.product.domain import validation


def test_body_fields_match_the_route_table_and_its_schema() -> None:
    assert set(routes.PRODUCT_WRITE_FIELDS) == validation.KNOWN_FIELDS
    schema = routes.PRODUCT_BODY_SCHEMA
    assert set(schema["required"]) == set(validation.REQUIRED_FIELDS)
    properties = schema["properties"]
    assert properties["name"]["maxLength"] == validation.MAX_NAME_CHARS
    assert properties["description"]["maxLength"] == validation.MAX_DESCRIPTION_CHARS
    assert schema["additionalProperties"] is False
