"""ElastiCache IAM authentication: a redis-py CredentialProvider that returns (user, token).

The token is a SigV4 presigned ``GET http://<cache_name>/?Action=connect&User=<user>`` (plus
``&ResourceType=ServerlessCache`` for serverless caches) for the service ``elasticache``,
valid 900 s, with the ``http://`` prefix removed. It is computed locally by botocore (no
network call), cached, and regenerated well before its 15 minutes end. Valkey checks it only
when a connection authenticates, so live connections are unaffected by its expiry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from redis.credentials import CredentialProvider

TOKEN_LIFETIME_SECONDS = 900
REFRESH_AFTER_SECONDS = 720
"""Regenerate after 12 minutes: a connection made with the old token still has 3 to go."""


def _default_credentials() -> Any:
    import botocore.session  # lazy: only IAM-authenticated functions pay for botocore

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found for ElastiCache IAM authentication")
    return credentials.get_frozen_credentials()


class ElastiCacheIAMProvider(CredentialProvider):
    """Credentials for an IAM-enabled ElastiCache (Valkey/Redis OSS 7+) user.

    `credentials` returns botocore credentials (access key, secret, token); `clock` returns
    seconds. Both are injectable for tests.
    """

    def __init__(
        self,
        *,
        user: str,
        cache_name: str,
        region: str,
        serverless: bool = False,
        credentials: Callable[[], Any] = _default_credentials,
        clock: Callable[[], float] = time.time,
        refresh_after_seconds: float = REFRESH_AFTER_SECONDS,
    ) -> None:
        if not user:
            raise ValueError("user must not be empty")
        if not cache_name:
            raise ValueError("cache_name must not be empty")
        if not region:
            raise ValueError("region must not be empty")
        if not 0 < refresh_after_seconds < TOKEN_LIFETIME_SECONDS:
            raise ValueError(f"refresh_after_seconds must be in (0, {TOKEN_LIFETIME_SECONDS})")
        self.user = user
        self.cache_name = cache_name
        self.region = region
        self.serverless = serverless
        self._credentials = credentials
        self._clock = clock
        self._refresh_after = refresh_after_seconds
        self._lock = threading.Lock()
        self._token: str | None = None
        self._issued_at = 0.0

    def get_credentials(self) -> tuple[str, str]:
        """``(user, token)``: the cached token, or a new one once the old is 12 minutes old."""
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._issued_at >= self._refresh_after:
                self._token = self.generate_token()
                self._issued_at = now
            return self.user, self._token

    def generate_token(self) -> str:
        """Sign a fresh token (botocore SigV4 query signing, no network)."""
        from botocore.auth import SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        params = {"Action": "connect", "User": self.user}
        if self.serverless:
            params["ResourceType"] = "ServerlessCache"
        request = AWSRequest(method="GET", url=f"http://{self.cache_name}/?{urlencode(params)}")
        SigV4QueryAuth(
            self._credentials(), "elasticache", self.region, expires=TOKEN_LIFETIME_SECONDS
        ).add_auth(request)
        return str(request.url).removeprefix("http://")
