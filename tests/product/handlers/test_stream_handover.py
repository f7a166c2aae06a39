"""The deployed push path: the stream handler hands each applied change's publish requests to
the push publisher function (an asynchronous Lambda invoke), only after invalidating; a failed
handover never fails a record and is counted.

The Lambda Invoke API is `make local`'s stand-in (real HTTP, boto3's own Lambda client pointed
at it by `AWS_ENDPOINT_URL_LAMBDA`); the last test runs the whole chain: the handover, the
publisher handler, a real local events server and a subscriber.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import redis
from handler_env import LambdaContext
from handler_events import insert, modify, remove, stream_event
from websockets.sync.client import ClientConnection, connect

from cache_constructs.contract.metrics import (
    PUSH_HANDED_OVER,
    PUSH_HANDOVER_FAILURE,
    PUSH_PUBLISHED,
)
from cache_constructs.contract.push import handover_event, requests_from_handover
from cache_constructs.contract.stream import INVALIDATION_RETRY_MARGIN_SECONDS
from cache_constructs.handlers import push_publisher_handler
from cache_constructs.product import push as product_push
from cache_constructs.product.handlers import push_notifications, stream_handler
from cache_constructs.runtime.push_publisher import PushPublisher
from local_stack.events_server import EventsServer
from local_stack.lambda_invoke_server import LambdaInvokeServer

WAIT = 10.0  # upper bound for an expected event; never a pause
PUBLISHER = "product-service-publisher"
ARN = f"arn:aws:lambda:eu-west-1:123456789012:function:{PUBLISHER}"


class Handovers:
    """What the publisher function was handed, and what Redis held when each arrived."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.events: list[dict[str, Any]] = []
        self.tombstones_at_arrival: list[tuple[str, int | None]] = []

    def on_received(self, _name: str, event: dict[str, Any]) -> None:
        for request in requests_from_handover(event):
            for raw in request.events:
                key = json.loads(raw)["key"]
                if not key.startswith("product:"):
                    continue
                product_id = key.removeprefix("product:")
                with redis.Redis.from_url(self.redis_url) as client:
                    value = client.hget(f"pc:{{p:{product_id}}}:t", "v")
                self.tombstones_at_arrival.append(
                    (product_id, None if value is None else int(value))
                )


@pytest.fixture
def handing_over(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LambdaInvokeServer, Handovers]]:
    """The stream function's environment as CachedProductService sets it, on the stand-in."""
    handovers = Handovers(redis_url)
    server = LambdaInvokeServer(
        {PUBLISHER: handovers.events.append}, on_received=handovers.on_received
    )
    with server:
        monkeypatch.setenv("PUSH_PUBLISHER_FUNCTION", ARN)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        monkeypatch.delenv("EVENTS_PUBLISH_URL", raising=False)
        push_notifications.reset_sender()
        yield server, handovers
    push_notifications.reset_sender()


def failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def emf_count(output: str, name: str) -> float:
    blobs = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    return sum(sum(blob.get(name, [])) for blob in blobs)


def dead_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_the_publisher_is_handed_exactly_the_changes_publish_requests(
    runtime: Any, context: Any, handing_over: Any
) -> None:
    server, handovers = handing_over
    response = stream_handler.handler(stream_event(modify("p1", 2, "home", "garden")), context)
    assert failures(response) == []
    assert server.wait_idle(WAIT)
    (event,) = handovers.events
    requests = requests_from_handover(event)
    at = datetime.fromisoformat(json.loads(requests[0].events[0])["at"].replace("Z", "+00:00"))
    expected = product_push.publish_requests(
        product_id="p1", categories=["home", "garden"], version=2, at=at
    )
    assert event == handover_event(expected)


def test_the_handover_goes_out_only_after_the_caches_are_invalidated(
    runtime: Any, context: Any, handing_over: Any
) -> None:
    server, handovers = handing_over
    stream_handler.handler(stream_event(modify("p1", 5), insert("p2", 1)), context)
    # When each product's handover reached Lambda, its tombstone already covered the
    # versions the record made stale: the publisher can only ever push after that.
    assert handovers.tombstones_at_arrival == [("p1", 4), ("p2", 0)]
    assert server.wait_idle(WAIT)
    assert len(handovers.events) == 2  # one asynchronous invoke per change


@pytest.mark.parametrize(
    ("record", "version", "categories"),
    [
        (insert("p3", 1, "toys"), 1, ["toys"]),
        (modify("p3", 4, "toys", "garden"), 4, ["garden", "toys"]),
        (remove("p3", 7, "toys"), None, ["toys"]),
        (remove("p3", 7, "toys", ttl=True), None, ["toys"]),
    ],
    ids=["insert", "modify-moving-category", "remove", "ttl-expiry"],
)
def test_every_change_kind_is_handed_over_with_the_version_it_leaves(
    record: dict[str, Any],
    version: int | None,
    categories: list[str],
    runtime: Any,
    context: Any,
    handing_over: Any,
) -> None:
    server, handovers = handing_over
    assert failures(stream_handler.handler(stream_event(record), context)) == []
    assert server.wait_idle(WAIT)
    (event,) = handovers.events
    messages = [json.loads(e) for r in requests_from_handover(event) for e in r.events]
    assert [(m["key"], m["version"]) for m in messages] == [
        ("product:p3", version),
        *((f"category:{c}", None) for c in categories),
    ]


