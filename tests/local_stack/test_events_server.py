"""The local AppSync Events server, driven by a real WebSocket client and real HTTP posts."""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from cache_constructs.product import push as product_push
from local_stack.events_server import EventsServer

PRODUCT_CHANNEL = product_push.product_channel("p1")
WAIT = 10.0  # upper bound for an expected message; never a pause


@pytest.fixture
def server() -> Iterator[EventsServer]:
    with EventsServer(keepalive_interval=3600) as events:
        yield events


def auth_subprotocol() -> str:
    header = json.dumps({"host": "example.appsync-api.us-east-1.amazonaws.com"}).encode()
    return "header-" + base64.urlsafe_b64encode(header).decode().rstrip("=")


@contextlib.contextmanager
def open_client(server: EventsServer) -> Iterator[ClientConnection]:
    """A connected, acknowledged client (connect -> connection_init -> connection_ack)."""
    with connect(server.ws_url, subprotocols=["aws-appsync-event-ws", auth_subprotocol()]) as c:
        c.send(json.dumps({"type": "connection_init"}))
        assert receive(c)["type"] == "connection_ack"
        yield c


def receive(client: ClientConnection) -> dict[str, Any]:
    return json.loads(client.recv(timeout=WAIT))


def subscribe(client: ClientConnection, channel: str, subscription_id: str) -> dict[str, Any]:
    client.send(
        json.dumps(
            {"type": "subscribe", "id": subscription_id, "channel": channel, "authorization": {}}
        )
    )
    return receive(client)


def post(server: EventsServer, body: Any, *, path: str = "/event") -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = server.publish_url.replace("/event", path)
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_handshake_selects_the_appsync_subprotocol(server):
    with connect(server.ws_url, subprotocols=["aws-appsync-event-ws", auth_subprotocol()]) as c:
        assert c.subprotocol == "aws-appsync-event-ws"


def test_a_client_without_the_subprotocol_is_refused(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url, subprotocols=["graphql-ws"])
    assert refused.value.response.status_code == 400


def test_only_the_realtime_path_upgrades(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url.replace("/event/realtime", "/graphql"))
    assert refused.value.response.status_code == 404


def test_connection_ack_announces_the_keepalive_timeout(server):
    with connect(server.ws_url, subprotocols=["aws-appsync-event-ws"]) as client:
        client.send(json.dumps({"type": "connection_init"}))
        assert receive(client) == {"type": "connection_ack", "connectionTimeoutMs": 300_000}


def test_keepalives_arrive_while_the_link_is_idle():
    with EventsServer(keepalive_interval=0.05) as events, open_client(events) as client:
        assert [receive(client)["type"] for _ in range(3)] == ["ka", "ka", "ka"]


def test_an_http_publish_reaches_the_subscriber_as_a_data_message(server):
    with open_client(server) as client:
        assert subscribe(client, PRODUCT_CHANNEL, "sub-1") == {
            "type": "subscribe_success",
            "id": "sub-1",
        }
        event = json.dumps({"type": "invalidate", "key": "product:p1", "version": 2, "at": "x"})
        status, body = post(server, {"channel": PRODUCT_CHANNEL, "events": [event]})
        assert status == 200
        assert body["failed"] == [] and body["successful"][0]["index"] == 0
        assert receive(client) == {"type": "data", "id": "sub-1", "event": event}


def test_the_stream_handler_s_publish_request_is_delivered_unchanged(server):
    """What the stream function sends (cache_constructs.product.push) is what a browser receives."""
    at = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    requests = product_push.publish_requests(
        product_id="p_1", categories=["home garden"], version=4, at=at
    )
    with open_client(server) as client:
        subscribe(client, requests[0].channel, "product")
        subscribe(client, requests[1].channel, "category")
        for request in requests:
            status, _ = post(server, request.to_json())
            assert status == 200
        first, second = receive(client), receive(client)
    assert (first["id"], json.loads(first["event"])["key"]) == ("product", "product:p_1")
    assert json.loads(first["event"])["version"] == 4
    assert second["id"] == "category"
    assert json.loads(second["event"])["key"] == "category:home garden"


def test_a_wildcard_subscription_matches_the_channels_below_it_only(server):
    with open_client(server) as client:
        subscribe(client, "/invalidations/product/*", "all-products")
        post(server, {"channel": "/invalidations/category/abc", "events": ['"category"']})
        post(server, {"channel": "/invalidations/product", "events": ['"parent"']})
        post(server, {"channel": PRODUCT_CHANNEL, "events": ['"child"']})
        # Messages arrive in publish order: the first one received is the child's.
        assert receive(client) == {"type": "data", "id": "all-products", "event": '"child"'}


def test_every_subscriber_of_a_channel_receives_the_event(server):
    with open_client(server) as first, open_client(server) as second:
        subscribe(first, PRODUCT_CHANNEL, "a")
        subscribe(second, PRODUCT_CHANNEL, "b")
        post(server, {"channel": PRODUCT_CHANNEL, "events": ["1", "2"]})
        assert [receive(first)["event"] for _ in range(2)] == ["1", "2"]
        assert [receive(second)["event"] for _ in range(2)] == ["1", "2"]
    assert server.stats.delivered_messages == 4


