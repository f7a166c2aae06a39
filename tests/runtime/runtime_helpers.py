"""Helpers for the cache runtime tests: policies, env, a fake clock, a counted DynamoDB client."""

from __future__ import annotations

import json
import threading
import time
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

    The hooks run after DynamoDB answered and before the answer is returned, which is
    exactly "a slow reader" (or a slow query): tests hold them on a threading.Event to force
    interleavings.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.reads: list[dict[str, Any]] = []
        self.queries = 0
        self.on_get_item: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
        self.on_query: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
        self._lock = threading.Lock()

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        response = self._client.get_item(**kwargs)
        with self._lock:
            self.reads.append(kwargs)
        if self.on_get_item is not None:
            self.on_get_item(kwargs, response)
        return response

    def query(self, **kwargs: Any) -> dict[str, Any]:
        response = self._client.query(**kwargs)
        with self._lock:
            self.queries += 1
        if self.on_query is not None:
            self.on_query(kwargs, response)
        return response

    def consistent_reads(self) -> int:
        return sum(1 for read in self.reads if read.get("ConsistentRead"))

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


class FakeDax:
    """DAX's item cache as the runtime meets it: a botocore-like client whose get_item answers
    from `items` (what DAX still holds, possibly old) or raises `fail_with`; writes go to
    `backing` (DynamoDB behind it). No DAX emulator exists; everything behind it is moto."""

    def __init__(self, backing: Any = None) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.fail_with: Exception | None = None
        self.backing = backing
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("get_item", kwargs))
        if self.fail_with is not None:
            raise self.fail_with
        key = kwargs["Key"]["PK"]["S"]
        return {"Item": self.items[key]} if key in self.items else {}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put_item", kwargs))
        if self.fail_with is not None:
            raise self.fail_with
        return dict(self.backing.put_item(**kwargs))

    def remember(self, product: dict[str, Any]) -> None:
        """DAX's item cache holds `product` (e.g. read or written through DAX earlier)."""
        self.items["PRODUCT#" + product["productId"]] = item_from_product(product)


class WaitTracker:
    """An injected `sleep` for the lease wait: records which threads are waiting."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.waiting: set[int] = set()
        self.all_waiting = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waiting.add(threading.get_ident())
            if len(self.waiting) >= self.expected:
                self.all_waiting.set()
        time.sleep(seconds)  # the runtime's short poll backoff itself
