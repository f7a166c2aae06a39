"""Runtime configuration: every environment variable of docs/architecture.md, validated once.

`load_config` runs at cold start; a missing or invalid variable raises `ConfigError` naming it,
so a misconfigured function fails its first invocation loudly instead of serving from a
half-working cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

LAYERS: tuple[str, ...] = ("client", "api", "l1", "l2", "dax")
"""Layers a `CACHE_POLICY` may name (cache_constructs.cache_policy.LAYERS)."""
REDIS_AUTH_MODES: tuple[str, ...] = ("none", "password", "iam")
DEFAULT_CONNECT_TIMEOUT_MS = 200
DEFAULT_TIMEOUT_MS = 100
DEFAULT_L1_MAX_ENTRIES = 1024
DEFAULT_L1_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_METRICS_NAMESPACE = "CachedProductService"
MAX_JITTER = 0.5

_POLICY_INT_FIELDS = ("l1_ttl", "l2_ttl", "dax_ttl", "api_ttl", "swr", "negative_ttl")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no", "")


class ConfigError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


@dataclass(frozen=True)
class CachePolicyConfig:
    """The `CACHE_POLICY` JSON: TTLs (seconds) per layer, SWR window, jitter, layers."""

    name: str
    l1_ttl: int
    l2_ttl: int
    dax_ttl: int
    api_ttl: int
    swr: int
    negative_ttl: int
    jitter: float
    cache_control: str
    layers: frozenset[str]

    def uses(self, layer: str) -> bool:
        """True when `layer` ("l1", "l2", "dax", ...) applies to this policy."""
        return layer in self.layers


@dataclass(frozen=True)
class RedisSettings:
    """How to reach Valkey/Redis (from `REDIS_URL` or the `REDIS_HOST` family)."""

    host: str
    port: int
    tls: bool
    cluster: bool
    auth: str
    user: str | None
    password: str | None = field(repr=False)
    cache_name: str | None
    serverless: bool
    db: int
    connect_timeout_ms: int
    timeout_ms: int

    @property
    def connect_timeout(self) -> float:
        """Connect timeout in seconds (redis-py's unit)."""
        return self.connect_timeout_ms / 1000.0

    @property
    def timeout(self) -> float:
        """Socket read/write timeout in seconds."""
        return self.timeout_ms / 1000.0


@dataclass(frozen=True)
class RuntimeConfig:
    """Everything the runtime reads from the environment, validated."""

    table_name: str
    region: str
    policy: CachePolicyConfig
    redis: RedisSettings | None
    dax_endpoint: str | None
    l1_max_entries: int
    l1_max_bytes: int
    service_name: str = "product-service"
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer; got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}; got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be 'true' or 'false'; got {env.get(name)!r}")


def parse_policy(raw: str) -> CachePolicyConfig:
    """Parse and validate the `CACHE_POLICY` JSON (errors name `CACHE_POLICY` and the field)."""
    try:
        data: Any = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"CACHE_POLICY is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("CACHE_POLICY must be a JSON object")
    expected = {"name", "cache_control", "jitter", "layers", *_POLICY_INT_FIELDS}
    missing = sorted(expected - data.keys())
    if missing:
        raise ConfigError(f"CACHE_POLICY is missing {missing}")
    unknown = sorted(data.keys() - expected)
    if unknown:
        raise ConfigError(f"CACHE_POLICY has unknown fields {unknown}")
    ints: dict[str, int] = {}
    for key in _POLICY_INT_FIELDS:
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"CACHE_POLICY.{key} must be an integer >= 0; got {value!r}")
        ints[key] = value
    jitter = data["jitter"]
    if isinstance(jitter, bool) or not isinstance(jitter, int | float):
        raise ConfigError(f"CACHE_POLICY.jitter must be a number; got {jitter!r}")
    if not 0.0 <= float(jitter) <= MAX_JITTER:
        raise ConfigError(f"CACHE_POLICY.jitter must be in [0, {MAX_JITTER}]; got {jitter}")
    for key in ("name", "cache_control"):
        if not isinstance(data[key], str) or not data[key]:
            raise ConfigError(f"CACHE_POLICY.{key} must be a non-empty string")
    layers = data["layers"]
    if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise ConfigError("CACHE_POLICY.layers must be a list of strings")
    bad = sorted(set(layers) - set(LAYERS))
    if bad:
        raise ConfigError(f"CACHE_POLICY.layers must be a subset of {list(LAYERS)}; got {bad}")
    return CachePolicyConfig(
        name=data["name"],
        jitter=float(jitter),
        cache_control=data["cache_control"],
        layers=frozenset(layers),
        **ints,
    )


