"""Hot-path cost: an L2 hit is a GET plus a header split; an L1 hit is a dict lookup.

Targets: L2 hit p50 <= 1.3x a raw redis-py GET + json.loads of the same value, and L1 hit
p50 < 0.1x the L2 hit. Samples are interleaved so machine noise hits all three alike.
"""

from __future__ import annotations

import json
import statistics
import time

import redis
from product_cache import envelope, telemetry
from product_cache.config import load_config
from product_cache.keys import item_keys
from product_cache.runtime import build_runtime
from runtime_helpers import base_env, policy_json

ROUNDS = 1500

PRODUCT = {
    "productId": "perf",
    "name": "A reasonably named product",
    "category": "books",
    "price": 19.99,
    "description": "d" * 400,
    "featured": True,
    "version": 3,
    "updatedAt": "2026-11-24T02:00:00Z",
}


def test_hit_paths_meet_their_targets(redis_url):
    client = redis.Redis.from_url(redis_url)
    body = json.dumps(PRODUCT, separators=(",", ":")).encode()
    key = item_keys("perf").value
    client.set(key, envelope.encode(3, 4_102_444_800_000, '"etag"', body))
    raw_value = body  # what a naive cache would store: the product JSON

    client.set("raw:perf", raw_value)
    l2_only = build_runtime(
        load_config(base_env(REDIS_URL=redis_url, CACHE_POLICY=policy_json(layers=["l2"]))),
        redis_client=client,
        dynamodb_client=object(),
    )
    with_l1 = build_runtime(
        load_config(base_env(REDIS_URL=redis_url)), redis_client=client, dynamodb_client=object()
    )
    assert with_l1.items.read("perf").x_cache == "HIT-L2"

    raw, l2, l1 = [], [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        json.loads(client.get("raw:perf"))
        raw.append(time.perf_counter() - started)

        started = time.perf_counter()
        result = l2_only.items.read("perf")
        l2.append(time.perf_counter() - started)

        started = time.perf_counter()
        l1_result = with_l1.items.read("perf")
        l1.append(time.perf_counter() - started)
    telemetry.metrics.clear_metrics()

    assert result.x_cache == "HIT-L2" and result.body == body
    assert l1_result.x_cache == "HIT-L1"
    raw_p50, l2_p50, l1_p50 = (statistics.median(x) for x in (raw, l2, l1))
    assert l2_p50 <= 1.3 * raw_p50, (l2_p50, raw_p50)
    assert l1_p50 < 0.1 * l2_p50, (l1_p50, l2_p50)
