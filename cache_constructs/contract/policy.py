"""CachePolicy: one policy per data class decides the TTL of every cache layer.

Pure Python (no CDK): the constructs read a policy at synth time (API Gateway method cache
TTL, DAX record TTL) and hand it to the functions as JSON in an environment variable
(`to_runtime_json()`); the runtime reads it back with `from_runtime_json()`, the very same
class and validation, so one set of numbers drives every layer. Every TTL is whole seconds.

Layers, fastest first: ``client`` (HTTP caches, driven by `Cache-Control`), ``api`` (API
Gateway stage cache), ``l1`` (Lambda module memory), ``l2`` (Valkey), ``dax``. A layer missing
from `layers` is skipped; a policy with no layers reads the origin (DynamoDB) every time.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

LAYERS: tuple[str, ...] = ("client", "api", "l1", "l2", "dax")
"""Every cache layer a policy may name, fastest first (the order of `layers` in the JSON)."""

SHARED_LAYERS: frozenset[str] = frozenset({"api", "l1"})
"""Layers that serve one entry to every caller with no identity in the key: never private."""

API_TTL_MAX_SECONDS = 3600
"""API Gateway's largest method cache TTL."""

VISIBILITIES: tuple[str, ...] = ("public", "private")

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")

# The TTL field of each layer: a listed layer needs a TTL > 0, an unlisted one must be 0, so a
# policy cannot say two things at once.
_LAYER_TTL_FIELD = {
    "client": "client_ttl_seconds",
    "api": "api_ttl_seconds",
    "l1": "l1_ttl_seconds",
    "l2": "l2_ttl_seconds",
    "dax": "dax_ttl_seconds",
}