def _redis_settings(env: Mapping[str, str]) -> RedisSettings | None:
    url = env.get("REDIS_URL", "").strip()
    host = env.get("REDIS_HOST", "").strip()
    if not url and not host:
        return None
    connect_timeout_ms = _int(env, "REDIS_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT_MS)
    timeout_ms = _int(env, "REDIS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)
    cluster = _flag(env, "REDIS_CLUSTER")
    serverless = _flag(env, "REDIS_SERVERLESS")
    auth = env.get("REDIS_AUTH", "").strip().lower()
    user = env.get("REDIS_USER", "").strip() or None
    cache_name = env.get("REDIS_CACHE_NAME", "").strip() or None
    password: str | None = None
    db = 0
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ConfigError(
                "REDIS_URL must look like redis://[user:pass@]host:port/0 or rediss://..."
            )
        try:
            port = parts.port or 6379
        except ValueError:
            raise ConfigError("REDIS_URL has an invalid port") from None
        path = parts.path.strip("/")
        if path:
            if not path.isdigit():
                raise ConfigError(f"REDIS_URL database must be a number; got {path!r}")
            db = int(path)
        host = parts.hostname
        tls = parts.scheme == "rediss" or _flag(env, "REDIS_TLS")
        if parts.username:
            user = unquote(parts.username)
        if parts.password:
            password = unquote(parts.password)
        if not auth:
            auth = "password" if password else "none"
    else:
        port = _int(env, "REDIS_PORT", 6379)
        if port > 65535:
            raise ConfigError(f"REDIS_PORT must be <= 65535; got {port}")
        tls = _flag(env, "REDIS_TLS")
        auth = auth or "none"
    if auth not in REDIS_AUTH_MODES:
        raise ConfigError(f"REDIS_AUTH must be one of {list(REDIS_AUTH_MODES)}; got {auth!r}")
    if auth == "password" and not password:
        # The password only ever travels inside REDIS_URL (set from a secret), never alone.
        raise ConfigError("REDIS_AUTH=password needs the user:password in REDIS_URL")
    if auth == "iam":
        if not user:
            raise ConfigError("REDIS_USER is required when REDIS_AUTH is 'iam'")
        if not cache_name:
            raise ConfigError("REDIS_CACHE_NAME is required when REDIS_AUTH is 'iam'")
        if not tls:
            raise ConfigError("REDIS_TLS must be 'true' when REDIS_AUTH is 'iam'")
    return RedisSettings(
        host=host,
        port=port,
        tls=tls,
        cluster=cluster,
        auth=auth,
        user=user,
        password=password,
        cache_name=cache_name,
        serverless=serverless,
        db=db,
        connect_timeout_ms=connect_timeout_ms,
        timeout_ms=timeout_ms,
    )


def load_config(environ: Mapping[str, str] | None = None) -> RuntimeConfig:
    """Read and validate the runtime's environment (default `os.environ`) once."""
    env = os.environ if environ is None else environ
    table_name = _required(env, "TABLE_NAME")
    policy = parse_policy(_required(env, "CACHE_POLICY"))
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        raise ConfigError("AWS_REGION is required (Lambda sets it; set it for local runs)")
    dax_endpoint = env.get("DAX_ENDPOINT", "").strip() or None
    if dax_endpoint and not dax_endpoint.startswith(("daxs://", "dax://")):
        raise ConfigError(f"DAX_ENDPOINT must start with daxs:// (or dax://); got {dax_endpoint!r}")
    return RuntimeConfig(
        table_name=table_name,
        region=region,
        policy=policy,
        redis=_redis_settings(env),
        dax_endpoint=dax_endpoint,
        l1_max_entries=_int(env, "L1_MAX_ENTRIES", DEFAULT_L1_MAX_ENTRIES),
        l1_max_bytes=_int(env, "L1_MAX_BYTES", DEFAULT_L1_MAX_BYTES),
        service_name=env.get("POWERTOOLS_SERVICE_NAME", "").strip() or "product-service",
        metrics_namespace=(
            env.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or DEFAULT_METRICS_NAMESPACE
        ),
    )
