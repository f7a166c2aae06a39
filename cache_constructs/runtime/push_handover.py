"""Hand publish requests to the push publisher function by an asynchronous Lambda invoke.

The stream function runs in the VPC (it needs Valkey) and AppSync Event APIs have no VPC
endpoint, so on AWS it does not publish itself: once a change's caches are invalidated it
invokes the publisher function (outside the VPC) with ``InvocationType=Event`` through the
VPC's Lambda interface endpoint, and the publisher posts the requests to AppSync. Lambda
queues the event and answers 202 at once; its own retries (the publisher's async invoke
config) take over from there.

A handover is best effort, like a publish: a failure is logged and counted
(`PushHandoverFailure`) and never raised, because the caches are already consistent and
clients fall back to polling. Each call has short timeouts and no SDK retries, and a breaker
(3 consecutive failures open it for 30 s) keeps an unreachable endpoint from adding a timeout
to every record of a batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cache_constructs.contract import environment as names
from cache_constructs.contract.metrics import PUSH_HANDED_OVER, PUSH_HANDOVER_FAILURE
from cache_constructs.contract.push import PublishRequest, handover_event
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.breaker import CircuitBreaker
from cache_constructs.runtime.config import ConfigError
from cache_constructs.runtime.push_publisher import PublishOutcome

CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 1.0
BREAKER_FAILURES = 3
BREAKER_COOLDOWN_SECONDS = 30.0
ASYNC_ACCEPTED = 202
"""What Lambda answers an accepted ``InvocationType=Event`` call."""
_FUNCTION = re.compile(
    r"^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}$"
)
_REASON_CHARS = 200


@dataclass(frozen=True)
class HandoverSettings:
    """Which function to hand publish requests to (from `PUSH_PUBLISHER_FUNCTION`)."""

    function: str


def load_handover_settings(env: Mapping[str, str]) -> HandoverSettings | None:
    """The handover settings, or None when `PUSH_PUBLISHER_FUNCTION` is unset.

    Raises `ConfigError` naming the variable when the value is no function name or ARN.
    """
    function = env.get(names.PUSH_PUBLISHER_FUNCTION, "").strip()
    if not function:
        return None
    if not _FUNCTION.match(function):
        raise ConfigError(
            f"{names.PUSH_PUBLISHER_FUNCTION} must be a Lambda function name or ARN; "
            f"got {function!r:.140}"
        )
    return HandoverSettings(function=function)


def _default_client() -> Any:
    """A Lambda client with short timeouts and no retries (the breaker decides)."""
    import boto3  # lazy: only the stream function hands over
    from botocore.config import Config

    return boto3.session.Session().client(
        "lambda",
        config=Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 1},
        ),
    )


class PushHandover:
    """Invokes one publisher function asynchronously; `publish` never raises.

    `client` (a boto3 Lambda client, or a factory of one) and `breaker` are injectable.
    The endpoint is botocore's: the VPC's Lambda interface endpoint on AWS (private DNS),
    ``AWS_ENDPOINT_URL_LAMBDA`` locally.
    """

    def __init__(
        self,
        function: str,
        *,
        client: Callable[[], Any] = _default_client,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.function = function
        self._client_factory = client
        self._client: Any = None
        self.breaker = breaker or CircuitBreaker(
            "push-handover",
            failure_threshold=BREAKER_FAILURES,
            cooldown_seconds=BREAKER_COOLDOWN_SECONDS,
        )

    def publish(self, requests: Iterable[PublishRequest]) -> PublishOutcome:
        """Hand every request over in one asynchronous invoke; count the outcome."""
        batch = list(requests)
        if not batch:
            return PublishOutcome(published=0, failed=0)
        if not self.breaker.allow():
            telemetry.count(PUSH_HANDOVER_FAILURE, len(batch))
            telemetry.logger.debug(
                "push handover skipped: breaker open", extra={"requests": len(batch)}
            )
            return PublishOutcome(published=0, failed=len(batch))
        reason = self._invoke(batch)
        if reason is None:
            self.breaker.record_success()
            telemetry.count(PUSH_HANDED_OVER, len(batch))
            return PublishOutcome(published=len(batch), failed=0)
        self.breaker.record_failure()
        telemetry.count(PUSH_HANDOVER_FAILURE, len(batch))
        telemetry.logger.warning(
            "push handover failed",
            extra={"function": self.function, "requests": len(batch), "reason": reason},
        )
        return PublishOutcome(published=0, failed=len(batch))

    def _invoke(self, batch: list[PublishRequest]) -> str | None:
        """None when Lambda queued the event, else why not."""
        payload = json.dumps(handover_event(batch), separators=(",", ":")).encode("utf-8")
        try:
            if self._client is None:
                self._client = self._client_factory()
            response = self._client.invoke(
                FunctionName=self.function, InvocationType="Event", Payload=payload
            )
        except Exception as exc:  # network, IAM, throttling: the record must not fail
            return f"{type(exc).__name__}: {exc}"[:_REASON_CHARS]
        status = response.get("StatusCode")
        if status != ASYNC_ACCEPTED:
            return f"Lambda answered {status} instead of {ASYNC_ACCEPTED}"
        return None


def build_handover(settings: HandoverSettings) -> PushHandover:
    """The handover for `settings`, with the default Lambda client."""
    return PushHandover(settings.function)