def test_successful_handovers_are_counted(
    runtime: Any, context: Any, handing_over: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stream_handler.handler(stream_event(modify("p1", 2, "home", "garden")), context)
    output = capsys.readouterr().out
    assert emf_count(output, PUSH_HANDED_OVER) == 3
    assert emf_count(output, PUSH_HANDOVER_FAILURE) == 0
    # The stream function publishes nothing itself.
    assert emf_count(output, PUSH_PUBLISHED) == 0


def test_an_unreachable_lambda_api_fails_no_record_and_counts_each_request(
    runtime: Any,
    redis_url: str,
    context: Any,
    handing_over: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", dead_endpoint())
    push_notifications.reset_sender()
    records = [modify(f"p{i}", 2) for i in range(4)]
    response = stream_handler.handler(stream_event(*records), context)
    assert failures(response) == []
    with redis.Redis.from_url(redis_url) as client:
        assert [client.hget(f"pc:{{p:p{i}}}:t", "v") for i in range(4)] == [b"1"] * 4
    output = capsys.readouterr().out
    # Four changes of one product and one category each: 8 requests not handed over; the
    # breaker opened after the third failed invoke, so the fourth was not even attempted.
    assert emf_count(output, PUSH_HANDOVER_FAILURE) == 8
    assert emf_count(output, PUSH_HANDED_OVER) == 0
    attempted = [r for r in caplog.records if r.getMessage() == "push handover failed"]
    assert len(attempted) == 3


def test_a_refused_invoke_fails_no_record_and_is_counted(
    runtime: Any,
    context: Any,
    handing_over: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, handovers = handing_over
    monkeypatch.setenv("PUSH_PUBLISHER_FUNCTION", "a-function-that-is-gone")
    push_notifications.reset_sender()
    assert failures(stream_handler.handler(stream_event(modify("p1", 2)), context)) == []
    assert emf_count(capsys.readouterr().out, PUSH_HANDOVER_FAILURE) == 2
    assert server.stats.accepted == 0 and handovers.events == []


def test_a_record_whose_invalidation_failed_hands_nothing_over(
    install_runtime: Any, own_redis: Any, handing_over: Any
) -> None:
    server, handovers = handing_over
    # No time left to retry Redis: the record fails at once.
    context = LambdaContext(remaining_ms=INVALIDATION_RETRY_MARGIN_SECONDS * 1000)
    install_runtime(REDIS_URL=own_redis.url)
    own_redis.stop()
    try:
        response = stream_handler.handler(stream_event(modify("p1", 2)), context)
    finally:
        own_redis.start()
    assert len(failures(response)) == 1
    assert server.stats.accepted == 0 and handovers.events == []


def test_a_misconfigured_handover_fails_no_record_and_counts_failures(
    runtime: Any,
    context: Any,
    handing_over: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PUSH_PUBLISHER_FUNCTION", "not a function name")
    push_notifications.reset_sender()
    assert failures(stream_handler.handler(stream_event(modify("p1", 2)), context)) == []
    assert "PUSH_PUBLISHER_FUNCTION must be a Lambda function name or ARN" in caplog.text
    assert emf_count(capsys.readouterr().out, PUSH_HANDOVER_FAILURE) == 2


def test_the_handover_wins_over_a_direct_publish_url(
    runtime: Any, context: Any, handing_over: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, handovers = handing_over
    with EventsServer(keepalive_interval=3600) as events:
        monkeypatch.setenv("EVENTS_PUBLISH_URL", events.publish_url)
        monkeypatch.setenv("EVENTS_PUBLISH_AUTH", "none")
        push_notifications.reset_sender()
        stream_handler.handler(stream_event(modify("p1", 2)), context)
        assert server.wait_idle(WAIT)
        assert len(handovers.events) == 1
        assert events.stats.published_events == 0


@contextlib.contextmanager
def subscriber(server: EventsServer, channel: str) -> Iterator[ClientConnection]:
    with connect(server.ws_url, subprotocols=["aws-appsync-event-ws"]) as client:
        client.send(json.dumps({"type": "connection_init"}))
        assert json.loads(client.recv(timeout=WAIT))["type"] == "connection_ack"
        client.send(
            json.dumps({"type": "subscribe", "id": "s1", "channel": channel, "authorization": {}})
        )
        assert json.loads(client.recv(timeout=WAIT))["type"] == "subscribe_success"
        yield client


def test_a_change_reaches_a_subscriber_through_the_publisher_function(
    runtime: Any, context: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole chain: stream handler -> async invoke -> publisher handler -> events server."""
    with EventsServer(keepalive_interval=3600) as events:
        push_publisher_handler.set_publisher(PushPublisher(events.publish_url))

        def publisher_function(event: dict[str, Any]) -> Any:
            return push_publisher_handler.handler(event, LambdaContext())

        with LambdaInvokeServer({PUBLISHER: publisher_function}) as server:
            monkeypatch.setenv("PUSH_PUBLISHER_FUNCTION", ARN)
            monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
            push_notifications.reset_sender()
            try:
                with subscriber(events, product_push.product_channel("p9")) as client:
                    stream_handler.handler(stream_event(modify("p9", 3)), context)
                    message = json.loads(client.recv(timeout=WAIT))
            finally:
                push_publisher_handler.set_publisher(None)
                push_notifications.reset_sender()
            assert server.wait_idle(WAIT)
            assert server.stats.succeeded == 1
    assert message["type"] == "data"
    assert {k: json.loads(message["event"])[k] for k in ("key", "version")} == {
        "key": "product:p9",
        "version": 3,
    }
