"""Test support (stdlib only): tiny packages and a PEP 503 package index on loopback.

- `write_wheel` writes a real wheel (dist-info METADATA, WHEEL, RECORD with hashes);
- `write_sdist` writes an sdist whose in-tree PEP 517 backend (this very file, copied into
  the sdist) builds its wheel, so pip builds it with build isolation and nothing from an index;
- `serving` serves a directory as a simple index on 127.0.0.1 and records every request path.

This file is copied into each sdist, so it imports nothing but the standard library.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import io
import shutil
import tarfile
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PURE_TAG = "py3-none-any"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def write_wheel(
    directory: Path,
    name: str,
    version: str,
    files: Mapping[str, bytes],
    *,
    tag: str = PURE_TAG,
) -> Path:
    """A wheel of project ``name`` holding ``files`` (paths inside the wheel), tagged ``tag``."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    contents = {
        **files,
        f"{info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n").encode(),
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: package_index\n"
            f"Root-Is-Purelib: {'true' if tag == PURE_TAG else 'false'}\nTag: {tag}\n"
        ).encode(),
    }
    record = "".join(f"{p},{_record_hash(data)},{len(data)}\n" for p, data in contents.items())
    contents[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return wheel


_BACKEND = '''
"""In-tree PEP 517 backend: builds the wheel of this sdist with package_index.write_wheel."""
from pathlib import Path

import package_index

NAME = {name!r}
VERSION = {version!r}
TAG = {tag!r}
PACKAGE = {package!r}


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    root = Path.cwd()
    sources = sorted((root / PACKAGE).rglob("*.py"))
    files = {{p.relative_to(root).as_posix(): p.read_bytes() for p in sources}}
    return package_index.write_wheel(Path(wheel_directory), NAME, VERSION, files, tag=TAG).name
'''


def write_sdist(
    directory: Path,
    name: str,
    version: str,
    files: Mapping[str, bytes],
    *,
    wheel_tag: str = PURE_TAG,
) -> Path:
    """An sdist of ``name`` whose wheel (tagged ``wheel_tag``) holds ``files``.

    ``files`` must live under one package folder, the first path part of each file.
    """
    packages = {path.split("/")[0] for path in files}
    if len(packages) != 1:
        raise ValueError(f"files must be in one package folder; got {sorted(packages)}")
    (package,) = packages
    dist = name.replace("-", "_")
    top = f"{dist}-{version}"
    members: dict[str, bytes] = {f"{top}/{path}": data for path, data in files.items()}
    members[f"{top}/pyproject.toml"] = (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_backend"]\n'
        f'\n[project]\nname = "{name}"\nversion = "{version}"\n'
    ).encode()
    members[f"{top}/PKG-INFO"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    ).encode()
    members[f"{top}/_backend/backend.py"] = _BACKEND.format(
        name=name, version=version, tag=wheel_tag, package=package
    ).encode()
    members[f"{top}/_backend/package_index.py"] = Path(__file__).read_bytes()
    directory.mkdir(parents=True, exist_ok=True)
    sdist = directory / f"{top}.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return sdist


def publish(index_root: Path, project: str, *files: Path) -> None:
    """Put ``files`` on the index page of ``project`` (``<root>/simple/<project>/``)."""
    page = index_root / "simple" / project
    page.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copy2(file, page / file.name)


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: pytest shows the requests list on failure instead."""


@contextmanager
def serving(index_root: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``index_root`` on a free loopback port: (the simple index URL, request paths)."""
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(index_root))
    )
    thread = threading.Thread(target=server.serve_forever, name="package-index", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/simple/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
