"""The route table: the product API of docs/architecture.md, its keys, policies and auth."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from cache_constructs.contract import environment as runtime_environment
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.product import routes as product_routes
from cache_constructs.product import table_schema as product_table_schema
from cache_constructs.product.routes import (
    CATEGORY_PATTERN,
    GET_PRODUCT,
    LIST_PRODUCTS,
    PRODUCT_BODY_SCHEMA,
    PRODUCT_ID_PATTERN,
    PRODUCT_ROUTES,
    ProductRoute,
    QueryParam,
    find_route,
    routes_for,
)


def test_the_five_routes_of_the_product_api() -> None:
    assert {(r.method, r.path, r.function) for r in PRODUCT_ROUTES} == {
        ("GET", "/products/{id}", "read"),
        ("GET", "/products", "list"),
        ("POST", "/products", "write"),
        ("PUT", "/products/{id}", "write"),
        ("DELETE", "/products/{id}", "write"),
    }


def test_default_policies_and_api_cache() -> None:
    assert GET_PRODUCT.policy_name == "semi-static"
    assert GET_PRODUCT.api_cache is False  # the consistency promise
    assert LIST_PRODUCTS.policy_name == "dynamic"
    assert LIST_PRODUCTS.api_cache is True
    for route in routes_for("write"):
        assert route.policy_name is None
        assert route.api_cache is False
    # Every policy name resolves.
    for route in PRODUCT_ROUTES:
        if route.policy_name:
            CachePolicy.named(route.policy_name)


def test_writes_are_iam_authorized_and_public_gets_are_not() -> None:
    for route in PRODUCT_ROUTES:
        if route.method == "GET":
            assert route.authorization == "none" and route.is_public
        else:
            assert route.authorization == "iam" and not route.is_public


def test_list_cache_key_and_required_category() -> None:
    assert LIST_PRODUCTS.cache_key_parameters == (
        "method.request.querystring.category",
        "method.request.querystring.limit",
        "method.request.querystring.cursor",
    )
    assert LIST_PRODUCTS.request_parameters == {
        "method.request.querystring.category": True,
        "method.request.querystring.limit": False,
        "method.request.querystring.cursor": False,
    }


def test_item_route_keys_on_the_path_id() -> None:
    assert GET_PRODUCT.path_params == ("id",)
    assert GET_PRODUCT.cache_key_parameters == ("method.request.path.id",)
    assert GET_PRODUCT.request_parameters == {"method.request.path.id": True}
    assert GET_PRODUCT.method_settings_path == "/products/{id}/GET"


def test_bodies_only_on_post_and_put() -> None:
    assert {r.method for r in PRODUCT_ROUTES if r.has_body} == {"POST", "PUT"}


def test_find_route_and_routes_for() -> None:
    assert find_route("get", "/products") is LIST_PRODUCTS
    with pytest.raises(ValueError, match="no product route PATCH /products"):
        find_route("PATCH", "/products")
    assert routes_for("read") == (GET_PRODUCT,)
    with pytest.raises(ValueError, match="function must be one of"):
        routes_for("admin")


@pytest.mark.parametrize(
    ("value", "ok"),
    [("abc_DEF-123", True), ("a" * 64, True), ("a" * 65, False), ("", False), ("a/b", False)],
)
def test_product_id_pattern(value: str, ok: bool) -> None:
    assert bool(re.match(PRODUCT_ID_PATTERN, value)) is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("Home & Garden", False), ("Home Garden", True), ("x" * 65, False)]
)
def test_category_pattern(value: str, ok: bool) -> None:
    assert bool(re.match(CATEGORY_PATTERN, value)) is ok


def test_body_schema_matches_the_documented_fields() -> None:
    properties = PRODUCT_BODY_SCHEMA["properties"]
    assert isinstance(properties, dict)
    assert set(properties) == set(product_routes.PRODUCT_WRITE_FIELDS)
    assert PRODUCT_BODY_SCHEMA["additionalProperties"] is False
    assert PRODUCT_BODY_SCHEMA["required"] == ["name", "category", "price"]


@pytest.mark.parametrize(
    "module", [product_routes, product_table_schema, runtime_environment], ids=lambda m: m.__name__
)
def test_shared_definitions_are_pure_python(module: ModuleType) -> None:
    # The local stack and the runtime side read them: they import the standard library and
    # other pure modules of the package only (tests/contract/test_pure_python.py runs them).
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "cache_constructs"}, imported


# --- validation ---------------------------------------------------------------------------


def test_function_rule() -> None:
    with pytest.raises(ValueError, match="function must be one of"):
        ProductRoute("GET", "/x", "admin", None, "none")


def test_authorization_rule() -> None:
    with pytest.raises(ValueError, match="authorization must be one of"):
        ProductRoute("GET", "/x", "read", None, "cognito")


def test_path_rule() -> None:
    with pytest.raises(ValueError, match="path must start with '/'"):
        ProductRoute("GET", "products", "read", None, "none")


def test_api_cache_only_on_get() -> None:
    with pytest.raises(ValueError, match="api_cache is only allowed on GET"):
        ProductRoute("POST", "/x", "write", None, "iam", api_cache=True)


def test_query_param_defaults() -> None:
    param = QueryParam("q")
    assert (param.required, param.cache_key) == (False, False)
