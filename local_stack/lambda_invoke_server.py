"""A local stand-in for Lambda's Invoke API, asynchronous invocations only (`make local`).

The stream function hands each change's publish requests to the push publisher function with
an asynchronous invoke (`cache_constructs.runtime.push_handover`), the same code path as on
AWS: boto3's Lambda client, pointed here by `AWS_ENDPOINT_URL_LAMBDA`.

- `POST /2015-03-31/functions/<name or ARN>/invocations` with `X-Amz-Invocation-Type: Event`
  and a JSON payload: 202 with an empty body, and the event is queued for that function, as
  Lambda queues it;
- one worker thread runs the queued events in arrival order (Lambda does not promise an order;
  keeping one makes the local stack easy to reason about);
- a function that fails is logged and counted, not retried (Lambda would retry it after a
  minute or two, within the function's async invoke config);
- an unknown function: 404 `ResourceNotFoundException`; another invocation type, a payload
  that is not a JSON object: 400 `InvalidParameterValueException` / `InvalidRequestContentException`
  (the error code in `x-amzn-ErrorType`, as botocore reads it).

Requests are not authenticated: keep it on loopback.
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

log = logging.getLogger("local_stack.lambda_invoke")

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024
"""Lambda's limit for an asynchronous invocation's payload."""
_STOP = object()

Function = Callable[[dict[str, Any]], Any]
"""What runs a queued event: the function's handler (a worker's `invoke`)."""
Observer = Callable[[str, dict[str, Any]], None]


@dataclass
class InvokeStats:
    """Counters a test (or a curious developer) can read."""

    accepted: int = 0
    succeeded: int = 0
    failed: int = 0


def function_name(path_name: str) -> str:
    """The function name of an Invoke path segment: a name, or an ARN (qualifier dropped)."""
    name = unquote(path_name)
    if name.startswith("arn:"):
        name = name.split(":function:", 1)[-1]
    return name.split(":", 1)[0]


class LambdaInvokeServer:
    """Lambda's asynchronous Invoke API on a loopback port, for the functions given.

    :param functions: function name -> what runs its events.
    :param on_received: called with (name, event) when an invocation arrives, before the
        202 (tests use it to look at the state the caller left behind at that moment).
    """

    def __init__(
        self,
        functions: Mapping[str, Function],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_received: Observer | None = None,
    ) -> None:
        self.functions = dict(functions)
        self.host = host
        self.on_received = on_received
        self.stats = InvokeStats()
        self._requested_port = port
        self._queue: queue.Queue[Any] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._http: _InvokeHttpServer | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._http = _InvokeHttpServer(self, (self.host, self._requested_port))
        for name, target in (
            ("lambda-invoke-http", functools.partial(self._http.serve_forever, 0.05)),
            ("lambda-invoke-worker", self._run_events),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("lambda invoke API: %s (%s)", self.url, ", ".join(sorted(self.functions)))

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(2.0)
        self._threads.clear()

    def __enter__(self) -> LambdaInvokeServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """What `AWS_ENDPOINT_URL_LAMBDA` is set to."""
        assert self._http is not None, "start() first"
        return f"http://{self.host}:{self._http.server_address[1]}"

    def register(self, name: str, function: Function) -> None:
        """Let events for `name` run on `function` (a function known only after start)."""
        self.functions[name] = function

    def wait_idle(self, timeout: float) -> bool:
        """Block until every accepted event has run (True), or `timeout` passed (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def accept(self, name: str, event: dict[str, Any]) -> None:
        """Queue `event` for function `name` (the HTTP handler's 202 path)."""
        if self.on_received is not None:
            self.on_received(name, event)
        with self._idle:
            self._pending += 1
            self.stats.accepted += 1
        self._queue.put((name, event))

    def _run_events(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            name, event = item
            try:
                self.functions[name](event)
            except Exception as exc:
                self.stats.failed += 1
                log.warning("async invocation of %s failed (not retried locally): %s", name, exc)
            else:
                self.stats.succeeded += 1
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()


class _InvokeHandler(BaseHTTPRequestHandler):
    server: _InvokeHttpServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        # Read the payload first, whatever the answer: on a kept-alive connection an unread
        # body would be taken for the next request.
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_ASYNC_PAYLOAD_BYTES:
            self.close_connection = True
            self._error(413, "RequestTooLargeException", "payload larger than 1 MB")
            return
        payload = self.rfile.read(length)
        match = INVOKE_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._error(404, "UnknownOperationException", f"no such operation: {self.path}")
            return
        name = function_name(match["name"])
        stand_in = self.server.stand_in
        if name not in stand_in.functions:
            self._error(404, "ResourceNotFoundException", f"Function not found: {name}")
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type != "Event":
            self._error(
                400,
                "InvalidParameterValueException",
                f"only Event (asynchronous) invocations run locally; got {invocation_type}",
            )
            return
        try:
            event = json.loads(payload or b"{}")
        except ValueError:
            event = None
        if not isinstance(event, dict):
            self._error(400, "InvalidRequestContentException", "payload must be a JSON object")
            return
        stand_in.accept(name, event)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"Type": "User", "message": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class _InvokeHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stand_in: LambdaInvokeServer, address: tuple[str, int]) -> None:
        super().__init__(address, _InvokeHandler)
        self.stand_in = stand_in
