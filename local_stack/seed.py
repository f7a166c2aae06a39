"""`make local SEED=N`: N sample products across categories, written through the write function.

Going through the write handler (a POST proxy event per product) stores exactly what the API
stores (keys, version, updatedAt) and exercises write-through, rather than guessing the item
layout.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

from cache_constructs.product.routes import CREATE_PRODUCT
from local_stack.apigw_events import HttpRequest, build_proxy_event

CATEGORIES = ("books", "games", "garden", "kitchen", "music", "outdoor", "toys", "tools")
_ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Modern", "Pocket", "Pro", "Vintage")
_NOUNS = ("Kit", "Set", "Box", "Guide", "Lamp", "Bag", "Board", "Mug")


def sample_products(count: int, *, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`count` deterministic products, spread round-robin over `CATEGORIES`."""
    if count < 0:
        raise ValueError(f"seed count must be >= 0; got {count}")
    rng = random.Random(seed)
    for index in range(count):
        category = CATEGORIES[index % len(CATEGORIES)]
        yield {
            "productId": f"sample-{index + 1:05d}",
            "name": f"{rng.choice(_ADJECTIVES)} {category.title()} {rng.choice(_NOUNS)}",
            "category": category,
            "price": round(rng.uniform(1, 500), 2),
            "description": f"Sample product {index + 1} in {category}.",
            "featured": index % 10 == 0,
        }


def seed_products(count: int, invoke_write: Callable[[dict[str, Any]], Any]) -> int:
    """POST `count` sample products through the write function; return how many were created."""
    created = 0
    for product in sample_products(count):
        request = HttpRequest(
            method=CREATE_PRODUCT.method,
            raw_path=CREATE_PRODUCT.path,
            query="",
            headers=[("Content-Type", "application/json"), ("User-Agent", "local-stack-seed")],
            body=json.dumps(product).encode(),
        )
        event = build_proxy_event(
            request, resource=CREATE_PRODUCT.path, path_parameters={}, stage="local"
        )
        result = invoke_write(event)
        status = result.get("statusCode") if isinstance(result, dict) else None
        if status == 201:
            created += 1
        elif status != 409:  # 409: the product exists already, fine
            raise RuntimeError(f"seeding {product['productId']} failed: {result!r}")
    return created
