"""Publishing directly (`EVENTS_PUBLISH_URL` on the stream function, for one that can reach the
endpoint): every change it applies is published after invalidating, to a real local AppSync
Events server; a dead publish endpoint never fails a record, and the metric counts it. The
deployed path hands the requests over instead: test_stream_handover.py."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from handler_env import LambdaContext
from handler_events import insert, modify, remove, stream_event
from websockets.sync.client import ClientConnection, connect

from cache_constructs.contract.metrics import PUSH_PUBLISH_FAILURE, PUSH_PUBLISHED
from cache_constructs.contract.stream import INVALIDATION_RETRY_MARGIN_SECONDS
from cache_constructs.product import push as product_push
from cache_constructs.product.handlers import push_notifications, stream_handler
from local_stack.events_server import EventsServer

WAIT = 10.0  # upper bound for an expected message; never a pause


class RecordingEventsServer(EventsServer):
    """The local server, noting what Redis held for each product when its publish arrived."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(keepalive_interval=3600)
        self.redis_url = redis_url
        self.tombstones_at_publish: list[tuple[str, int | None]] = []

    def publish(self, channel: object, events: object) -> list[dict[str, Any]]:
        for event in events if isinstance(events, list) else []:
            key = json.loads(event)["key"]
            if key.startswith("product:"):
                product_id = key.removeprefix("product:")
                with redis.Redis.from_url(self.redis_url) as client:
                    value = client.hget(f"pc:{{p:{product_id}}}:t", "v")
                self.tombstones_at_publish.append(
                    (product_id, None if value is None else int(value))
                )
        return super().publish(channel, events)


@pytest.fixture
def events(redis_url: str) -> Iterator[RecordingEventsServer]:
    server = RecordingEventsServer(redis_url)
    with server:
        yield server


