"""The storefront's origin, locally: what CloudFront in front of S3 (and the API) would serve.

- `/`, `/index.html`: the HTML with hashed asset names, `no-cache` + a strong ETag (a
  matching If-None-Match gets a 304);
- `/<name>.<hash>.js|css`: `public, max-age=31536000, immutable`;
- `/sw.js`, `/asset-manifest.json`: `no-cache` + ETag (stable names the page and worker ask for);
- `/config.json`: this environment's settings (`api_url`, `events_url`, `categories`),
  generated at run time, so one build serves every environment;
- `/products` and below: forwarded to the API, so the page talks to its own origin (no CORS
  preflight for If-None-Match/If-Match, and Resource Timing can see transfer sizes). On AWS the
  same shape is a CloudFront behaviour for `/products*` with the API as its origin.

Every answer carries the security headers the CDN's response headers policy will send: a CSP
allowing only this origin and the events origin (plus the import map's hash), nosniff, frame
denial, no referrer.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local_stack.web_assets import (
    CONFIG,
    HTML,
    WebAssets,
    WebObject,
    content_security_policy,
)

log = logging.getLogger("local_stack.web")

API_PREFIX = "/products"
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
MAX_FORWARDED_BODY = 10 * 1024 * 1024


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class WebServer(ThreadingHTTPServer):
    """Serves a `WebAssets` build and forwards API paths to `api_url`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        assets: WebAssets,
        *,
        api_url: str,
        events_url: str | None,
        categories: Sequence[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        cache_version: str = "1",
    ) -> None:
        self.api = urlsplit(api_url)
        if self.api.scheme != "http" or not self.api.hostname:
            raise ValueError(f"api_url must be an http:// URL; got {api_url!r}")
        super().__init__((host, port), _WebHandler)
        self.host = host
        self.events_url = events_url
        objects = {obj.name: obj for obj in assets.objects()}
        objects[""] = objects[HTML]
        config = {
            "api_url": self.url,
            "events_url": events_url,
            "categories": list(categories),
            "cache_version": cache_version,
        }
        objects[CONFIG] = WebObject(
            CONFIG, (json.dumps(config, indent=2) + "\n").encode(), "application/json", "no-cache"
        )
        self.objects = objects
        self.content_security_policy = content_security_policy(
            assets, connect_sources=[_origin(events_url)] if events_url else []
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server_address[1]}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="web", daemon=True
        )
        self._thread.start()
        log.info("storefront at %s (API %s)", self.url, self.api.geturl())

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(2.0)
            self._thread = None
        self.server_close()

    def __enter__(self) -> WebServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class _WebHandler(BaseHTTPRequestHandler):
    server: WebServer
    protocol_version = "HTTP/1.1"

    def _route(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            self._forward()
            return
        if self.command not in ("GET", "HEAD"):
            self._plain(405, "static files are GET only", [("Allow", "GET, HEAD")])
            return
        found = self.server.objects.get(path.lstrip("/"))
        if found is None:
            self._plain(404, f"no file at {path[:200]}")
            return
        headers = [
            ("Content-Type", found.content_type),
            ("Cache-Control", found.cache_control),
            ("ETag", found.etag),
        ]
        if found.etag in [tag.strip() for tag in self.headers.get("If-None-Match", "").split(",")]:
            self._send(304, headers, b"")
            return
        self._send(200, headers, found.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _route

    def _forward(self) -> None:
        """The API's answer, byte for byte (status, headers, body), or a 502."""
        length = int(self.headers.get("Content-Length", "0") or "0")
        if not 0 <= length <= MAX_FORWARDED_BODY:
            self._plain(413, "body too large")
            return
        body = self.rfile.read(length) if length else None
        api = self.server.api
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        connection = http.client.HTTPConnection(api.hostname or "", api.port or 80, timeout=30)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            forwarded = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            self._send(response.status, forwarded, payload)
        except OSError as exc:
            log.warning("API at %s unreachable: %s", api.netloc, exc)
            error = {"error": "bad_gateway", "message": "the API is unreachable"}
            self._send(502, [("Content-Type", "application/json")], json.dumps(error).encode())
        finally:
            connection.close()

    def _plain(self, status: int, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
        self._send(status, headers + (extra or []), (text + "\n").encode())

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Security-Policy", self.server.content_security_policy)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)