@pytest.mark.parametrize(
    ("channel", "subscription_id", "message"),
    [
        ("/invalidations/product/a_b", "s1", "segment"),
        ("/unknown/product/x", "s1", "namespace 'unknown'"),
        ("/invalidations/a/b/c/d/e", "s1", "at most 5"),
        (PRODUCT_CHANNEL, "has space", "id must match"),
        (42, "s1", "non-empty string"),
    ],
)
def test_a_bad_subscription_gets_subscribe_error(server, channel, subscription_id, message):
    with open_client(server) as client:
        reply = subscribe(client, channel, subscription_id)
    assert reply["type"] == "subscribe_error"
    assert reply["errors"][0]["errorType"] == "BadRequestException"
    assert message in reply["errors"][0]["message"]


def test_a_duplicate_subscription_id_is_refused(server):
    with open_client(server) as client:
        subscribe(client, PRODUCT_CHANNEL, "same")
        reply = subscribe(client, PRODUCT_CHANNEL, "same")
    assert reply["type"] == "subscribe_error" and reply["id"] == "same"


def test_unsubscribe_stops_delivery(server):
    other = product_push.product_channel("p2")
    with open_client(server) as client:
        subscribe(client, PRODUCT_CHANNEL, "gone")
        subscribe(client, other, "kept")
        client.send(json.dumps({"type": "unsubscribe", "id": "gone"}))
        assert receive(client) == {"type": "unsubscribe_success", "id": "gone"}
        post(server, {"channel": PRODUCT_CHANNEL, "events": ['"not delivered"']})
        post(server, {"channel": other, "events": ['"delivered"']})
        assert receive(client) == {"type": "data", "id": "kept", "event": '"delivered"'}
        client.send(json.dumps({"type": "unsubscribe", "id": "gone"}))
        assert receive(client)["type"] == "unsubscribe_error"


def test_a_closed_connection_loses_its_subscriptions(server):
    with open_client(server) as client:
        subscribe(client, PRODUCT_CHANNEL, "s")
    with open_client(server) as witness:
        subscribe(witness, PRODUCT_CHANNEL, "w")
        post(server, {"channel": PRODUCT_CHANNEL, "events": ['"x"']})
        assert receive(witness)["id"] == "w"
    assert server.stats.delivered_messages == 1


def test_publish_over_the_socket_is_acknowledged_and_delivered(server):
    with open_client(server) as client:
        subscribe(client, PRODUCT_CHANNEL, "s")
        client.send(
            json.dumps(
                {"type": "publish", "id": "pub", "channel": PRODUCT_CHANNEL, "events": ['{"a":1}']}
            )
        )
        replies = [receive(client), receive(client)]
    kinds = sorted(reply["type"] for reply in replies)
    assert kinds == ["data", "publish_success"]


def test_unknown_and_malformed_messages_get_an_error_and_keep_the_link(server):
    with open_client(server) as client:
        client.send("not json")
        assert receive(client)["type"] == "error"
        client.send(json.dumps({"type": "start", "id": "x"}))
        assert receive(client)["errors"][0]["errorType"] == "UnsupportedOperation"
        assert subscribe(client, PRODUCT_CHANNEL, "still-works")["type"] == "subscribe_success"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        ([1], "must be an object"),
        ({"channel": "/invalidations/product/*", "events": ["1"]}, "subscriptions only"),
        ({"channel": PRODUCT_CHANNEL, "events": ["1"] * 6}, "1-5"),
        ({"channel": PRODUCT_CHANNEL, "events": []}, "1-5"),
        ({"channel": PRODUCT_CHANNEL, "events": ["{oops"]}, "events[0] is not valid JSON"),
        ({"channel": PRODUCT_CHANNEL, "events": [{"a": 1}]}, "events[0] must be a string"),
        ({"events": ["1"]}, "channel"),
        ({"channel": "/nope/x", "events": ["1"]}, "namespace 'nope'"),
    ],
)
def test_a_bad_http_publish_is_a_400_naming_the_problem(server, body, message):
    status, reply = post(server, body)
    assert status == 400
    assert message in reply["errors"][0]["message"]
    assert server.stats.published_events == 0


def test_other_http_paths_and_methods_are_refused(server):
    assert post(server, {"channel": PRODUCT_CHANNEL, "events": ["1"]}, path="/other")[0] == 404
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.publish_url, timeout=WAIT)
    assert refused.value.code == 405


def test_stop_closes_open_connections():
    events = EventsServer(keepalive_interval=3600)
    events.start()
    with open_client(events) as client:
        events.stop()
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=WAIT)


def test_ports_are_free_loopback_ports_and_distinct():
    with EventsServer() as first, EventsServer() as second:
        ports = {first.ws_port, first.http_port, second.ws_port, second.http_port}
        assert len(ports) == 4
        assert first.ws_url.startswith("ws://127.0.0.1:")
        assert first.publish_url.startswith("http://127.0.0.1:")


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="keepalive_interval"):
        EventsServer(keepalive_interval=0)
    with pytest.raises(ValueError, match="segment"):
        EventsServer(namespaces=["bad_ns"])
