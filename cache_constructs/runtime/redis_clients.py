"""Build the redis-py client for `RedisSettings`: standalone or cluster, TLS, ACL or IAM.

Timeouts are tight and redis-py's own retries are off: the circuit breaker in front decides
when to stop calling, and a Lambda request should not spend several timeouts on one call.
"""

from __future__ import annotations

from typing import Any

from redis import Redis, RedisCluster
from redis.backoff import NoBackoff
from redis.retry import Retry

from .config import RedisSettings
from .iam_auth import ElastiCacheIAMProvider


def connection_kwargs(settings: RedisSettings, *, region: str) -> dict[str, Any]:
    """Keyword arguments shared by the standalone and the cluster client."""
    kwargs: dict[str, Any] = {
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.timeout,
        "retry": Retry(NoBackoff(), 0),
        "client_name": "product-cache",
    }
    if settings.tls:
        # Certificate and host name are verified (ElastiCache certificates name the endpoint).
        kwargs.update(ssl=True, ssl_cert_reqs="required", ssl_check_hostname=True)
    if settings.auth == "password":
        kwargs.update(username=settings.user, password=settings.password)
    elif settings.auth == "iam":
        assert settings.user and settings.cache_name  # load_config guarantees both
        kwargs["credential_provider"] = ElastiCacheIAMProvider(
            user=settings.user,
            cache_name=settings.cache_name,
            region=region,
            serverless=settings.serverless,
        )
    return kwargs


def create_redis_client(settings: RedisSettings, *, region: str) -> Redis | RedisCluster:
    """A new client; the cluster client connects (to discover slots) while being built."""
    kwargs = connection_kwargs(settings, region=region)
    if settings.cluster:
        return RedisCluster(host=settings.host, port=settings.port, **kwargs)
    return Redis(host=settings.host, port=settings.port, db=settings.db, **kwargs)
