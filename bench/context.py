"""What every scenario gets: the origin, a real redis-server, the policy, the sizes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from redis_servers import RedisServer

from bench.origin_client import TABLE_NAME, Origin
from bench.peers import PEER_NAMES, PeerSettings
from bench.sizes import Sizes


@dataclass
class BenchContext:
    origin: Origin
    redis_server: RedisServer
    policy: dict[str, Any]
    """ours' policy for the item route: the `semi-static` policy (see base_policy)."""
    sizes: Sizes
    peers: tuple[str, ...] = PEER_NAMES
    """Which peers the scenarios run (all three, except in the smoke tests)."""

    def settings(
        self,
        *,
        redis_url: str | None = None,
        without_l1: bool = False,
        l1_max_entries: int = 1024,
        **policy_changes: Any,
    ) -> PeerSettings:
        """PeerSettings for all three peers; `policy_changes` override policy fields."""
        policy = {**self.policy, **policy_changes}
        if without_l1:
            policy["layers"] = [layer for layer in policy["layers"] if layer != "l1"]
            policy["l1_ttl_seconds"] = 0
        return PeerSettings(
            redis_url=redis_url or self.redis_server.url,
            origin_endpoint=self.origin.endpoint,
            table_name=TABLE_NAME,
            policy=policy,
            l1_max_entries=l1_max_entries,
        )

    def flush_redis(self, url: str | None = None) -> None:
        with redis.Redis.from_url(url or self.redis_server.url) as client:
            client.flushall()


def base_policy() -> dict[str, Any]:
    """The item route's default policy (`semi-static`) as the runtime receives it.

    There is no DAX here (no DAX_ENDPOINT), so the runtime reads DynamoDB; API Gateway is
    not in the path either (the bench calls the functions directly).
    """
    from cache_constructs.contract.policy import CachePolicy

    return dict(CachePolicy.named("semi-static").to_runtime_dict())
