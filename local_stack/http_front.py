"""The HTTP front: API Gateway's part, locally. Routes requests to the function workers.

Routes come from `cache_constructs.product.routes` (the table the CDK API is built from). Per
request the front matches the route, applies what API Gateway checks before a function runs
(required query parameters, payload size), builds the REST proxy event, invokes the route's
worker and writes the proxy result back. A function error is the 502 API Gateway answers with.
One line per request goes to the terminal and to `<state_dir>/api.log`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cache_constructs.product.routes import PRODUCT_ROUTES, ProductRoute
from local_stack.apigw_events import (
    HttpRequest,
    HttpResponse,
    MalformedProxyResponse,
    build_proxy_event,
    gateway_response,
    path_segments,
    proxy_response,
)
from local_stack.lambda_worker import InvocationError

API_GATEWAY_MAX_PAYLOAD = 10 * 1024 * 1024
"""API Gateway refuses larger request bodies itself (413) before any function runs."""

Invoker = Callable[[str, dict[str, Any], str], Any]
"""(function name, event, request id) -> the function's result."""

access_log = logging.getLogger("local_stack.access")


@dataclass(frozen=True)
class RouteMatch:
    route: ProductRoute
    path_parameters: dict[str, str]


def match_route(
    routes: tuple[ProductRoute, ...], method: str, raw_path: str
) -> RouteMatch | list[str] | None:
    """The route for `method` + path; else the methods the path allows; else None (no such path)."""
    segments = path_segments(raw_path)
    allowed: list[str] = []
    for route in routes:
        template = path_segments(route.path)
        if len(template) != len(segments):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(template, segments, strict=True):
            if expected.startswith("{") and expected.endswith("}"):
                params[expected[1:-1]] = actual
            elif expected != actual:
                break
        else:
            if route.method == method:
                return RouteMatch(route, params)
            allowed.append(route.method)
    return sorted(set(allowed)) or None


class ApiFront:
    """Turns HTTP requests into proxy events for the function named by each route."""

    def __init__(
        self,
        invoke: Invoker,
        *,
        stage: str = "local",
        routes: tuple[ProductRoute, ...] = PRODUCT_ROUTES,
    ) -> None:
        self.invoke = invoke
        self.stage = stage
        self.routes = routes

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        found = match_route(self.routes, request.method, request.raw_path)
        if found is None:
            return self._error(404, "not_found", f"no resource at {request.raw_path}", request_id)
        if isinstance(found, list):
            return self._error(
                405,
                "method_not_allowed",
                f"method {request.method} is not allowed here; allowed: {', '.join(found)}",
                request_id,
                extra_headers=[("Allow", ", ".join(found))],
            )
        event = build_proxy_event(
            request,
            resource=found.route.path,
            path_parameters=found.path_parameters,
            stage=self.stage,
            request_id=request_id,
        )
        missing = _missing_required(found.route, event.get("queryStringParameters") or {})
        if missing:
            # API Gateway's request validator answers before the function is invoked.
            return self._error(
                400,
                "bad_request",
                f"Missing required request parameters: [{', '.join(missing)}]",
                request_id,
            )
        try:
            result = self.invoke(found.route.function, event, request_id)
            response = proxy_response(result)
        except (InvocationError, MalformedProxyResponse) as exc:
            logging.getLogger("local_stack.front").error(
                "%s %s: function %s failed: %s",
                request.method,
                request.raw_path,
                found.route.function,
                exc,
            )
            response = gateway_response(502, {"message": "Internal server error"})
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _error(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str,
        *,
        extra_headers: list[tuple[str, str]] | None = None,
    ) -> HttpResponse:
        headers = [("x-amzn-RequestId", request_id), *(extra_headers or [])]
        return gateway_response(status, {"error": code, "message": message}, extra_headers=headers)


def _missing_required(route: ProductRoute, query: Mapping[str, str]) -> list[str]:
    return [q.name for q in route.query_params if q.required and q.name not in query]


class _BodyTooLarge(Exception):
    """The request body is larger than API Gateway accepts."""


class _RequestHandler(BaseHTTPRequestHandler):
    """http.server glue: read the request, ask the ApiFront, write the response."""

    server: FrontServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        started = time.perf_counter()
        raw_path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
        except _BodyTooLarge:
            # API Gateway refuses it before any function runs; the rest is not read.
            self.close_connection = True
            response = gateway_response(
                413, {"error": "payload_too_large", "message": "body exceeds 10 MB"}
            )
        except ValueError as exc:
            self.close_connection = True
            response = gateway_response(400, {"error": "bad_request", "message": str(exc)})
        else:
            request = HttpRequest(
                method=self.command,
                raw_path=raw_path,
                query=query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                host=self.headers.get("Host", "localhost").split(":")[0],
                port=self.server.server_port,
            )
            response = self.server.front.handle(request)
        self.send_response_only(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        elapsed_ms = (time.perf_counter() - started) * 1000
        access_log.info(
            "%s %s %d %s %.1fms",
            self.command,
            self.path,
            response.status,
            response.header("X-Cache") or "-",
            elapsed_ms,
        )

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(length_header)
        except ValueError:
            raise ValueError("Content-Length is not a number") from None
        if length < 0:
            raise ValueError("Content-Length is negative")
        if length > API_GATEWAY_MAX_PAYLOAD:
            self._discard(length)  # so the client reads the 413 instead of a broken pipe
            raise _BodyTooLarge
        return self.rfile.read(length)

    def _discard(self, length: int) -> None:
        """Read and drop up to `length` bytes (at most 64 MiB; beyond, the socket closes)."""
        remaining = min(length, 64 * 1024 * 1024)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1024 * 1024))
            if not chunk:
                return
            remaining -= len(chunk)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ValueError("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > API_GATEWAY_MAX_PAYLOAD:
                raise _BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logging.getLogger("local_stack.front").debug(format, *args)


class FrontServer(ThreadingHTTPServer):
    """The listening socket; one thread per connection, all daemons."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, front: ApiFront, *, host: str, port: int) -> None:
        super().__init__((host, port), _RequestHandler)
        self.front = front
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="http-front", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(2.0)
        self.server_close()
