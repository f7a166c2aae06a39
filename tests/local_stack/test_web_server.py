"""The storefront's local origin: caching headers, config.json, the API forwarded as is."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local_stack.processes import free_port
from local_stack.web_assets import IMMUTABLE, build_web_assets
from local_stack.web_server import WebServer

WEB = Path(__file__).resolve().parents[2] / "web"
EVENTS_URL = "ws://127.0.0.1:4510/event/realtime"


class _Api(BaseHTTPRequestHandler):
    """Stands in for the API front: records requests, answers like the product API."""

    server: Any
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers), body))
        if self.headers.get("If-None-Match") == '"abc"':
            self.send_response(304)
            self.send_header("ETag", '"abc"')
            self.end_headers()
            return
        payload = json.dumps({"method": self.command}).encode()
        self.send_response(412 if self.headers.get("If-Match") == '"stale"' else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", '"abc"')
        self.send_header("X-Cache", "HIT-L1")
        self.send_header("Cache-Control", "public, max-age=60, stale-while-revalidate=300")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = _answer

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def web(api: ThreadingHTTPServer) -> Iterator[WebServer]:
    assets = build_web_assets(WEB)
    api_url = f"http://127.0.0.1:{api.server_address[1]}"
    with WebServer(assets, api_url=api_url, events_url=EVENTS_URL, categories=["books"]) as server:
        yield server


def request(
    server: WebServer, method: str, path: str, headers: dict[str, str] | None = None, body=None
) -> http.client.HTTPResponse:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def body_of(server: WebServer, path: str) -> bytes:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", path)
    data = connection.getresponse().read()
    connection.close()
    return data


def test_the_html_is_revalidated_by_etag(web):
    first = request(web, "GET", "/")
    assert first.status == 200
    assert first.headers["Cache-Control"] == "no-cache"
    assert first.headers["Content-Type"].startswith("text/html")
    again = request(web, "GET", "/index.html", {"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    assert request(web, "GET", "/", {"If-None-Match": '"other"'}).status == 200


def test_hashed_assets_are_immutable(web):
    assets = build_web_assets(WEB)
    name = assets.hashed_names["cache-client.js"]
    response = request(web, "GET", f"/{name}")
    assert response.status == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert request(web, "GET", "/cache-client.js").status == 404  # only the hashed name exists


def test_config_json_carries_this_environment(web):
    config = json.loads(body_of(web, "/config.json"))
    assert config == {
        "api_url": web.url,
        "events_url": EVENTS_URL,
        "categories": ["books"],
        "cache_version": "1",
    }
    assert request(web, "GET", "/config.json").headers["Cache-Control"] == "no-cache"


def test_security_headers_allow_this_origin_and_the_events_origin_only(web):
    headers = request(web, "GET", "/").headers
    csp = headers["Content-Security-Policy"]
    assert "connect-src 'self' ws://127.0.0.1:4510;" in csp
    assert "frame-ancestors 'none'" in csp
    for source in build_web_assets(WEB).inline_script_hashes:
        assert source in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_api_paths_are_forwarded_with_their_conditional_headers(web, api):
    response = request(web, "GET", "/products/p1?x=1", {"If-None-Match": '"abc"'})
    assert response.status == 304
    assert response.headers["ETag"] == '"abc"'
    method, path, headers, _ = api.seen[-1]
    assert (method, path, headers["If-None-Match"]) == ("GET", "/products/p1?x=1", '"abc"')

    response = request(web, "GET", "/products?category=books")
    assert response.status == 200
    assert response.headers["X-Cache"] == "HIT-L1"
    assert response.headers["Cache-Control"].startswith("public, max-age=60")

    body = json.dumps({"price": 2}).encode()
    put = request(
        web,
        "PUT",
        "/products/p1",
        {"If-Match": '"stale"', "Content-Type": "application/json", "Content-Length": "12"},
        body,
    )
    assert put.status == 412
    assert api.seen[-1][0] == "PUT" and api.seen[-1][3] == body


def test_an_unreachable_api_is_a_502(api):
    dead = f"http://127.0.0.1:{free_port()}"
    with WebServer(build_web_assets(WEB), api_url=dead, events_url=None) as server:
        response = request(server, "GET", "/products/p1")
        assert response.status == 502
        csp = request(server, "GET", "/").headers["Content-Security-Policy"]
        assert "connect-src 'self';" in csp


def test_unknown_files_and_writes_to_static_files_are_refused(web):
    assert request(web, "GET", "/nope.txt").status == 404
    assert request(web, "POST", "/index.html").status == 405


def test_a_non_http_api_url_is_refused():
    with pytest.raises(ValueError, match="api_url"):
        WebServer(build_web_assets(WEB), api_url="ftp://x", events_url=None)
