"""The push publisher function: it publishes what it is handed to a real local events server,
SigV4-signed for AppSync (the server verifies the signature), fails the invocation when a
publish fails (so Lambda retries it), and drops a malformed event after counting it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from websockets.sync.client import ClientConnection, connect

from cache_constructs.contract.push import (
    PublishRequest,
    encode_event,
    handover_event,
    invalidation_message,
)
from cache_constructs.handlers import push_publisher_handler
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.config import ConfigError
from cache_constructs.runtime.push_publisher import PushPublisher, SigV4Signer
from local_stack.events_server import EventsServer

AT = datetime(2026, 12, 2, 3, 0, 1, tzinfo=UTC)
REGION = "eu-west-1"
CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session")
WAIT = 10.0


@dataclass
class Context:
    function_name: str = "publisher"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:publisher"
    aws_request_id: str = "3f1c0c8e-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def request(key: str, channel: str, version: int | None = 2) -> PublishRequest:
    return PublishRequest(channel, (encode_event(invalidation_message(key, version, AT)),))


REQUESTS = [
    request("product:p1", "/invalidations/product/p1"),
    request("category:home", "/invalidations/category/home", None),
]


def signed_by_credentials(url: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Verify a SigV4 signature for `appsync` the way AppSync does: recompute it from the
    headers the request says it signed, its date, and the caller's (known) secret."""
    authorization = headers.get("Authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return False
    fields = dict(
        part.strip().split("=", 1)
        for part in authorization.removeprefix("AWS4-HMAC-SHA256 ").split(",")
    )
    access_key, date, region, service, _ = fields["Credential"].split("/")
    if (access_key, region, service) != (CREDENTIALS.access_key, REGION, "appsync"):
        return False
    lower = {k.lower(): v for k, v in headers.items()}
    signed = fields["SignedHeaders"].split(";")
    if "x-amz-security-token" not in signed or "host" not in signed:
        return False
    parts = urlsplit(url)
    replay = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={name: lower[name] for name in signed if name != "host"},
    )
    replay.headers["Host"] = parts.netloc
    replay.context["timestamp"] = lower["x-amz-date"]
    auth = SigV4Auth(CREDENTIALS, "appsync", REGION)
    canonical = auth.canonical_request(replay)
    expected = auth.signature(auth.string_to_sign(replay, canonical), replay)
    return date == lower["x-amz-date"][:8] and fields["Signature"] == expected


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    telemetry.metrics.clear_metrics()
    push_publisher_handler.set_publisher(None)
    yield
    push_publisher_handler.set_publisher(None)
    telemetry.metrics.clear_metrics()


@pytest.fixture
def events() -> Iterator[EventsServer]:
    with EventsServer(keepalive_interval=3600, authorize_publish=signed_by_credentials) as server:
        yield server


@contextlib.contextmanager
def subscriber(server: EventsServer, channel: str) -> Iterator[ClientConnection]:
    with connect(server.ws_url, subprotocols=["aws-appsync-event-ws"]) as client:
        client.send(json.dumps({"type": "connection_init"}))
        assert json.loads(client.recv(timeout=WAIT))["type"] == "connection_ack"
        client.send(
            json.dumps({"type": "subscribe", "id": "s", "channel": channel, "authorization": {}})
        )
        assert json.loads(client.recv(timeout=WAIT))["type"] == "subscribe_success"
        yield client


def signed_publisher(url: str) -> PushPublisher:
    return PushPublisher(url, signer=SigV4Signer(REGION, credentials=lambda: CREDENTIALS))


def emf(output: str, name: str) -> float:
    blobs = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    return sum(sum(blob.get(name, [])) for blob in blobs)


def test_a_signed_handover_is_published_and_reaches_the_subscribers(
    events: EventsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    push_publisher_handler.set_publisher(signed_publisher(events.publish_url))
    with (
        subscriber(events, "/invalidations/product/*") as products,
        subscriber(events, "/invalidations/category/home") as home,
    ):
        result = push_publisher_handler.handler(handover_event(REQUESTS), Context())
        product = json.loads(json.loads(products.recv(timeout=WAIT))["event"])
        category = json.loads(json.loads(home.recv(timeout=WAIT))["event"])
    assert result == {"published": 2, "failed": 0}
    assert (product["key"], product["version"]) == ("product:p1", 2)
    assert (category["key"], category["version"]) == ("category:home", None)
    assert events.stats.published_events == 2
    assert emf(capsys.readouterr().out, "PushPublished") == 2


def test_the_events_server_refuses_what_is_not_signed_by_the_caller(
    events: EventsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guards the verifier: an unsigned publish and one signed with another secret fail."""
    wrong = Credentials(CREDENTIALS.access_key, "another-secret", "session")
    for publisher in (
        PushPublisher(events.publish_url),
        PushPublisher(events.publish_url, signer=SigV4Signer(REGION, credentials=lambda: wrong)),
    ):
        push_publisher_handler.set_publisher(publisher)
        with pytest.raises(push_publisher_handler.PublishIncomplete, match="2 of 2"):
            push_publisher_handler.handler(handover_event(REQUESTS), Context())
    assert events.stats.published_events == 0
    assert emf(capsys.readouterr().out, "PushPublishFailure") == 4


def test_a_failed_publish_fails_the_invocation_so_lambda_retries_it(
    events: EventsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    push_publisher_handler.set_publisher(signed_publisher(events.publish_url))
    bad = PublishRequest("/elsewhere/product/p1", REQUESTS[0].events)  # unknown namespace
    with pytest.raises(push_publisher_handler.PublishIncomplete, match="1 of 2"):
        push_publisher_handler.handler(handover_event([REQUESTS[0], bad]), Context())
    output = capsys.readouterr().out
    assert emf(output, "PushPublished") == 1
    assert emf(output, "PushPublishFailure") == 1


@pytest.mark.parametrize(
    "event",
    [{}, {"requests": []}, {"requests": [{"channel": "/invalidations/x"}]}, {"requests": "x"}],
    ids=["no-requests", "empty", "no-events", "not-a-list"],
)
def test_a_malformed_event_is_counted_and_dropped_without_a_retry(
    event: dict[str, Any], events: EventsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    push_publisher_handler.set_publisher(signed_publisher(events.publish_url))
    assert push_publisher_handler.handler(event, Context()) == {"published": 0, "failed": 1}
    assert events.stats.published_events == 0
    assert emf(capsys.readouterr().out, "PushPublishFailure") == 1


def test_the_publisher_is_built_from_its_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with EventsServer(keepalive_interval=3600) as events:
        monkeypatch.setenv("EVENTS_PUBLISH_URL", events.publish_url)
        monkeypatch.setenv("EVENTS_PUBLISH_AUTH", "none")
        result = push_publisher_handler.handler(handover_event(REQUESTS), Context())
        assert result == {"published": 2, "failed": 0}
        assert events.stats.published_events == 2


def test_without_an_endpoint_the_invocation_fails_and_counts_every_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EVENTS_PUBLISH_URL", raising=False)
    with pytest.raises(ConfigError, match="EVENTS_PUBLISH_URL"):
        push_publisher_handler.handler(handover_event(REQUESTS), Context())
    assert emf(capsys.readouterr().out, "PushPublishFailure") == 2
