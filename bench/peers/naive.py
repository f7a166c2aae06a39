"""The guide's cache-aside pattern, as most services write it.

Read: GET; on a miss read the origin and SETEX. Write: put, then SETEX the new value.
Invalidate: DEL the item, and list pages by key pattern (SCAN MATCH + DEL). No leases, no
versions, no fallback when Redis is down: a Redis error becomes a 500.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from bench.items import from_item, product_pk, to_item
from bench.origin_client import dynamodb_client
from bench.peers.base import PeerSettings, ReadResult


class NaivePeer:
    name = "naive"

    def __init__(self, settings: PeerSettings) -> None:
        self.settings = settings
        self.redis = redis.Redis.from_url(settings.redis_url)
        self.dynamodb = dynamodb_client(settings.origin_endpoint)

    @staticmethod
    def key(product_id: str) -> str:
        return f"naive:product:{product_id}"

    def read(self, product_id: str) -> ReadResult:
        try:
            cached = self.redis.get(self.key(product_id))
            if cached is not None:
                return ReadResult(200, json.loads(cached)["version"], "HIT")
            item = self.dynamodb.get_item(
                TableName=self.settings.table_name,
                Key={"PK": {"S": product_pk(product_id)}, "SK": {"S": "METADATA"}},
            ).get("Item")
            if item is None:
                return ReadResult(404, None, "MISS")
            values = from_item(item)
            self.redis.setex(self.key(product_id), self.settings.l2_ttl, json.dumps(values))
            return ReadResult(200, values["version"], "MISS")
        except Exception:
            return ReadResult(500, None, "ERROR")

    def write(self, values: dict[str, Any]) -> int:
        self.dynamodb.put_item(TableName=self.settings.table_name, Item=to_item(values))
        self.redis.setex(self.key(values["productId"]), self.settings.l2_ttl, json.dumps(values))
        return int(values["version"])

    def invalidate(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.redis.delete(self.key(new["productId"]))
        for category in {old.get("category"), new.get("category")} - {None}:
            keys = list(self.redis.scan_iter(match=f"naive:list:{category}:*", count=500))
            if keys:
                self.redis.delete(*keys)

    def stale_entry_ttl_ms(self, product_id: str) -> int | None:
        ttl = int(self.redis.pttl(self.key(product_id)))
        return ttl if ttl > 0 else None
