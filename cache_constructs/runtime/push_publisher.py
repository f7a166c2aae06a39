"""Push invalidations to subscribed clients: POST each publish request to the events endpoint.

The push publisher function (outside the VPC) calls `PushPublisher.publish` with the requests
the stream function handed it (`runtime.push_handover`); a stream function that can reach the
endpoint itself may publish directly. A publish is best effort: a failure is logged and counted
(`PushPublishFailure`) and never raised, because the caches are already consistent and clients
fall back to polling when pushes stop. Each request has short timeouts, and a breaker (3
consecutive failures open it for 30 s) keeps an unreachable endpoint from adding a timeout to
every request.

On AWS each request is SigV4-signed for the `appsync` service with the function's own
credentials; botocore's signer is imported on first use, and only a function that publishes
builds a publisher, so the read and list functions never load it. Locally requests go unsigned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3

from cache_constructs.contract import environment as names
from cache_constructs.contract.metrics import PUSH_PUBLISH_FAILURE, PUSH_PUBLISHED
from cache_constructs.contract.push import PublishRequest
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.breaker import CircuitBreaker
from cache_constructs.runtime.config import ConfigError

CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 1.0
BREAKER_FAILURES = 3
BREAKER_COOLDOWN_SECONDS = 30.0
APPSYNC_SIGNING_SERVICE = "appsync"
_REASON_CHARS = 200


@dataclass(frozen=True)
class PublishSettings:
    """Where and how to publish (from `EVENTS_PUBLISH_URL`, `EVENTS_PUBLISH_AUTH`)."""

    url: str
    auth: str
    region: str | None


def load_publish_settings(env: Mapping[str, str]) -> PublishSettings | None:
    """The publish settings, or None when `EVENTS_PUBLISH_URL` is unset (push is off).

    Raises `ConfigError` naming the variable when a value is invalid.
    """
    url = env.get(names.EVENTS_PUBLISH_URL, "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{names.EVENTS_PUBLISH_URL} must be an http(s) URL; got {url!r:.120}")
    auth = env.get(names.EVENTS_PUBLISH_AUTH, "").strip() or "iam"
    if auth not in names.EVENTS_PUBLISH_AUTH_MODES:
        raise ConfigError(
            f"{names.EVENTS_PUBLISH_AUTH} must be one of {list(names.EVENTS_PUBLISH_AUTH_MODES)}; "
            f"got {auth!r}"
        )
    region = env.get("AWS_REGION", "").strip() or None
    if auth == "iam":
        if parts.scheme != "https":
            raise ConfigError(f"{names.EVENTS_PUBLISH_URL} must be https:// when signed with IAM")
        if region is None:
            raise ConfigError("AWS_REGION is required to sign publishes with IAM")
    return PublishSettings(url=url, auth=auth, region=region)


def _default_credentials() -> Any:
    import botocore.session  # lazy: only a publishing function pays for botocore's session

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found to sign the publish")
    return credentials


class SigV4Signer:
    """Signs a publish request for AppSync (`appsync` service) with botocore's SigV4Auth.

    `credentials` returns botocore credentials (refreshable ones are frozen per request);
    it is injectable for tests.
    """

    def __init__(self, region: str, *, credentials: Callable[[], Any] = _default_credentials):
        if not region:
            raise ValueError("region must not be empty")
        self.region = region
        self._credentials = credentials
        self._resolved: Any = None

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """`headers` plus the SigV4 ones (Authorization, X-Amz-Date, X-Amz-Security-Token)."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        if self._resolved is None:
            self._resolved = self._credentials()
        frozen = getattr(self._resolved, "get_frozen_credentials", None)
        credentials = frozen() if frozen else self._resolved
        request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        SigV4Auth(credentials, APPSYNC_SIGNING_SERVICE, self.region).add_auth(request)
        return dict(request.headers.items())


Signer = Callable[[str, bytes, Mapping[str, str]], dict[str, str]]


@dataclass(frozen=True)
class PublishOutcome:
    """How many publish requests were accepted and how many failed or were skipped."""

    published: int
    failed: int


class PushPublisher:
    """Posts publish requests to one events endpoint; `publish` never raises.

    `http` (a urllib3 pool), `signer` (None: unsigned) and `breaker` are injectable.
    """

    def __init__(
        self,
        url: str,
        *,
        signer: Signer | None = None,
        http: urllib3.PoolManager | None = None,
        breaker: CircuitBreaker | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self._signer = signer
        self._http = http or urllib3.PoolManager(
            retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        )
        self.breaker = breaker or CircuitBreaker(
            "push-publish",
            failure_threshold=BREAKER_FAILURES,
            cooldown_seconds=BREAKER_COOLDOWN_SECONDS,
        )

    def publish(self, requests: Iterable[PublishRequest]) -> PublishOutcome:
        """Send each request in order; count what was accepted and what was not."""
        published = failed = 0
        for request in requests:
            if not self.breaker.allow():
                failed += 1
                telemetry.logger.debug("push publish skipped: breaker open", extra=_about(request))
                continue
            reason = self._send(request)
            if reason is None:
                published += 1
                self.breaker.record_success()
            else:
                failed += 1
                self.breaker.record_failure()
                telemetry.logger.warning(
                    "push publish failed", extra={**_about(request), "reason": reason}
                )
        if published:
            telemetry.count(PUSH_PUBLISHED, published)
        if failed:
            telemetry.count(PUSH_PUBLISH_FAILURE, failed)
        return PublishOutcome(published=published, failed=failed)

    def _send(self, request: PublishRequest) -> str | None:
        """None when the endpoint accepted every event of `request`, else why not."""
        body = request.to_json()
        headers = {"Content-Type": "application/json"}
        try:
            if self._signer is not None:
                headers = self._signer(self.url, body, headers)
            response = self._http.request("POST", self.url, body=body, headers=headers)
        except Exception as exc:  # network, TLS, credentials: the record must not fail
            return f"{type(exc).__name__}: {exc}"[:_REASON_CHARS]
        text = response.data.decode("utf-8", "replace")
        if response.status != 200:
            return f"HTTP {response.status}: {text}"[:_REASON_CHARS]
        try:
            failed = json.loads(text).get("failed") or []
        except (ValueError, AttributeError):
            return f"HTTP 200 with an unreadable body: {text}"[:_REASON_CHARS]
        if failed:
            return f"events refused: {json.dumps(failed)}"[:_REASON_CHARS]
        return None


def build_publisher(settings: PublishSettings) -> PushPublisher:
    """The publisher for `settings`: signed with IAM, or unsigned for `auth == "none"`."""
    signer = None
    if settings.auth == "iam":
        assert settings.region is not None  # load_publish_settings checked it
        signer = SigV4Signer(settings.region)
    return PushPublisher(settings.url, signer=signer)


def _about(request: PublishRequest) -> dict[str, Any]:
    return {"channel": request.channel, "events": len(request.events)}
