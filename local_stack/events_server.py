"""A local stand-in for an AWS AppSync Events API: the real-time WebSocket and `POST /event`.

It speaks the protocol browsers use against AppSync Events (docs/client.md, "The push
channel"), so the storefront's client connects to it unchanged:

- WebSocket at `ws://<host>:<port>/event/realtime`, subprotocol `aws-appsync-event-ws` (an
  `header-<base64url JSON>` authorization subprotocol may be offered too; it is not checked
  here: there is no authorization locally, keep it on loopback);
- client `connection_init` -> `connection_ack` with `connectionTimeoutMs`; `ka` keep-alives;
- `subscribe` {id, channel, authorization} -> `subscribe_success` {id} or `subscribe_error`
  {id, errors}; `unsubscribe` {id} -> `unsubscribe_success` / `unsubscribe_error`;
  `publish` {id, channel, events} -> `publish_success` {id, successful, failed};
- each published event reaches each matching subscription as `data` {id, event: <string>};
  a subscription ending in `/*` matches every channel below it;
- HTTP `POST /event` {channel, events: [JSON strings]} on a second port ->
  `{"successful": [{"identifier", "index"}], "failed": []}`, or 400 `{"errors": [...]}`;
  with an `authorize_publish` check (tests: a SigV4 verifier) a request it refuses gets 401
  `UnauthorizedException`, as AppSync answers an unsigned or badly signed publish.

Threads, not asyncio: the websockets library's sync server runs one thread per connection
(like the rest of local_stack), and a publish sends to each subscriber from the publishing
thread (the library serialises sends per connection).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from cache_constructs.contract.push import (
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_PUBLISH,
    NAMESPACE,
    channel_segments,
)

log = logging.getLogger("local_stack.events")

SUBPROTOCOL = Subprotocol("aws-appsync-event-ws")
REALTIME_PATH = "/event/realtime"
PUBLISH_PATH = "/event"
CONNECTION_TIMEOUT_MS = 300_000
"""What AppSync announces in connection_ack: close the link after this long without a `ka`."""
MAX_PUBLISH_BODY_BYTES = MAX_EVENTS_PER_PUBLISH * MAX_EVENT_BYTES + 4096
_SUBSCRIPTION_ID = re.compile(r"[A-Za-z0-9_+-]{1,128}")


def _error(error_type: str, message: str) -> list[dict[str, str]]:
    return [{"errorType": error_type, "message": message}]


class PublishError(ValueError):
    """A publish the API refuses (bad channel, bad events, unknown namespace)."""


@dataclass(frozen=True)
class _Subscription:
    session: _Session
    subscription_id: str
    segments: tuple[str, ...]

    def matches(self, channel: Sequence[str]) -> bool:
        if self.segments[-1] == "*":
            prefix = self.segments[:-1]
            return len(channel) > len(prefix) and tuple(channel[: len(prefix)]) == prefix
        return tuple(channel) == self.segments


class _Session:
    """One WebSocket connection and the subscriptions it holds."""

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self.subscriptions: dict[str, _Subscription] = {}

    def send(self, message: dict[str, Any]) -> bool:
        """Send one JSON message; False when the connection is gone."""
        try:
            self.connection.send(json.dumps(message, separators=(",", ":")))
        except ConnectionClosed:
            return False
        return True


PublishAuthorizer = Callable[[str, Mapping[str, str], bytes], bool]
"""(URL, headers, body) of an HTTP publish -> whether it is authorized."""


@dataclass
class EventsStats:
    """Counters a test (or a curious developer) can read."""

    connections: int = 0
    subscriptions: int = 0
    published_events: int = 0
    delivered_messages: int = 0


class EventsServer:
    """The WebSocket endpoint and the HTTP publish endpoint, each on its own loopback port.

    `start()` binds both (port 0: a free one) and serves in background threads; `stop()`
    closes every connection and both sockets.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ws_port: int = 0,
        http_port: int = 0,
        namespaces: Sequence[str] = (NAMESPACE,),
        keepalive_interval: float = 60.0,
        connection_timeout_ms: int = CONNECTION_TIMEOUT_MS,
        authorize_publish: PublishAuthorizer | None = None,
    ) -> None:
        if keepalive_interval <= 0:
            raise ValueError(f"keepalive_interval must be > 0; got {keepalive_interval}")
        for namespace in namespaces:
            channel_segments(f"/{namespace}", allow_wildcard=False)
        self.host = host
        self.namespaces = frozenset(namespaces)
        self.keepalive_interval = keepalive_interval
        self.connection_timeout_ms = connection_timeout_ms
        #: Decides whether an HTTP publish is authorized (None: every one is, as locally).
        self.authorize_publish = authorize_publish
        self.stats = EventsStats()
        self._requested_ports = (ws_port, http_port)
        self._lock = threading.Lock()
        self._sessions: set[_Session] = set()
        self._subscriptions: list[_Subscription] = []
        self._ws_server: Server | None = None
        self._http_server: _PublishHttpServer | None = None
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        ws_port, http_port = self._requested_ports
        self._ws_server = serve(
            self._serve_connection,
            self.host,
            ws_port,
            process_request=self._check_handshake,
            select_subprotocol=_select_subprotocol,
            compression=None,
            # The protocol's own `ka` messages keep the link alive; no WebSocket pings.
            ping_interval=None,
            # stop() closes every connection: a peer that does not answer the close must not
            # hold the stack's 5-second shutdown.
            close_timeout=0.5,
        )
        self._http_server = _PublishHttpServer(self, (self.host, http_port))
        for name, target in (
            ("events-ws", self._ws_server.serve_forever),
            ("events-http", functools.partial(self._http_server.serve_forever, 0.05)),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("events server: %s (publish %s)", self.ws_url, self.publish_url)

    def stop(self) -> None:
        if self._ws_server is not None:
            self._ws_server.shutdown()  # closes every open connection too
            self._ws_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server = None
        for thread in self._threads:
            thread.join(2.0)
        self._threads.clear()

    def __enter__(self) -> EventsServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def ws_port(self) -> int:
        assert self._ws_server is not None, "start() first"
        return int(self._ws_server.socket.getsockname()[1])

    @property
    def http_port(self) -> int:
        assert self._http_server is not None, "start() first"
        return int(self._http_server.server_address[1])

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}{REALTIME_PATH}"

    @property
    def publish_url(self) -> str:
        return f"http://{self.host}:{self.http_port}{PUBLISH_PATH}"

    # --- publishing -----------------------------------------------------------------------

    def publish(self, channel: object, events: object) -> list[dict[str, Any]]:
        """Deliver `events` to every matching subscription; the `successful` list.

        Raises PublishError (nothing is delivered) when the channel or any event is invalid.
        """
        segments = self._checked_channel(channel, allow_wildcard=False)
        if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS_PER_PUBLISH:
            raise PublishError(f"events must be a list of 1-{MAX_EVENTS_PER_PUBLISH} strings")
        for index, event in enumerate(events):
            if not isinstance(event, str):
                raise PublishError(f"events[{index}] must be a string holding JSON")
            if len(event.encode("utf-8")) > MAX_EVENT_BYTES:
                raise PublishError(f"events[{index}] is larger than {MAX_EVENT_BYTES} bytes")
            try:
                json.loads(event)
            except ValueError:
                raise PublishError(f"events[{index}] is not valid JSON") from None
        with self._lock:
            targets = [sub for sub in self._subscriptions if sub.matches(segments)]
            self.stats.published_events += len(events)
        delivered = 0
        for subscription in targets:
            for event in events:
                message = {"type": "data", "id": subscription.subscription_id, "event": event}
                if subscription.session.send(message):
                    delivered += 1
        with self._lock:
            self.stats.delivered_messages += delivered
        log.info("published %d event(s) to %s: %d delivery(ies)", len(events), channel, delivered)
        return [{"identifier": str(uuid.uuid4()), "index": i} for i in range(len(events))]

    def _checked_channel(self, channel: object, *, allow_wildcard: bool) -> tuple[str, ...]:
        try:
            segments = channel_segments(channel, allow_wildcard=allow_wildcard)  # type: ignore[arg-type]
        except ValueError as exc:
            raise PublishError(str(exc)) from None
        if segments[0] not in self.namespaces:
            raise PublishError(f"namespace {segments[0]!r} is not defined on this API")
        return tuple(segments)

    # --- WebSocket ------------------------------------------------------------------------

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] != REALTIME_PATH:
            text = f"no WebSocket endpoint at {request.path[:100]}\n"
            return connection.respond(HTTPStatus.NOT_FOUND, text)
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        if SUBPROTOCOL not in [p.strip() for p in offered.split(",")]:
            text = f"the {SUBPROTOCOL} subprotocol is required\n"
            return connection.respond(HTTPStatus.BAD_REQUEST, text)
        return None

    def _serve_connection(self, connection: ServerConnection) -> None:
        session = _Session(connection)
        with self._lock:
            self._sessions.add(session)
            self.stats.connections += 1
        next_keepalive = time.monotonic() + self.keepalive_interval
        try:
            while True:
                try:
                    raw = connection.recv(timeout=max(0.0, next_keepalive - time.monotonic()))
                except TimeoutError:
                    session.send({"type": "ka"})
                    next_keepalive = time.monotonic() + self.keepalive_interval
                    continue
                self._handle(session, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._sessions.discard(session)
                self._subscriptions = [s for s in self._subscriptions if s.session is not session]

    def _handle(self, session: _Session, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            session.send({"type": "error", "errors": _error("BadRequestException", "not JSON")})
            return
        kind = message.get("type")
        if kind == "connection_init":
            session.send(
                {"type": "connection_ack", "connectionTimeoutMs": self.connection_timeout_ms}
            )
        elif kind == "subscribe":
            self._subscribe(session, message)
        elif kind == "unsubscribe":
            self._unsubscribe(session, message)
        elif kind == "publish":
            self._publish_from_socket(session, message)
        else:
            session.send(
                {
                    "type": "error",
                    "id": message.get("id"),
                    "errors": _error("UnsupportedOperation", f"unknown type {str(kind)[:40]!r}"),
                }
            )

    def _subscribe(self, session: _Session, message: dict[str, Any]) -> None:
        subscription_id = message.get("id")
        if not isinstance(subscription_id, str) or not _SUBSCRIPTION_ID.fullmatch(subscription_id):
            session.send(
                {
                    "type": "subscribe_error",
                    "id": subscription_id if isinstance(subscription_id, str) else None,
                    "errors": _error("BadRequestException", "id must match [A-Za-z0-9_+-]{1,128}"),
                }
            )
            return
        try:
            segments = self._checked_channel(message.get("channel"), allow_wildcard=True)
        except PublishError as exc:
            session.send(
                {
                    "type": "subscribe_error",
                    "id": subscription_id,
                    "errors": _error("BadRequestException", str(exc)),
                }
            )
            return
        with self._lock:
            if subscription_id in session.subscriptions:
                duplicate = True
            else:
                duplicate = False
                subscription = _Subscription(session, subscription_id, segments)
                session.subscriptions[subscription_id] = subscription
                self._subscriptions.append(subscription)
                self.stats.subscriptions += 1
        if duplicate:
            session.send(
                {
                    "type": "subscribe_error",
                    "id": subscription_id,
                    "errors": _error("BadRequestException", "id is already subscribed"),
                }
            )
        else:
            session.send({"type": "subscribe_success", "id": subscription_id})

    def _unsubscribe(self, session: _Session, message: dict[str, Any]) -> None:
        subscription_id = message.get("id")
        with self._lock:
            subscription = (
                session.subscriptions.pop(subscription_id, None)
                if isinstance(subscription_id, str)
                else None
            )
            if subscription is not None:
                self._subscriptions.remove(subscription)
        if subscription is None:
            session.send(
                {
                    "type": "unsubscribe_error",
                    "id": subscription_id if isinstance(subscription_id, str) else None,
                    "errors": _error("UnknownOperationError", "no subscription with this id"),
                }
            )
        else:
            session.send({"type": "unsubscribe_success", "id": subscription_id})

    def _publish_from_socket(self, session: _Session, message: dict[str, Any]) -> None:
        try:
            successful = self.publish(message.get("channel"), message.get("events"))
        except PublishError as exc:
            session.send(
                {
                    "type": "publish_error",
                    "id": message.get("id"),
                    "errors": _error("BadRequestException", str(exc)),
                }
            )
            return
        session.send(
            {
                "type": "publish_success",
                "id": message.get("id"),
                "successful": successful,
                "failed": [],
            }
        )


def _select_subprotocol(_: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    return SUBPROTOCOL if SUBPROTOCOL in offered else None


class _PublishHandler(BaseHTTPRequestHandler):
    server: _PublishHttpServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != PUBLISH_PATH:
            self._reply(404, {"errors": _error("NotFoundException", "POST /event only")})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_PUBLISH_BODY_BYTES:
            self.close_connection = True
            self._reply(400, {"errors": _error("BadRequestException", "bad Content-Length")})
            return
        raw = self.rfile.read(length)
        authorize = self.server.events.authorize_publish
        url = f"http://{self.headers.get('Host', '')}{self.path}"
        if authorize is not None and not authorize(url, dict(self.headers.items()), raw):
            self._reply(401, {"errors": _error("UnauthorizedException", "not authorized")})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._reply(400, {"errors": _error("BadRequestException", "body is not JSON")})
            return
        if not isinstance(body, dict):
            self._reply(400, {"errors": _error("BadRequestException", "body must be an object")})
            return
        try:
            successful = self.server.events.publish(body.get("channel"), body.get("events"))
        except PublishError as exc:
            self._reply(400, {"errors": _error("BadRequestException", str(exc))})
            return
        self._reply(200, {"successful": successful, "failed": []})

    def do_GET(self) -> None:
        self._reply(405, {"errors": _error("MethodNotAllowed", "POST /event only")})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class _PublishHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, events: EventsServer, address: tuple[str, int]) -> None:
        super().__init__(address, _PublishHandler)
        self.events = events
