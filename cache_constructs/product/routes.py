"""The product API route table (pure Python: no CDK import).

One source for the API Gateway wiring (CachedProductService -> CachedRestApi) and the local
stack's HTTP front, so both serve the same routes with the same parameters, cache keys,
default cache policies and authorization (docs/architecture.md, "Product API").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cache_constructs.contract.policy import CachePolicy

FUNCTION_ROLES: tuple[str, ...] = ("read", "list", "write")
"""The Lambda function behind a route."""

AUTHORIZATIONS: tuple[str, ...] = ("none", "iam")
"""How API Gateway authorizes a route: public GETs "none", writes "iam"."""

PRODUCT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CATEGORY_PATTERN = r"^[A-Za-z0-9 _-]{1,64}$"
LIST_LIMIT_MIN = 1
LIST_LIMIT_MAX = 100
LIST_LIMIT_DEFAULT = 20
MAX_BODY_BYTES = 16 * 1024
"""Largest accepted request body (larger: 413)."""

_PATH_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\}")


@dataclass(frozen=True)
class QueryParam:
    """A query-string parameter of a route."""

    name: str
    required: bool = False
    """API Gateway's request validator rejects the request (400) when it is missing."""
    cache_key: bool = False
    """Part of the API Gateway cache key (only meaningful on a cached route)."""


@dataclass(frozen=True)
class ProductRoute:
    """One route of the product API."""

    method: str
    """HTTP method, upper case."""
    path: str
    """Resource path with `{name}` path parameters, e.g. ``/products/{id}``."""
    function: str
    """The function that serves it: one of `FUNCTION_ROLES`."""
    policy_name: str | None
    """Default cache policy name (`CachePolicy.named`), None for writes."""
    authorization: str
    """One of `AUTHORIZATIONS`."""
    api_cache: bool = False
    """Whether the API Gateway stage cache serves this route by default."""
    query_params: tuple[QueryParam, ...] = ()
    has_body: bool = False
    """The route takes a JSON body (validated against the product model)."""

    def __post_init__(self) -> None:
        if self.function not in FUNCTION_ROLES:
            raise ValueError(
                f"function must be one of {list(FUNCTION_ROLES)}; got {self.function!r}"
            )
        if self.authorization not in AUTHORIZATIONS:
            raise ValueError(
                f"authorization must be one of {list(AUTHORIZATIONS)}; got {self.authorization!r}"
            )
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/'; got {self.path!r}")
        if self.api_cache and self.method != "GET":
            raise ValueError(f"api_cache is only allowed on GET routes; got {self.method}")

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the path parameters, in order (``("id",)``)."""
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def method_settings_path(self) -> str:
        """The key of API Gateway stage method settings (``/products/{id}/GET``)."""
        return f"{self.path}/{self.method}"

    @property
    def request_parameters(self) -> dict[str, bool]:
        """API Gateway method request parameters -> required (path params always required)."""
        params = {f"method.request.path.{name}": True for name in self.path_params}
        params.update(
            {f"method.request.querystring.{q.name}": q.required for q in self.query_params}
        )
        return params

    @property
    def cache_key_parameters(self) -> tuple[str, ...]:
        """API Gateway cache key parameters: the path parameters and the keyed query params."""
        keys = [f"method.request.path.{name}" for name in self.path_params]
        keys += [f"method.request.querystring.{q.name}" for q in self.query_params if q.cache_key]
        return tuple(keys)

    @property
    def is_public(self) -> bool:
        """True for routes anyone may call (no authorization)."""
        return self.authorization == "none"


ITEM_PATH = "/products/{id}"
COLLECTION_PATH = "/products"

GET_PRODUCT = ProductRoute(
    method="GET",
    path=ITEM_PATH,
    function="read",
    policy_name="semi-static",
    authorization="none",
    # Off by default: the stage cache cannot be invalidated by writes, and its TTL would add
    # to the item route's max staleness (docs/architecture.md, consistency promise).
    api_cache=False,
)
LIST_PRODUCTS = ProductRoute(
    method="GET",
    path=COLLECTION_PATH,
    function="list",
    policy_name="dynamic",
    authorization="none",
    api_cache=True,
    query_params=(
        QueryParam("category", required=True, cache_key=True),
        QueryParam("limit", cache_key=True),
        QueryParam("cursor", cache_key=True),
    ),
)
CREATE_PRODUCT = ProductRoute(
    method="POST",
    path=COLLECTION_PATH,
    function="write",
    policy_name=None,
    authorization="iam",
    has_body=True,
)
REPLACE_PRODUCT = ProductRoute(
    method="PUT",
    path=ITEM_PATH,
    function="write",
    policy_name=None,
    authorization="iam",
    has_body=True,
)
DELETE_PRODUCT = ProductRoute(
    method="DELETE",
    path=ITEM_PATH,
    function="write",
    policy_name=None,
    authorization="iam",
)

PRODUCT_ROUTES: tuple[ProductRoute, ...] = (
    GET_PRODUCT,
    LIST_PRODUCTS,
    CREATE_PRODUCT,
    REPLACE_PRODUCT,
    DELETE_PRODUCT,
)
"""Every route of the product API."""

PRODUCT_WRITE_FIELDS: tuple[str, ...] = (
    "productId",
    "name",
    "category",
    "price",
    "description",
    "featured",
    "version",
)
"""Fields a POST/PUT body may carry (anything else is a 400 naming it)."""

PRODUCT_BODY_SCHEMA: dict[str, object] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "category", "price"],
    "properties": {
        "productId": {"type": "string", "pattern": PRODUCT_ID_PATTERN},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "category": {"type": "string", "pattern": CATEGORY_PATTERN},
        "price": {"type": "number", "minimum": 0},
        "description": {"type": "string", "maxLength": 2000},
        "featured": {"type": "boolean"},
        "version": {"type": "integer", "minimum": 0},
    },
}
"""JSON Schema (draft 4, API Gateway models) of a POST/PUT body; the handler checks it too."""


def find_route(method: str, path: str) -> ProductRoute:
    """The route for `method` and a resource path template; ValueError when there is none."""
    for route in PRODUCT_ROUTES:
        if route.method == method.upper() and route.path == path:
            return route
    raise ValueError(f"no product route {method} {path}")


def routes_for(function: str) -> tuple[ProductRoute, ...]:
    """The routes a function role serves."""
    if function not in FUNCTION_ROLES:
        raise ValueError(f"function must be one of {list(FUNCTION_ROLES)}; got {function!r}")
    return tuple(route for route in PRODUCT_ROUTES if route.function == function)


def policy_for_route(route: ProductRoute, policy: CachePolicy | None = None) -> CachePolicy:
    """The policy a route runs with: `policy` or the route's default, minus the API Gateway
    layer when the route is not cached there (the item route, by default).

    Raises ValueError for a write route (writes are never cached).
    """
    if route.policy_name is None:
        raise ValueError(f"route {route.method} {route.path} is not cached: it has no policy")
    chosen = policy or CachePolicy.named(route.policy_name)
    if not route.api_cache and "api" in chosen.layers:
        chosen = chosen.without_layers("api")
    return chosen
