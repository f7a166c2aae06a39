"""dogpile.cache with its Redis backend and the distributed (Redis) lock on.

Read: `get_or_create` (one creator per key across processes; while it regenerates an
expired value, other callers get the old one). Write: put, then `region.set`. Invalidate:
`region.delete`. Redis keeps a value `l2_ttl + swr` seconds, dogpile regards it fresh for
`l2_ttl`. A Redis error becomes a 500, as it would in a service built on it.
"""

from __future__ import annotations

import time
from typing import Any

from dogpile.cache import make_region

from bench.items import from_item, product_pk, to_item
from bench.origin_client import dynamodb_client
from bench.peers.base import PeerSettings, ReadResult

_MISSING = {"missing": True}


class DogpilePeer:
    name = "dogpile"

    def __init__(self, settings: PeerSettings) -> None:
        self.settings = settings
        self.dynamodb = dynamodb_client(settings.origin_endpoint)
        self.region = make_region().configure(
            "dogpile.cache.redis",
            expiration_time=settings.l2_ttl,
            arguments={
                "url": settings.redis_url,
                "distributed_lock": True,
                "redis_expiration_time": settings.l2_ttl + settings.swr,
                "lock_timeout": 10,
                "lock_sleep": 0.01,
            },
        )

    @staticmethod
    def key(product_id: str) -> str:
        return f"dogpile:product:{product_id}"

    def _load(self, product_id: str) -> dict[str, Any]:
        item = self.dynamodb.get_item(
            TableName=self.settings.table_name,
            Key={"PK": {"S": product_pk(product_id)}, "SK": {"S": "METADATA"}},
        ).get("Item")
        return from_item(item) if item is not None else _MISSING

    def read(self, product_id: str) -> ReadResult:
        try:
            values = self.region.get_or_create(self.key(product_id), lambda: self._load(product_id))
        except Exception:
            return ReadResult(500, None, "ERROR")
        if values is _MISSING or values.get("missing"):
            return ReadResult(404, None, "")
        return ReadResult(200, int(values["version"]), "")

    def write(self, values: dict[str, Any]) -> int:
        self.dynamodb.put_item(TableName=self.settings.table_name, Item=to_item(values))
        self.region.set(self.key(values["productId"]), values)
        return int(values["version"])

    def invalidate(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.region.delete(self.key(new["productId"]))

    def stale_entry_ttl_ms(self, product_id: str) -> int | None:
        # dogpile serves a value until its creation time + expiration_time, then one caller
        # regenerates while the others still get it: that is how long an old value lives.
        cached = self.region.get_value_metadata(self.key(product_id), ignore_expiration=True)
        if cached is None:
            return None
        created = float(cached.metadata["ct"])
        remaining = created + self.settings.l2_ttl - time.time()
        return int(remaining * 1000) if remaining > 0 else None