@pytest.fixture
def publishing_to(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the stream function's publisher at a URL, as the environment does."""

    def point(url: str) -> None:
        monkeypatch.delenv("PUSH_PUBLISHER_FUNCTION", raising=False)
        monkeypatch.setenv("EVENTS_PUBLISH_URL", url)
        monkeypatch.setenv("EVENTS_PUBLISH_AUTH", "none")
        push_notifications.reset_sender()

    yield point
    push_notifications.reset_sender()


@contextlib.contextmanager
def subscriber(server: EventsServer, *channels: str) -> Iterator[ClientConnection]:
    with connect(server.ws_url, subprotocols=["aws-appsync-event-ws"]) as client:
        client.send(json.dumps({"type": "connection_init"}))
        assert json.loads(client.recv(timeout=WAIT))["type"] == "connection_ack"
        for index, channel in enumerate(channels):
            client.send(
                json.dumps(
                    {
                        "type": "subscribe",
                        "id": f"s{index}",
                        "channel": channel,
                        "authorization": {},
                    }
                )
            )
            assert json.loads(client.recv(timeout=WAIT))["type"] == "subscribe_success"
        yield client


def next_message(client: ClientConnection) -> dict[str, Any]:
    """The next invalidation delivered to `client` (keep-alives are off in these tests)."""
    message = json.loads(client.recv(timeout=WAIT))
    assert message["type"] == "data", message
    return json.loads(message["event"])


def failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def emf_count(output: str, name: str) -> float:
    blobs = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    return sum(sum(blob.get(name, [])) for blob in blobs)


def dead_endpoint() -> str:
    """A loopback URL nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/event"


def test_a_modify_reaches_the_products_and_the_categorys_subscribers(
    runtime: Any, context: Any, events: RecordingEventsServer, publishing_to: Any
) -> None:
    publishing_to(events.publish_url)
    product = product_push.product_channel("p1")
    category = product_push.category_channel("home")
    with subscriber(events, product) as on_product, subscriber(events, category) as on_category:
        response = stream_handler.handler(stream_event(modify("p1", 2)), context)
        assert failures(response) == []
        message = next_message(on_product)
        assert {k: message[k] for k in ("type", "key", "version")} == {
            "type": "invalidate",
            "key": "product:p1",
            "version": 2,
        }
        assert message["at"].endswith("Z")
        assert next_message(on_category)["key"] == "category:home"


def test_the_push_goes_out_only_after_the_caches_are_invalidated(
    runtime: Any, context: Any, events: RecordingEventsServer, publishing_to: Any
) -> None:
    publishing_to(events.publish_url)
    stream_handler.handler(stream_event(modify("p1", 5), insert("p2", 1)), context)
    # When each product's publish arrived, its tombstone already covered the stale versions.
    assert events.tombstones_at_publish == [("p1", 4), ("p2", 0)]


@pytest.mark.parametrize(
    ("record", "version", "categories"),
    [
        (insert("p3", 1, "toys"), 1, {"toys"}),
        (modify("p3", 4, "toys", "garden"), 4, {"toys", "garden"}),
        (remove("p3", 7, "toys"), None, {"toys"}),
        (remove("p3", 7, "toys", ttl=True), None, {"toys"}),
    ],
    ids=["insert", "modify-moving-category", "remove", "ttl-expiry"],
)
def test_every_change_kind_is_published_with_the_version_it_leaves(
    record: dict[str, Any],
    version: int | None,
    categories: set[str],
    runtime: Any,
    context: Any,
    events: RecordingEventsServer,
    publishing_to: Any,
) -> None:
    publishing_to(events.publish_url)
    channels = [product_push.product_channel("p3")] + [
        product_push.category_channel(c) for c in sorted(categories)
    ]
    with subscriber(events, *channels) as client:
        assert failures(stream_handler.handler(stream_event(record), context)) == []
        received = [next_message(client) for _ in channels]
    assert {m["key"]: m["version"] for m in received} == {
        "product:p3": version,
        **{f"category:{c}": None for c in categories},
    }


def test_a_dead_publish_endpoint_fails_no_record_and_counts_each_failure(
    runtime: Any,
    redis_url: str,
    context: Any,
    publishing_to: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    publishing_to(dead_endpoint())
    response = stream_handler.handler(stream_event(modify("p1", 2), remove("p2", 3)), context)
    assert failures(response) == []
    with redis.Redis.from_url(redis_url) as client:
        assert client.hget("pc:{p:p1}:t", "v") == b"1"
        assert client.hget("pc:{p:p2}:t", "v") == b"3"
    output = capsys.readouterr().out
    # Two products and their category, one request per channel: 4 publish requests failed;
    # the breaker opened after the third, so the fourth was not even attempted.
    assert emf_count(output, PUSH_PUBLISH_FAILURE) == 4
    assert emf_count(output, PUSH_PUBLISHED) == 0
    attempted = [r for r in caplog.records if r.getMessage() == "push publish failed"]
    assert len(attempted) == 3


def test_successful_publishes_are_counted(
    runtime: Any,
    context: Any,
    events: RecordingEventsServer,
    publishing_to: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publishing_to(events.publish_url)
    stream_handler.handler(stream_event(modify("p1", 2, "home", "garden")), context)
    output = capsys.readouterr().out
    assert emf_count(output, PUSH_PUBLISHED) == 3
    assert emf_count(output, PUSH_PUBLISH_FAILURE) == 0
    assert events.stats.published_events == 3


def test_a_record_whose_invalidation_failed_publishes_nothing(
    install_runtime: Any, own_redis: Any, publishing_to: Any
) -> None:
    # No time left to retry Redis: the record fails at once.
    context = LambdaContext(remaining_ms=INVALIDATION_RETRY_MARGIN_SECONDS * 1000)
    with EventsServer(keepalive_interval=3600) as server:
        publishing_to(server.publish_url)
        install_runtime(REDIS_URL=own_redis.url)
        own_redis.stop()
        try:
            response = stream_handler.handler(stream_event(modify("p1", 2)), context)
        finally:
            own_redis.start()
        assert len(failures(response)) == 1
        assert server.stats.published_events == 0


def test_without_a_publish_url_nothing_is_published_or_counted(
    runtime: Any,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("EVENTS_PUBLISH_URL", raising=False)
    push_notifications.reset_sender()
    assert failures(stream_handler.handler(stream_event(modify("p1", 2)), context)) == []
    output = capsys.readouterr().out
    assert emf_count(output, PUSH_PUBLISH_FAILURE) == 0
    assert emf_count(output, PUSH_PUBLISHED) == 0


def test_a_misconfigured_publisher_fails_no_record_and_counts_failures(
    runtime: Any,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("EVENTS_PUBLISH_URL", "ftp://example.com/event")
    push_notifications.reset_sender()
    try:
        response = stream_handler.handler(stream_event(modify("p1", 2)), context)
    finally:
        push_notifications.reset_sender()
    assert failures(response) == []
    assert "EVENTS_PUBLISH_URL must be an http(s) URL" in caplog.text
    assert "push notifications are misconfigured" in caplog.text
    assert emf_count(capsys.readouterr().out, PUSH_PUBLISH_FAILURE) == 2
