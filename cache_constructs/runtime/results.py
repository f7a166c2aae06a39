"""What a cached read returns to a handler: one `Rendered` value and the layer that served it."""

from __future__ import annotations

from typing import NamedTuple

from .codec import Rendered

HIT_L1 = "HIT-L1"
HIT_L2 = "HIT-L2"
MISS = "MISS"
STALE = "STALE"
BYPASS = "BYPASS"


class CachedRead(NamedTuple):
    """A ready-to-send response and the `X-Cache` value of the layer that answered.

    `value` is None when the item does not exist (a 404, possibly negatively cached). Every
    layer stores and hands on the same `Rendered`; `body`, `etag` and `version` are views of it.
    """

    value: Rendered | None
    x_cache: str

    @property
    def body(self) -> bytes | None:
        """The response body, or None for not found."""
        return None if self.value is None else self.value.body

    @property
    def etag(self) -> str | None:
        """The body's strong ETag, or None for not found."""
        return None if self.value is None else self.value.etag

    @property
    def version(self) -> int | None:
        """The item version (a page's is its codec's constant), or None for not found."""
        return None if self.value is None else self.value.version
