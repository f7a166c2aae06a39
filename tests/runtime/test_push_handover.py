"""PushHandover: settings, the asynchronous invoke boto3 really sends, and never raising.

The Lambda Invoke API is the local stand-in of `make local` (local_stack.lambda_invoke_server):
real HTTP, and boto3's own Lambda client with the handover's timeouts, pointed at it by
`AWS_ENDPOINT_URL_LAMBDA` exactly as the stream worker is.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from runtime_helpers import FakeClock

from cache_constructs.contract.push import (
    PublishRequest,
    encode_event,
    handover_event,
    invalidation_message,
    requests_from_handover,
)
from cache_constructs.runtime import telemetry
from cache_constructs.runtime.breaker import CircuitBreaker
from cache_constructs.runtime.config import ConfigError
from cache_constructs.runtime.push_handover import (
    PushHandover,
    build_handover,
    load_handover_settings,
)
from local_stack.lambda_invoke_server import LambdaInvokeServer

AT = datetime(2026, 12, 2, 3, 0, 1, tzinfo=UTC)
PUBLISHER = "local-publisher"
ARN = f"arn:aws:lambda:eu-west-1:123456789012:function:{PUBLISHER}"
WAIT = 10.0  # upper bound for something expected; never a pause


def request(key: str = "product:p1", channel: str = "/invalidations/product/abc") -> PublishRequest:
    return PublishRequest(channel, (encode_event(invalidation_message(key, 2, AT)),))


@pytest.fixture(autouse=True)
def _aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    telemetry.metrics.clear_metrics()
    yield
    telemetry.metrics.clear_metrics()


@pytest.fixture
def lambda_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LambdaInvokeServer, list[Any]]]:
    received: list[Any] = []
    with LambdaInvokeServer({PUBLISHER: received.append}) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        yield server, received


def dead_endpoint() -> str:
    """A loopback URL nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- settings ------------------------------------------------------------------------------


def test_no_function_means_no_handover() -> None:
    assert load_handover_settings({}) is None
    assert load_handover_settings({"PUSH_PUBLISHER_FUNCTION": " "}) is None


@pytest.mark.parametrize(
    "function", [ARN, PUBLISHER, "arn:aws-cn:lambda:cn-north-1:123456789012:function:p"]
)
def test_a_function_name_or_arn_is_accepted(function: str) -> None:
    settings = load_handover_settings({"PUSH_PUBLISHER_FUNCTION": function})
    assert settings is not None and settings.function == function
    assert build_handover(settings).function == function


@pytest.mark.parametrize("function", ["not a function", "arn:aws:s3:::bucket", "x" * 65])
def test_a_bad_function_is_a_config_error_naming_the_variable(function: str) -> None:
    with pytest.raises(ConfigError, match="PUSH_PUBLISHER_FUNCTION"):
        load_handover_settings({"PUSH_PUBLISHER_FUNCTION": function})


# --- the invoke ----------------------------------------------------------------------------


def test_the_requests_are_handed_over_exactly_in_one_asynchronous_invoke(lambda_api) -> None:
    server, received = lambda_api
    requests = [request(), request("category:home", "/invalidations/category/def")]
    outcome = PushHandover(ARN).publish(requests)
    assert (outcome.published, outcome.failed) == (2, 0)
    assert server.wait_idle(WAIT)
    assert received == [handover_event(requests)]
    assert requests_from_handover(received[0]) == requests
    assert server.stats.accepted == 1  # one invoke for the whole change
    assert telemetry.metric_values("PushHandedOver") == [2.0]
    assert telemetry.metric_values("PushHandoverFailure") == []


