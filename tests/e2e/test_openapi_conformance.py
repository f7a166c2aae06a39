"""docs/openapi.yaml against the running local stack: schemathesis finds no 5xx and no
response that breaks the document (status, content type, headers, body schema).

Also guards the document against the route table and the body schema the code uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cache_constructs.product.routes import (
    CATEGORY_PATTERN,
    PRODUCT_BODY_SCHEMA,
    PRODUCT_ID_PATTERN,
    PRODUCT_ROUTES,
)
from e2e.stack_process import StackProcess

pytestmark = pytest.mark.e2e

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


SCHEMA = schemathesis.openapi.from_path(OPENAPI)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure reproduces
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


# schemathesis' lazy `from_fixture` loader does not work with pytest 9, so each operation
# is a parametrized test that drives its Hypothesis strategy directly.
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_api_conforms_to_its_openapi_document(stack: StackProcess, operation: Any) -> None:
    base_url = stack.info["api_url"]
    strategies = [operation.as_strategy(), *operation.get_strategies_from_examples()]

    @SETTINGS
    @given(case=st.one_of(strategies))
    def exchange(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base_url, checks=CHECKS)

    exchange()


def test_document_covers_every_route_and_status() -> None:
    document = yaml.safe_load(OPENAPI.read_text())
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method != "parameters"
    }
    assert documented == {(route.method, route.path) for route in PRODUCT_ROUTES}
    statuses = {
        status
        for operations in document["paths"].values()
        for name, operation in operations.items()
        if name != "parameters"
        for status in operation["responses"]
    }
    assert {"200", "201", "204", "304", "400", "404", "405", "409", "412", "413", "415"} <= statuses


def test_document_schemas_match_the_code() -> None:
    schemas = yaml.safe_load(OPENAPI.read_text())["components"]["schemas"]
    assert schemas["ProductId"]["pattern"] == PRODUCT_ID_PATTERN
    assert schemas["Category"]["pattern"] == CATEGORY_PATTERN
    body = schemas["ProductInput"]
    assert body["additionalProperties"] is False
    assert body["required"] == PRODUCT_BODY_SCHEMA["required"]
    code_properties = PRODUCT_BODY_SCHEMA["properties"]
    assert isinstance(code_properties, dict)
    assert set(body["properties"]) == set(code_properties)
    for name in ("name", "description"):
        assert body["properties"][name] == code_properties[name]
    for schema_name in ("Product", "ProductPage", "Error"):
        assert schemas[schema_name]["additionalProperties"] is False
