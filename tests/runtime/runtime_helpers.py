"""Helpers for the cache runtime tests: policies, env, a fake clock, a counted DynamoDB client."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from product_cache.representation import item_from_product, product_key

REGION = "eu-west-1"
TABLE = "products-test"


def policy_json(**overrides: Any) -> str:
    """A `CACHE_POLICY` value (semi-static defaults, no jitter unless asked)."""
    policy: dict[str, Any] = {
        "name": "semi-static",
        "l1_ttl": 15,
        "l2_ttl": 3600,
        "dax_ttl": 300,
        "api_ttl": 300,
        "swr": 60,
        "negative_ttl": 30,
        "jitter": 0.0,
        "cache_control": "public, max-age=60",
        "layers": ["client", "l1", "l2", "dax"],
    }
    policy.update(overrides)
    return json.dumps(policy)


def base_env(**overrides: str) -> dict[str, str]:
    env = {"TABLE_NAME": TABLE, "CACHE_POLICY": policy_json(), "AWS_REGION": REGION}
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


def delete_product(client: Any, product_id: str) -> None:
    client.delete_item(TableName=TABLE, Key=product_key(product_id))