@dataclass(frozen=True)
class CachePolicy:
    """TTLs per layer, `Cache-Control` and stale-while-revalidate for one data class.

    Use a named policy (`CachePolicy.SEMI_STATIC`, `CachePolicy.named("dynamic")`) or build a
    custom one; every field is validated when the policy is created (ValueError naming it).
    All TTLs are whole seconds.
    """

    name: str
    """Policy name (lowercase, digits, dashes), reported by the runtime in logs."""
    layers: frozenset[str]
    """The layers that apply: a subset of `LAYERS`. Empty = origin only."""
    client_ttl_seconds: int = 0
    """`max-age` sent to HTTP clients; > 0 exactly when "client" is a layer."""
    api_ttl_seconds: int = 0
    """API Gateway stage cache TTL, 0..3600; > 0 exactly when "api" is a layer."""
    l1_ttl_seconds: int = 0
    """In-process cache TTL, <= the l2 TTL. Client tracking invalidates L1 from L2's server;
    where the server refuses tracking, this TTL is the bound on L1's staleness."""
    l2_ttl_seconds: int = 0
    """Valkey entry freshness (write-through and stream invalidation keep it current).
    Required by "l1" and "dax": only L2 can invalidate L1 and fence DAX."""
    dax_ttl_seconds: int = 0
    """DAX item cache record TTL (`record-ttl-millis`)."""
    swr_seconds: int = 0
    """Stale-while-revalidate window: a stale entry may be served while one caller refills."""
    negative_ttl_seconds: int = 0
    """How long a "not found" is cached (L2), <= the l2 TTL."""
    jitter: float = 0.0
    """Fraction 0..0.5 by which TTLs are randomly shortened, so entries do not expire together."""
    visibility: str = "public"
    """"public" or "private" (per-user data: never in the shared api or l1 layers)."""
    no_store: bool = False
    """Send `Cache-Control: no-store` (critical and session data): no client or api layer."""

    # Named policies, filled in below the class.
    STATIC: ClassVar[CachePolicy]
    SEMI_STATIC: ClassVar[CachePolicy]
    DYNAMIC: ClassVar[CachePolicy]
    REAL_TIME: ClassVar[CachePolicy]
    CRITICAL: ClassVar[CachePolicy]
    SESSION: ClassVar[CachePolicy]
    USER_PREFS: ClassVar[CachePolicy]

    def __post_init__(self) -> None:
        # Accept any iterable of layer names but store an immutable set.
        object.__setattr__(self, "layers", frozenset(self.layers))
        self._validate()

    def _validate(self) -> None:
        if not isinstance(self.name, str) or not _NAME_PATTERN.match(self.name):
            raise ValueError(
                f"name must match {_NAME_PATTERN.pattern} (lowercase, digits, dashes); "
                f"got {self.name!r}"
            )
        unknown = sorted(self.layers - set(LAYERS))
        if unknown:
            raise ValueError(f"layers must be a subset of {list(LAYERS)}; unknown: {unknown}")
        for field in (*_LAYER_TTL_FIELD.values(), "swr_seconds", "negative_ttl_seconds"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{field} must be a non-negative integer; got {value!r}")
        if self.api_ttl_seconds > API_TTL_MAX_SECONDS:
            raise ValueError(
                f"api_ttl_seconds must be between 0 and {API_TTL_MAX_SECONDS}; "
                f"got {self.api_ttl_seconds}"
            )
        for layer, field in _LAYER_TTL_FIELD.items():
            ttl = getattr(self, field)
            if layer in self.layers and ttl == 0:
                raise ValueError(f"{field} must be > 0 because layers includes {layer!r}")
            if layer not in self.layers and ttl != 0:
                raise ValueError(f"{field} must be 0 because layers does not include {layer!r}")
        # What keeps the consistency promise: L2's fences and write-through. A layer that only
        # L2 can correct is refused without it (docs/architecture.md, "Promise per layer").
        if "dax" in self.layers and "l2" not in self.layers:
            raise ValueError(
                "layers includes 'dax' but not 'l2': nothing could fence DAX's item cache, so "
                "an overwritten or deleted item could be served for dax_ttl_seconds; add 'l2' "
                "or remove 'dax'"
            )
        if "l1" in self.layers and "l2" not in self.layers:
            raise ValueError(
                "layers includes 'l1' but not 'l2': nothing could invalidate L1 (write-through, "
                "stream invalidation and client tracking all go through L2); add 'l2' or "
                "remove 'l1'"
            )
        if {"l1", "l2"} <= self.layers and self.l1_ttl_seconds > self.l2_ttl_seconds:
            raise ValueError(
                f"l1_ttl_seconds ({self.l1_ttl_seconds}) must be <= l2_ttl_seconds "
                f"({self.l2_ttl_seconds}): where the server refuses client tracking, L1 is bound "
                "by its TTL only"
            )
        cache_ttl = max(self.l1_ttl_seconds, self.l2_ttl_seconds)
        if self.negative_ttl_seconds > cache_ttl:
            raise ValueError(
                f"negative_ttl_seconds ({self.negative_ttl_seconds}) must be <= the longest "
                f"of l1_ttl_seconds and l2_ttl_seconds ({cache_ttl})"
            )
        if (
            isinstance(self.jitter, bool)
            or not isinstance(self.jitter, int | float)
            or not 0 <= self.jitter <= 0.5
        ):
            raise ValueError(f"jitter must be a number between 0 and 0.5; got {self.jitter!r}")
        if self.visibility not in VISIBILITIES:
            raise ValueError(
                f"visibility must be one of {list(VISIBILITIES)}; got {self.visibility!r}"
            )
        if self.visibility == "private" and self.layers & SHARED_LAYERS:
            raise ValueError(
                "layers must not include 'api' or 'l1' when visibility is 'private': "
                "those caches are shared by every caller"
            )
        if self.no_store and self.layers & {"client", "api"}:
            raise ValueError("layers must not include 'client' or 'api' when no_store is true")

    @classmethod
    def named(cls, name: str) -> CachePolicy:
        """The named policy for a data class, e.g. ``CachePolicy.named("semi-static")``."""
        try:
            return NAMED_POLICIES[name]
        except KeyError:
            raise ValueError(
                f"policy name must be one of {sorted(NAMED_POLICIES)}; got {name!r}"
            ) from None

    # --- derived values -------------------------------------------------------------------

    @property
    def ordered_layers(self) -> list[str]:
        """`layers` in the canonical order of `LAYERS`."""
        return [layer for layer in LAYERS if layer in self.layers]

    @property
    def cache_control(self) -> str:
        """The `Cache-Control` response header for this data class."""
        if self.no_store:
            return "no-store"
        if "client" not in self.layers:
            # Clients may keep the body but must revalidate (ETag) before every use.
            return f"{self.visibility}, no-cache"
        value = f"{self.visibility}, max-age={self.client_ttl_seconds}"
        if self.swr_seconds:
            value += f", stale-while-revalidate={self.swr_seconds}"
        return value

    def uses(self, layer: str) -> bool:
        """True when `layer` ("l1", "l2", "dax", ...) applies to this policy."""
        return layer in self.layers

    def max_staleness_seconds(self, stream_lag_seconds: int, *, l1_tracked: bool = False) -> int:
        """How long after a write a read may still return an older version (the worst case).

        For writes that bypass the API (straight into the table): L2 is invalidated by the
        stream (its lag counts; write-through makes API writes immediate); L1 adds nothing
        when `l1_tracked` (client tracking invalidates it from L2's server) and its TTL in
        full where the server refuses tracking (the default: synth cannot know); the API
        Gateway cache
        adds its TTL. DAX adds nothing: L2's fence refuses any DAX answer older than what
        the stream or a write-through reported (DAX needs L2, see the validation rules).
        HTTP clients are left out: they follow `Cache-Control`.
        """
        seconds = 0
        if "l2" in self.layers:
            seconds += stream_lag_seconds
        if "l1" in self.layers and not l1_tracked:
            seconds += self.l1_ttl_seconds
        if "api" in self.layers:
            seconds += self.api_ttl_seconds
        return seconds

    # --- variants -------------------------------------------------------------------------

    def without_layers(self, *layers: str) -> CachePolicy:
        """A copy with `layers` removed (their TTLs set to 0), e.g. ``without_layers("api")``."""
        unknown = sorted(set(layers) - set(LAYERS))
        if unknown:
            raise ValueError(f"layers must be a subset of {list(LAYERS)}; unknown: {unknown}")
        zeroed = {_LAYER_TTL_FIELD[layer]: 0 for layer in layers}
        return dataclasses.replace(self, layers=self.layers - set(layers), **zeroed)  # type: ignore[arg-type]

    def with_changes(self, **changes: object) -> CachePolicy:
        """A validated copy with some fields changed (``with_changes(l1_ttl_seconds=5)``)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    # --- runtime contract -----------------------------------------------------------------

    def to_runtime_dict(self) -> dict[str, object]:
        """Every field, as `from_runtime_json` reads it back (layers in canonical order)."""
        data = dataclasses.asdict(self)
        data["layers"] = self.ordered_layers
        data["jitter"] = float(self.jitter)
        return data

    def to_runtime_json(self) -> str:
        """The policy as an environment variable value (compact JSON, stable key order)."""
        return json.dumps(self.to_runtime_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_runtime_json(cls, raw: str, *, variable: str = "CACHE_POLICY") -> CachePolicy:
        """Parse `to_runtime_json()` output; ValueError naming `variable` and the field."""
        try:
            data: Any = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{variable} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{variable} must be a JSON object")
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = sorted({"name", "layers"} - data.keys())
        if missing:
            raise ValueError(f"{variable} is missing {missing}")
        unknown = sorted(data.keys() - fields)
        if unknown:
            raise ValueError(f"{variable} has unknown fields {unknown}")
        layers = data["layers"]
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise ValueError(f"{variable}.layers must be a list of strings")
        try:
            return cls(**{**data, "layers": frozenset(layers)})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{variable}: {exc}") from None


def _policy(name: str, layers: Iterable[str], **fields: object) -> CachePolicy:
    return CachePolicy(name=name, layers=frozenset(layers), **fields)  # type: ignore[arg-type]


CachePolicy.STATIC = _policy(
    "static",
    LAYERS,
    client_ttl_seconds=3600,
    api_ttl_seconds=3600,
    l1_ttl_seconds=300,
    l2_ttl_seconds=86400,
    dax_ttl_seconds=3600,
    swr_seconds=86400,
    negative_ttl_seconds=300,
    jitter=0.1,
)
"""Reference data that changes on deploys or rarely (e.g. category lists)."""

CachePolicy.SEMI_STATIC = _policy(
    "semi-static",
    LAYERS,
    client_ttl_seconds=60,
    api_ttl_seconds=300,
    l1_ttl_seconds=15,
    l2_ttl_seconds=3600,
    dax_ttl_seconds=300,
    swr_seconds=300,
    negative_ttl_seconds=30,
    jitter=0.1,
)
"""Catalog items: read often, written now and then (`GET /products/{id}`)."""

CachePolicy.DYNAMIC = _policy(
    "dynamic",
    LAYERS,
    client_ttl_seconds=5,
    api_ttl_seconds=30,
    l1_ttl_seconds=5,
    l2_ttl_seconds=60,
    dax_ttl_seconds=10,
    swr_seconds=30,
    negative_ttl_seconds=5,
    jitter=0.1,
)
"""Lists and search results that change with every write (`GET /products`)."""

CachePolicy.REAL_TIME = _policy(
    "real-time",
    {"l2"},
    l2_ttl_seconds=5,
    swr_seconds=0,
    negative_ttl_seconds=1,
    jitter=0.2,
)
"""Stock levels, prices: only the invalidated L2 layer, seconds long; clients revalidate."""

CachePolicy.CRITICAL = _policy("critical", (), no_store=True)
"""Balances, orders: origin only, `no-store`."""

CachePolicy.SESSION = _policy(
    "session",
    {"l2"},
    l2_ttl_seconds=1800,
    visibility="private",
    no_store=True,
)
"""Per-user session state: L2 only, private, `no-store`."""

CachePolicy.USER_PREFS = _policy(
    "user-prefs",
    {"client", "l2", "dax"},
    client_ttl_seconds=60,
    l2_ttl_seconds=3600,
    dax_ttl_seconds=300,
    negative_ttl_seconds=60,
    jitter=0.1,
    visibility="private",
)
"""Per-user preferences: private, never in the shared API Gateway or L1 caches."""

NAMED_POLICIES: dict[str, CachePolicy] = {
    policy.name: policy
    for policy in (
        CachePolicy.STATIC,
        CachePolicy.SEMI_STATIC,
        CachePolicy.DYNAMIC,
        CachePolicy.REAL_TIME,
        CachePolicy.CRITICAL,
        CachePolicy.SESSION,
        CachePolicy.USER_PREFS,
    )
}
"""The guide's data classes by name."""
