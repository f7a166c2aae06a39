"""PushPublisher: settings, SigV4 signing for AppSync, and never raising, against real HTTP."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from runtime_helpers import FakeClock

from cache_constructs.contract.push import PublishRequest, encode_event, invalidation_message
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.breaker import CircuitBreaker
from cache_constructs.runtime.config import ConfigError
from cache_constructs.runtime.push_publisher import (
    PushPublisher,
    SigV4Signer,
    build_publisher,
    load_publish_settings,
)

AT = datetime(2026, 12, 2, 3, 0, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def request(key: str = "product:p1", channel: str = "/invalidations/product/abc") -> PublishRequest:
    return PublishRequest(channel, (encode_event(invalidation_message(key, 2, AT)),))


@dataclass
class Behaviour:
    """What the test endpoint answers, and what it saw."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: {"successful": [], "failed": []})
    hold: threading.Event | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def endpoint(behaviour: Behaviour) -> Iterator[str]:
    """A real HTTP server on loopback answering POST /event as `behaviour` says."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            behaviour.seen.append({"headers": dict(self.headers), "body": json.loads(body)})
            if behaviour.hold is not None:
                behaviour.hold.wait(10)
            payload = json.dumps(behaviour.body).encode()
            self.send_response(behaviour.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/event"
    finally:
        if behaviour.hold is not None:
            behaviour.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _no_buffered_metrics() -> Iterator[None]:
    telemetry.metrics.clear_metrics()
    yield
    telemetry.metrics.clear_metrics()


# --- settings ------------------------------------------------------------------------------


def test_no_url_means_push_is_off() -> None:
    assert load_publish_settings({}) is None
    assert load_publish_settings({"EVENTS_PUBLISH_URL": "  "}) is None


def test_settings_default_to_iam_and_need_https_and_a_region() -> None:
    url = "https://abc.appsync-api.eu-west-1.amazonaws.com/event"
    settings = load_publish_settings({"EVENTS_PUBLISH_URL": url, "AWS_REGION": "eu-west-1"})
    assert settings is not None
    assert (settings.url, settings.auth, settings.region) == (url, "iam", "eu-west-1")
    with pytest.raises(ConfigError, match="AWS_REGION is required"):
        load_publish_settings({"EVENTS_PUBLISH_URL": url})
    with pytest.raises(ConfigError, match="must be https:// when signed with IAM"):
        load_publish_settings({"EVENTS_PUBLISH_URL": "http://x/event", "AWS_REGION": "eu-west-1"})


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"EVENTS_PUBLISH_URL": "ftp://x/event"}, "EVENTS_PUBLISH_URL"),
        ({"EVENTS_PUBLISH_URL": "not a url"}, "EVENTS_PUBLISH_URL"),
        (
            {"EVENTS_PUBLISH_URL": "http://x/event", "EVENTS_PUBLISH_AUTH": "key"},
            "EVENTS_PUBLISH_AUTH",
        ),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_publish_settings(env)


def test_unsigned_settings_build_an_unsigned_publisher() -> None:
    settings = load_publish_settings(
        {"EVENTS_PUBLISH_URL": "http://127.0.0.1:1/event", "EVENTS_PUBLISH_AUTH": "none"}
    )
    assert settings is not None
    assert build_publisher(settings)._signer is None


# --- SigV4 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


class Refreshable:
    """Like botocore's RefreshableCredentials: frozen per use."""

    def __init__(self) -> None:
        self.frozen = 0

    def get_frozen_credentials(self) -> Credentials:
        self.frozen += 1
        return Credentials("AKIDEXAMPLE", "secret", "session-token")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_signature(url: str, body: bytes, headers: dict[str, str], secret: str) -> str:
    """SigV4 computed here from the spec, independently of botocore."""
    authorization = headers["Authorization"]
    scope = authorization.split("Credential=")[1].split(",")[0].split("/", 1)[1]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    lower = {name.lower(): value for name, value in headers.items()}
    lower.setdefault("host", urlsplit(url).netloc)
    canonical = "\n".join(
        [
            "POST",
            urlsplit(url).path,
            "",
            *(f"{name}:{lower[name].strip()}" for name in signed),
            "",
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            lower["x-amz-date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    date, region, service, _ = scope.split("/")
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_signer_signs_for_the_appsync_service_in_the_region() -> None:
    url = "https://abc.appsync-api.eu-west-1.amazonaws.com/event"
    body = request().to_json()
    signer = SigV4Signer("eu-west-1", credentials=lambda: Credentials("AKIDEXAMPLE", "secret"))
    headers = signer(url, body, {"Content-Type": "application/json"})
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/appsync/aws4_request" in authorization
    assert "content-type" in authorization.split("SignedHeaders=")[1]
    signature = authorization.split("Signature=")[1]
    assert signature == expected_signature(url, body, headers, "secret")
    assert "X-Amz-Security-Token" not in headers


def test_signer_freezes_refreshable_credentials_per_request_and_sends_the_token() -> None:
    source = Refreshable()
    calls = []

    def credentials() -> Refreshable:
        calls.append(1)
        return source

    signer = SigV4Signer("us-east-1", credentials=credentials)
    for _ in range(2):
        headers = signer("https://x.appsync-api.us-east-1.amazonaws.com/event", b"{}", {})
        assert headers["X-Amz-Security-Token"] == "session-token"
    assert (len(calls), source.frozen) == (1, 2)  # resolved once, frozen per request


def test_signer_needs_a_region() -> None:
    with pytest.raises(ValueError, match="region"):
        SigV4Signer("")


# --- publishing ----------------------------------------------------------------------------


def test_an_accepted_publish_is_counted_and_sent_as_appsync_expects() -> None:
    behaviour = Behaviour()
    with endpoint(behaviour) as url:
        outcome = PushPublisher(url).publish([request(), request("category:home")])
    assert (outcome.published, outcome.failed) == (2, 0)
    assert telemetry.metric_values("PushPublished") == [2.0]
    assert behaviour.seen[0]["body"]["channel"] == "/invalidations/product/abc"
    assert json.loads(behaviour.seen[0]["body"]["events"][0])["key"] == "product:p1"
    assert behaviour.seen[0]["headers"]["Content-Type"] == "application/json"


def test_a_signed_publish_carries_the_signature() -> None:
    behaviour = Behaviour()
    signer = SigV4Signer("eu-west-1", credentials=lambda: Credentials("AKIDEXAMPLE", "secret"))
    with endpoint(behaviour) as url:
        assert PushPublisher(url, signer=signer).publish([request()]).published == 1
    assert behaviour.seen[0]["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 ")


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, {"errors": [{"errorType": "InternalFailure"}]}, "HTTP 500"),
        (403, {"errors": [{"errorType": "UnauthorizedException"}]}, "HTTP 403"),
        (200, {"successful": [], "failed": [{"identifier": "x", "index": 0}]}, "events refused"),
    ],
)
def test_refused_publishes_are_counted_never_raised(
    status: int, body: dict[str, Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with endpoint(Behaviour(status=status, body=body)) as url:
        outcome = PushPublisher(url).publish([request()])
    assert (outcome.published, outcome.failed) == (0, 1)
    assert telemetry.metric_values("PushPublishFailure") == [1.0]
    (record,) = [r for r in caplog.records if r.getMessage() == "push publish failed"]
    assert reason in record.__dict__["reason"]


def test_a_slow_endpoint_is_cut_off_by_the_read_timeout() -> None:
    behaviour = Behaviour(hold=threading.Event())
    with endpoint(behaviour) as url:
        outcome = PushPublisher(url, read_timeout=0.2).publish([request()])
    assert outcome.failed == 1


def test_a_signer_without_credentials_is_a_counted_failure() -> None:
    def no_credentials() -> Any:
        raise RuntimeError("no AWS credentials found to sign the publish")

    behaviour = Behaviour()
    with endpoint(behaviour) as url:
        signer = SigV4Signer("eu-west-1", credentials=no_credentials)
        outcome = PushPublisher(url, signer=signer).publish([request()])
    assert outcome.failed == 1
    assert behaviour.seen == []


def test_the_breaker_stops_calling_a_failing_endpoint_and_probes_after_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("push", failure_threshold=3, cooldown_seconds=30, clock=clock)
    behaviour = Behaviour(status=503, body={"errors": []})
    with endpoint(behaviour) as url:
        publisher = PushPublisher(url, breaker=breaker)
        outcome = publisher.publish([request() for _ in range(5)])
        assert (outcome.published, outcome.failed) == (0, 5)
        assert len(behaviour.seen) == 3  # the last two were skipped without a request
        behaviour.status, behaviour.body = 200, {"successful": [], "failed": []}
        clock.advance(30)
        outcome = publisher.publish([request(), request()])
    assert (outcome.published, outcome.failed) == (2, 0)
    assert len(behaviour.seen) == 5
    assert breaker.state == "closed"


def test_only_the_stream_function_loads_the_publisher_and_the_handover() -> None:
    """The read, list and write handlers import neither the publisher, the handover, urllib3
    nor botocore's signer; the stream handler imports both but neither the signer nor boto3's
    Lambda client (built on the first handover)."""
    code = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import cache_constructs.product.handlers.read_handler\n"
        "import cache_constructs.product.handlers.list_handler\n"
        "import cache_constructs.product.handlers.write_handler\n"
        "before = sorted(sys.modules)\n"
        "import cache_constructs.product.handlers.stream_handler\n"
        "print(json.dumps([before, sorted(sys.modules)]))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    before, after = (set(names) for names in json.loads(output.strip().splitlines()[-1]))
    publisher = "cache_constructs.runtime.push_publisher"
    handover = "cache_constructs.runtime.push_handover"
    assert not {publisher, handover} & before
    assert not {m for m in before if m.split(".")[0] == "urllib3"}
    assert {publisher, handover} <= after
    assert not {"botocore.auth", "botocore.session", "botocore.config"} & after
