"""What a cached read returns to a handler."""

from __future__ import annotations

from dataclasses import dataclass

HIT_L1 = "HIT-L1"
HIT_L2 = "HIT-L2"
MISS = "MISS"
STALE = "STALE"
BYPASS = "BYPASS"
X_CACHE_VALUES: tuple[str, ...] = (HIT_L1, HIT_L2, MISS, STALE, BYPASS)
"""Values of the `X-Cache` response header (docs/architecture.md)."""


@dataclass(frozen=True, slots=True)
class CachedRead:
    """A ready-to-send response body and its validators.

    `body` is None when the product does not exist (a 404, possibly negatively cached).
    `version` is the product version (None for lists and not-found).
    `x_cache` says which layer answered: one of `X_CACHE_VALUES`.
    """

    body: bytes | None
    etag: str | None
    version: int | None
    x_cache: str

    @property
    def found(self) -> bool:
        """True when there is a body to send."""
        return self.body is not None
