"""Runtime configuration: every environment variable of docs/architecture.md, validated once.

`load_config` runs at cold start; a missing or invalid variable raises `ConfigError` naming it,
so a misconfigured function fails its first invocation loudly instead of serving from a
half-working cache.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from cache_constructs.contract import environment as names
from cache_constructs.contract.metrics import DEFAULT_METRICS_NAMESPACE, SERVICE_NAME
from cache_constructs.contract.policy import CachePolicy

DEFAULT_CONNECT_TIMEOUT_MS = 200
DEFAULT_TIMEOUT_MS = 100
DEFAULT_L1_MAX_ENTRIES = 1024
DEFAULT_L1_MAX_BYTES = 8 * 1024 * 1024

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no", "")


class ConfigError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


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
    item_policy: CachePolicy
    list_policy: CachePolicy
    redis: RedisSettings | None
    dax_endpoint: str | None
    l1_max_entries: int
    l1_max_bytes: int
    service_name: str = SERVICE_NAME
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE

    @functools.cached_property
    def item_cache_control(self) -> str:
        """The item responses' `Cache-Control`, computed once (read on every hit)."""
        return self.item_policy.cache_control

    @functools.cached_property
    def list_cache_control(self) -> str:
        """The list responses' `Cache-Control`, computed once."""
        return self.list_policy.cache_control


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


def parse_policy(env: Mapping[str, str], name: str) -> CachePolicy:
    """The policy in variable `name` (`CachePolicy.to_runtime_json()`); errors name it."""
    try:
        return CachePolicy.from_runtime_json(_required(env, name), variable=name)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _redis_settings(env: Mapping[str, str]) -> RedisSettings | None:
    url = env.get(names.REDIS_URL, "").strip()
    host = env.get(names.REDIS_HOST, "").strip()
    if not url and not host:
        return None
    connect_timeout_ms = _int(env, names.REDIS_CONNECT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS)
    timeout_ms = _int(env, names.REDIS_TIMEOUT_MS, DEFAULT_TIMEOUT_MS)
    cluster = _flag(env, names.REDIS_CLUSTER)
    serverless = _flag(env, names.REDIS_SERVERLESS)
    auth = env.get(names.REDIS_AUTH, "").strip().lower()
    user = env.get(names.REDIS_USER, "").strip() or None
    cache_name = env.get(names.REDIS_CACHE_NAME, "").strip() or None
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
        tls = parts.scheme == "rediss" or _flag(env, names.REDIS_TLS)
        if parts.username:
            user = unquote(parts.username)
        if parts.password:
            password = unquote(parts.password)
        if not auth:
            auth = "password" if password else "none"
    else:
        port = _int(env, names.REDIS_PORT, 6379)
        if port > 65535:
            raise ConfigError(f"REDIS_PORT must be <= 65535; got {port}")
        tls = _flag(env, names.REDIS_TLS)
        auth = auth or "none"
    if auth not in names.REDIS_AUTH_MODES:
        raise ConfigError(f"REDIS_AUTH must be one of {list(names.REDIS_AUTH_MODES)}; got {auth!r}")
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
    table_name = _required(env, names.TABLE_NAME)
    item_policy = parse_policy(env, names.ITEM_CACHE_POLICY)
    list_policy = parse_policy(env, names.LIST_CACHE_POLICY)
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        raise ConfigError("AWS_REGION is required (Lambda sets it; set it for local runs)")
    dax_endpoint = env.get(names.DAX_ENDPOINT, "").strip() or None
    if dax_endpoint and not dax_endpoint.startswith(("daxs://", "dax://")):
        raise ConfigError(f"DAX_ENDPOINT must start with daxs:// (or dax://); got {dax_endpoint!r}")
    return RuntimeConfig(
        table_name=table_name,
        region=region,
        item_policy=item_policy,
        list_policy=list_policy,
        redis=_redis_settings(env),
        dax_endpoint=dax_endpoint,
        l1_max_entries=_int(env, names.L1_MAX_ENTRIES, DEFAULT_L1_MAX_ENTRIES),
        l1_max_bytes=_int(env, names.L1_MAX_BYTES, DEFAULT_L1_MAX_BYTES),
        service_name=env.get(names.POWERTOOLS_SERVICE_NAME, "").strip() or SERVICE_NAME,
        metrics_namespace=(
            env.get(names.POWERTOOLS_METRICS_NAMESPACE, "").strip() or DEFAULT_METRICS_NAMESPACE
        ),
    )
