"""Category lists: the GSI page, cursors, L1/L2 caching under the generation counter."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from runtime_helpers import put_product

from cache_constructs.product.domain.representation import etag_of
from cache_constructs.runtime.errors import InvalidCursor


def page(result):
    return json.loads(result.body)


def test_pages_follow_the_cursor(make_runtime, counting_dynamo):
    for i in range(5):
        put_product(counting_dynamo, f"b{i}", 1, category="books")
    put_product(counting_dynamo, "k1", 1, category="kitchen")
    lists = make_runtime().lists
    first = lists.read("books", 2, None)
    assert first.x_cache == "MISS" and first.etag == etag_of(first.body)
    body = page(first)
    assert [p["productId"] for p in body["items"]] == ["b0", "b1"]
    second = page(lists.read("books", 2, body["nextCursor"]))
    assert [p["productId"] for p in second["items"]] == ["b2", "b3"]
    third = page(lists.read("books", 2, second["nextCursor"]))
    assert [p["productId"] for p in third["items"]] == ["b4"]
    assert third["nextCursor"] is None or page(lists.read("books", 2, third["nextCursor"])) == {
        "items": [],
        "nextCursor": None,
    }


def test_cached_in_l1_and_l2_then_invalidated_by_one_incr(make_runtime, counting_dynamo, redis_url):
    put_product(counting_dynamo, "c1", 1, category="garden")
    lists = make_runtime().lists
    assert lists.read("garden", 20, None).x_cache == "MISS"
    assert lists.read("garden", 20, None).x_cache == "HIT-L2"  # a tracked read: enters L1
    assert lists.read("garden", 20, None).x_cache == "HIT-L1"
    other = make_runtime().lists  # another environment: L2
    assert other.read("garden", 20, None).x_cache == "HIT-L2"
    assert counting_dynamo.queries == 1

    client = redis.Redis.from_url(redis_url)
    generation = int(client.get("pc:{c:garden}:g"))
    assert client.exists(f"pc:{{c:garden}}:L:{generation}:20:")

    put_product(counting_dynamo, "c2", 1, category="garden")
    assert other.bump(["garden", "garden"]) is True
    assert int(client.get("pc:{c:garden}:g")) == generation + 1  # one INCR per category
    fresh = make_runtime().lists.read("garden", 20, None)
    assert fresh.x_cache == "MISS"
    assert [p["productId"] for p in page(fresh)["items"]] == ["c1", "c2"]


def test_generation_lost_to_eviction_restarts_at_a_random_value(
    make_runtime, counting_dynamo, redis_url
):
    client = redis.Redis.from_url(redis_url)
    lists = make_runtime().lists
    lists.read("tools", 20, None)
    first = int(client.get("pc:{c:tools}:g"))
    client.delete("pc:{c:tools}:g")  # evicted
    lists.bump(["tools"])
    assert int(client.get("pc:{c:tools}:g")) not in (first, first + 1, 1)


def test_bad_cursor_raises_invalid_cursor_naming_cursor(make_runtime):
    lists = make_runtime().lists
    for bad in ("%%%", "bm90IGpzb24", base64.urlsafe_b64encode(b'{"p":"../x"}').decode(), "e30"):
        with pytest.raises(InvalidCursor, match="cursor"):
            lists.read("books", 20, bad)
    assert issubclass(InvalidCursor, ValueError)
