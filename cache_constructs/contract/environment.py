"""Names of the environment variables the Lambda runtime reads, and builders for them.

Pure Python (no CDK import). The constructs set these variables; the runtime
(`cache_constructs.runtime.config`) reads them once at cold start. The table of names and
meanings is docs/architecture.md, "Environment variables".
"""

from __future__ import annotations

from cache_constructs.contract.metrics import DEFAULT_METRICS_NAMESPACE, SERVICE_NAME
from cache_constructs.contract.policy import CachePolicy

TABLE_NAME = "TABLE_NAME"
ITEM_CACHE_POLICY = "ITEM_CACHE_POLICY"
"""`CachePolicy.to_runtime_json()` of the item cache (reads by id, their write-through)."""
LIST_CACHE_POLICY = "LIST_CACHE_POLICY"
"""`CachePolicy.to_runtime_json()` of the list cache (pages, their generation bumps)."""
REDIS_URL = "REDIS_URL"
REDIS_HOST = "REDIS_HOST"
REDIS_PORT = "REDIS_PORT"
REDIS_TLS = "REDIS_TLS"
REDIS_CLUSTER = "REDIS_CLUSTER"
REDIS_AUTH = "REDIS_AUTH"
REDIS_USER = "REDIS_USER"
REDIS_CACHE_NAME = "REDIS_CACHE_NAME"
REDIS_SERVERLESS = "REDIS_SERVERLESS"
REDIS_CONNECT_TIMEOUT_MS = "REDIS_CONNECT_TIMEOUT_MS"
REDIS_TIMEOUT_MS = "REDIS_TIMEOUT_MS"
DAX_ENDPOINT = "DAX_ENDPOINT"
L1_MAX_ENTRIES = "L1_MAX_ENTRIES"
L1_MAX_BYTES = "L1_MAX_BYTES"
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
EVENTS_PUBLISH_URL = "EVENTS_PUBLISH_URL"
"""The push channel's HTTP publish endpoint (`https://<api>.appsync-api.<region>.amazonaws.com/event`
on AWS), set on the function that publishes (the push publisher); absent = nothing is published."""
EVENTS_PUBLISH_AUTH = "EVENTS_PUBLISH_AUTH"
"""How publishes are authorized: `iam` (SigV4 for the `appsync` service, default) or `none`
(the local events server, which checks no authorization)."""
PUSH_PUBLISHER_FUNCTION = "PUSH_PUBLISHER_FUNCTION"
"""The push publisher function (name or ARN) the stream function hands each change's publish
requests to, by an asynchronous invoke; it wins over `EVENTS_PUBLISH_URL` (publishing directly)."""

REDIS_AUTH_MODES: tuple[str, ...] = ("none", "password", "iam")
EVENTS_PUBLISH_AUTH_MODES: tuple[str, ...] = ("iam", "none")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def policy_env(*, item_policy: CachePolicy, list_policy: CachePolicy) -> dict[str, str]:
    """Both cache policies: each cache's reads and invalidation follow its own policy."""
    return {
        ITEM_CACHE_POLICY: item_policy.to_runtime_json(),
        LIST_CACHE_POLICY: list_policy.to_runtime_json(),
    }


def service_env(
    table_name: str, *, metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
) -> dict[str, str]:
    """Table name and Powertools settings every function of the service gets."""
    return {
        TABLE_NAME: table_name,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: metrics_namespace,
    }


def redis_env(
    *,
    host: str,
    port: str | int,
    tls: bool,
    cluster: bool,
    auth: str,
    user: str | None = None,
    cache_name: str | None = None,
    serverless: bool = False,
) -> dict[str, str]:
    """The REDIS_* variables ValkeyCache.grant_connect sets (values may be CDK tokens)."""
    if auth not in REDIS_AUTH_MODES:
        raise ValueError(f"auth must be one of {list(REDIS_AUTH_MODES)}; got {auth!r}")
    if auth == "iam" and (not user or not cache_name):
        raise ValueError("user and cache_name are required when auth is 'iam'")
    env = {
        REDIS_HOST: host,
        REDIS_PORT: str(port),
        REDIS_TLS: _flag(tls),
        REDIS_CLUSTER: _flag(cluster),
        REDIS_AUTH: auth,
        REDIS_SERVERLESS: _flag(serverless),
    }
    if user:
        env[REDIS_USER] = user
    if cache_name:
        env[REDIS_CACHE_NAME] = cache_name
    return env


def events_env(publish_url: str, *, auth: str = "iam") -> dict[str, str]:
    """The EVENTS_* variables InvalidationChannel.grant_publish sets (the URL may be a token)."""
    if not publish_url:
        raise ValueError("publish_url must not be empty")
    if auth not in EVENTS_PUBLISH_AUTH_MODES:
        raise ValueError(f"auth must be one of {list(EVENTS_PUBLISH_AUTH_MODES)}; got {auth!r}")
    return {EVENTS_PUBLISH_URL: publish_url, EVENTS_PUBLISH_AUTH: auth}


def handover_env(publisher_function: str) -> dict[str, str]:
    """``{PUSH_PUBLISHER_FUNCTION: <name or ARN>}`` (InvalidationChannel.grant_handover)."""
    if not publisher_function:
        raise ValueError("publisher_function must not be empty")
    return {PUSH_PUBLISHER_FUNCTION: publisher_function}


def dax_env(endpoint: str) -> dict[str, str]:
    """``{DAX_ENDPOINT: "daxs://..."}`` (set by DaxCache.grant_read / grant_write)."""
    if not endpoint:
        raise ValueError("endpoint must not be empty")
    return {DAX_ENDPOINT: endpoint}
