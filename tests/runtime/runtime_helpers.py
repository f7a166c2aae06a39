"""Helpers for the cache runtime tests: policies, env, a fake clock, a counted DynamoDB client."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from cache_constructs.contract import environment as names
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.product.domain.representation import (
    etag_of,
    item_from_product,
    product_key,
    render_product,
)
from cache_constructs.runtime.codec import Rendered

REGION = "eu-west-1"
TABLE = "products-test"

BASE_POLICY = CachePolicy.SEMI_STATIC.without_layers("api").with_changes(swr_seconds=60, jitter=0.0)
"""The item route's semi-static policy (L1 15 s, L2 3600 s), SWR 60 s, no jitter."""


def policy(*, layers: list[str] | None = None, **changes: Any) -> CachePolicy:
    """`BASE_POLICY` with `layers` narrowed (their TTLs zeroed) and fields changed."""
    fields: dict[str, Any] = BASE_POLICY.to_runtime_dict()
    if layers is not None:
        for layer in BASE_POLICY.layers - set(layers):
            fields[f"{layer}_ttl_seconds"] = 0
        fields["layers"] = frozenset(layers)
    fields.update(changes)
    fields["layers"] = frozenset(fields["layers"])
    return CachePolicy(**fields)


def policy_json(*, layers: list[str] | None = None, **changes: Any) -> str:
    """A policy variable's value: `policy(...)` as `to_runtime_json()`."""
    return policy(layers=layers, **changes).to_runtime_json()


def raw_policy_json(**overrides: Any) -> str:
    """`BASE_POLICY`'s JSON with fields overwritten as they are (for parser tests)."""
    data: dict[str, Any] = BASE_POLICY.to_runtime_dict()
    data.update(overrides)
    return json.dumps(data)


def base_env(**overrides: str) -> dict[str, str]:
    env = {
        names.TABLE_NAME: TABLE,
        names.ITEM_CACHE_POLICY: policy_json(),
        names.LIST_CACHE_POLICY: policy_json(),
        "AWS_REGION": REGION,
    }
    env.update(overrides)
    return env


class FakeClock:
    """Epoch seconds that move only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class CountingDynamo:
    """Wraps the moto DynamoDB client: counts reads and runs an optional hook inside them.

    The hook runs after DynamoDB answered and before the answer is returned, which is
    exactly "a slow reader": tests hold it on a threading.Event to force interleavings.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.reads: list[dict[str, Any]] = []
        self.queries = 0
        self.on_get_item: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
        self._lock = threading.Lock()

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        response = self._client.get_item(**kwargs)
        with self._lock:
            self.reads.append(kwargs)
        if self.on_get_item is not None:
            self.on_get_item(kwargs, response)
        return response

    def query(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.queries += 1
        return self._client.query(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def put_product(client: Any, product_id: str, version: int, **fields: Any) -> dict[str, Any]:
    """Write a product straight to the table (as the write path would commit it)."""
    product = {
        "productId": product_id,
        "name": fields.pop("name", f"Product {product_id} v{version}"),
        "category": fields.pop("category", "books"),
        "price": fields.pop("price", 10),
        "version": version,
        **fields,
    }
    client.put_item(TableName=TABLE, Item=item_from_product(product))
    return product


def rendered(product: dict[str, Any]) -> Rendered:
    """`product` as the write path hands it to write-through: its bytes, ETag and version."""
    body = render_product(product)
    return Rendered(body, etag_of(body), int(product["version"]))


def delete_product(client: Any, product_id: str) -> None:
    client.delete_item(TableName=TABLE, Key=product_key(product_id))
