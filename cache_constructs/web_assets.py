"""The storefront's files with content-hashed names: what the local server and a CDN serve.

Pure Python, no CDK (the StaticSite construct builds with it at synth time, the local web
server at start): `build_web_assets(web_dir)` reads `web/`, names every script and
stylesheet `<stem>.<first 12 hex digits of its SHA-256>.<ext>` and rewrites `index.html` to
point at those names. ES modules import each other by their plain names (`./cache-client.js`,
no build step), so the HTML also gets an import map from plain to hashed names: a module's
bytes never change for hashing, and a changed dependency changes only the map in the HTML.

What a server does with the result (`WebAssets.objects()` says it per file): hashed files
`public, max-age=31536000, immutable`; the HTML, the service worker and the asset manifest
`no-cache` (revalidated by ETag on every use). `config.json` is not part of the build: each
environment serves its own (the API and events URLs), so one build serves them all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

HASH_HEX_DIGITS = 12
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HTML = "index.html"
SERVICE_WORKER = "sw.js"
"""Served under its own name: a service worker's URL must stay stable across releases."""
MANIFEST = "asset-manifest.json"
CONFIG = "config.json"
_HASHED_SUFFIXES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_ASSET_REFERENCE = re.compile(r'(?P<attr>\b(?:src|href))="\./(?P<name>[A-Za-z0-9_-]+\.(?:js|css))"')
_IMPORT_MAP_MARKER = "<!-- import-map -->"


@dataclass(frozen=True)
class WebObject:
    """One file as a server (or a bucket) holds it."""

    name: str
    body: bytes
    content_type: str
    cache_control: str

    @property
    def etag(self) -> str:
        """A strong ETag of the body (the same rule as the API's)."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class WebAssets:
    """The build: hashed assets, the rewritten HTML, the service worker and the manifest."""

    hashed_names: dict[str, str]
    """Logical name (`app.js`) -> hashed name (`app.0123456789ab.js`)."""
    bodies: dict[str, bytes]
    """Hashed name -> bytes (unchanged from the source file)."""
    html: bytes
    service_worker: bytes
    manifest: bytes
    inline_script_hashes: tuple[str, ...]
    """CSP sources (`'sha256-...'`) of the HTML's inline scripts (the import map)."""

    def objects(self) -> Iterator[WebObject]:
        """Every file with its content type and Cache-Control."""
        for name, body in sorted(self.bodies.items()):
            suffix = Path(name).suffix
            yield WebObject(name, body, _HASHED_SUFFIXES[suffix], IMMUTABLE)
        yield WebObject(HTML, self.html, "text/html; charset=utf-8", REVALIDATE)
        yield WebObject(SERVICE_WORKER, self.service_worker, _HASHED_SUFFIXES[".js"], REVALIDATE)
        yield WebObject(MANIFEST, self.manifest, "application/json", REVALIDATE)


def content_security_policy(assets: WebAssets, *, connect_sources: Sequence[str] = ()) -> str:
    """The page's Content-Security-Policy: its own origin, the import map by hash, and
    `connect_sources` (e.g. the push channel's `wss://` origin) for fetch and WebSocket.

    The same policy on every origin that serves the build: the local web server and the
    CloudFront response headers policy (values in `connect_sources` may be CDK tokens).
    """
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(assets.inline_script_hashes),
            "connect-src " + " ".join(["'self'", *connect_sources]),
            "img-src 'self' data:",
            "style-src 'self'",
            "worker-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ]
    )


def hashed_name(name: str, body: bytes) -> str:
    """`cache-client.js` -> `cache-client.<12 hex digits of SHA-256(body)>.js`."""
    path = Path(name)
    digest = hashlib.sha256(body).hexdigest()[:HASH_HEX_DIGITS]
    return f"{path.stem}.{digest}{path.suffix}"


def build_web_assets(web_dir: Path) -> WebAssets:
    """Read `web_dir` (top level only: tests and package.json are not served) and build."""
    html_path = web_dir / HTML
    if not html_path.is_file():
        raise ValueError(f"web_dir {web_dir} has no {HTML}")
    sources = {
        path.name: path.read_bytes()
        for path in sorted(web_dir.iterdir())
        if path.is_file() and path.suffix in _HASHED_SUFFIXES and path.name != SERVICE_WORKER
    }
    hashed = {name: hashed_name(name, body) for name, body in sources.items()}
    html, inline_hashes = rewrite_html(html_path.read_text(encoding="utf-8"), hashed)
    manifest = {
        "assets": [f"./{name}" for name in sorted(hashed.values())],
        "shell": ["./", f"./{CONFIG}"],
    }
    return WebAssets(
        hashed_names=hashed,
        bodies={hashed[name]: body for name, body in sources.items()},
        html=html.encode("utf-8"),
        service_worker=(web_dir / SERVICE_WORKER).read_bytes(),
        manifest=(json.dumps(manifest, indent=2) + "\n").encode("utf-8"),
        inline_script_hashes=inline_hashes,
    )


def rewrite_html(html: str, hashed: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """Point `src="./x.js"` / `href="./x.css"` at hashed names; put the import map in.

    The import map replaces the `<!-- import-map -->` marker (which must be in the head,
    before any module script). A reference to a file that is not in the build is an error:
    it would 404 in production.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in hashed:
            raise ValueError(f"{HTML} references ./{name}, which is not in the web folder")
        return f'{match.group("attr")}="./{hashed[name]}"'

    rewritten = _ASSET_REFERENCE.sub(replace, html)
    if rewritten.count(_IMPORT_MAP_MARKER) != 1:
        raise ValueError(f"{HTML} must hold the marker {_IMPORT_MAP_MARKER} exactly once")
    imports = {
        f"./{name}": f"./{hashed_name}"
        for name, hashed_name in sorted(hashed.items())
        if name.endswith(".js")
    }
    script = json.dumps({"imports": imports}, indent=2)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    preloads = "".join(
        f'\n    <link rel="modulepreload" href="{target}">' for target in imports.values()
    )
    block = f'<script type="importmap">{script}</script>{preloads}'
    return rewritten.replace(_IMPORT_MAP_MARKER, block), (f"'sha256-{digest}'",)
