"""What every peer offers the scenarios, and the settings they share."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class PeerSettings:
    """One configuration, applied to all three peers alike.

    `policy` is `CachePolicy.to_runtime_dict()` of the item route: ours reads it as is (as
    both its item and list policy); the peers take their TTL from `l2_ttl_seconds`. The
    naive peer has no stale window; dogpile's equivalent (serve the old value while one
    caller regenerates) is built in, so dogpile keeps a value in Redis for `l2_ttl + swr`,
    as ours does.
    """

    redis_url: str
    origin_endpoint: str
    table_name: str
    policy: dict[str, Any]
    l1_max_entries: int = 1024

    @property
    def l2_ttl(self) -> int:
        return int(self.policy["l2_ttl_seconds"])

    @property
    def swr(self) -> int:
        return int(self.policy["swr_seconds"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PeerSettings:
        return cls(**data)


@dataclass(frozen=True)
class ReadResult:
    """A read as a client sees it: HTTP status, the product version, where it came from."""

    status: int
    version: int | None
    source: str = ""


class Peer(Protocol):
    """A caching approach behind one small API, so every scenario drives all three alike."""

    name: str

    def read(self, product_id: str) -> ReadResult:
        """GET /products/{id}: 200 with the product, 404, or 500 when the approach fails."""

    def write(self, values: dict[str, Any]) -> int:
        """PUT the product (its version is the bench's current + 1); return the version."""

    def invalidate(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Deliver the change as the invalidation path sees it (a stream record for ours)."""

    def stale_entry_ttl_ms(self, product_id: str) -> int | None:
        """How long the cached entry for `product_id` may still be served, if any."""