def test_the_invoke_is_asynchronous(monkeypatch: pytest.MonkeyPatch) -> None:
    """The publisher has not even run when the handover returns: Lambda only queued it."""
    started, release = threading.Event(), threading.Event()

    def slow_publisher(_: Any) -> None:
        started.set()
        release.wait(WAIT)

    with LambdaInvokeServer({PUBLISHER: slow_publisher}) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        assert PushHandover(PUBLISHER).publish([request()]).published == 1
        assert not release.is_set()  # returned while the publisher is still held
        assert started.wait(WAIT)
        release.set()
        assert server.wait_idle(WAIT)


def test_nothing_to_hand_over_invokes_nothing(lambda_api) -> None:
    server, _ = lambda_api
    assert PushHandover(ARN).publish([]) == PushHandover(ARN).publish(iter(()))
    assert server.stats.accepted == 0


@pytest.mark.parametrize("function", ["someone-else", ARN.replace(PUBLISHER, "gone")])
def test_a_refused_invoke_is_counted_never_raised(
    lambda_api, function: str, caplog: pytest.LogCaptureFixture
) -> None:
    server, received = lambda_api
    outcome = PushHandover(function).publish([request(), request()])
    assert (outcome.published, outcome.failed) == (0, 2)
    assert telemetry.metric_values("PushHandoverFailure") == [2.0]
    (record,) = [r for r in caplog.records if r.getMessage() == "push handover failed"]
    assert "ResourceNotFoundException" in record.__dict__["reason"]
    assert received == [] and server.stats.accepted == 0


def test_an_unreachable_lambda_api_is_counted_never_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", dead_endpoint())
    outcome = PushHandover(ARN).publish([request()])
    assert (outcome.published, outcome.failed) == (0, 1)
    assert telemetry.metric_values("PushHandoverFailure") == [1.0]


def test_a_slow_lambda_api_is_cut_off_by_the_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    hold = threading.Event()
    server = LambdaInvokeServer({PUBLISHER: lambda _: None}, on_received=lambda *_: hold.wait(WAIT))
    with server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        outcome = PushHandover(ARN).publish([request()])
        # Failed while the endpoint was still holding the answer back: the timeout cut it.
        assert not hold.is_set()
        assert outcome.failed == 1
        hold.set()


def test_a_client_that_cannot_be_built_is_a_counted_failure() -> None:
    def no_client() -> Any:
        raise RuntimeError("no region")

    outcome = PushHandover(ARN, client=no_client).publish([request()])
    assert outcome.failed == 1
    assert telemetry.metric_values("PushHandoverFailure") == [1.0]


def test_an_answer_other_than_202_is_a_failure() -> None:
    class SyncAnswer:
        def invoke(self, **_: Any) -> dict[str, Any]:
            return {"StatusCode": 200}

    outcome = PushHandover(ARN, client=SyncAnswer).publish([request()])
    assert outcome.failed == 1


def test_the_breaker_stops_invoking_and_probes_after_the_cooldown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("handover", failure_threshold=3, cooldown_seconds=30, clock=clock)
    received: list[Any] = []
    with LambdaInvokeServer({}) as server:  # no publisher yet: every invoke is refused
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        handover = PushHandover(ARN, breaker=breaker)
        for _ in range(5):
            assert handover.publish([request()]).failed == 1
        assert server.stats.accepted == 0
        server.register(PUBLISHER, received.append)
        assert handover.publish([request()]).failed == 1  # still open: skipped, not sent
        assert received == []
        clock.advance(30)
        assert handover.publish([request()]).published == 1
        assert server.wait_idle(WAIT)
    assert len(received) == 1
    assert breaker.state == "closed"
    assert telemetry.metric_values("PushHandoverFailure") == [6.0]


def test_the_payload_is_the_json_boto3_sends(lambda_api) -> None:
    """What arrives is a JSON object the publisher's parser takes back unchanged."""
    server, received = lambda_api
    requests = [request(f"product:p{i}", f"/invalidations/product/p{i}") for i in range(3)]
    PushHandover(ARN).publish(requests)
    assert server.wait_idle(WAIT)
    assert json.loads(json.dumps(received[0])) == handover_event(requests)
