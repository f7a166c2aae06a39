"""Run `python -m local_stack` as a subprocess and talk to it over HTTP.

Readiness is an event: a reader thread watches stdout for the ready line (or EOF, when the
stack died). The stack runs in a session of its own, so every process it started can be
found (and killed, whatever happened to the test) by session id.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "local stack ready: "


@dataclass
class HttpResult:
    status: int
    headers: Message
    body: bytes

    @property
    def x_cache(self) -> str | None:
        return self.headers.get("X-Cache")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class ProcessStatus:
    """What /proc/<pid>/stat says about a live process."""

    state: str
    parent: int
    session: int


def process_status(pid: int) -> ProcessStatus | None:
    """The process `pid`, or None if it is gone (a zombie counts as gone: it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces and ")"
    state, parent, session = fields[0], int(fields[1]), int(fields[3])
    return None if state in ("Z", "X") else ProcessStatus(state, parent, session)


class StackProcess:
    """One local stack subprocess: start(), request(), stop(); kill_everything() always."""

    def __init__(self, state_dir: Path, *args: str) -> None:
        self.state_dir = state_dir
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._settled = threading.Event()
        self.info: dict[str, Any] = {}

    def start(self, *, timeout: float = 90.0) -> dict[str, Any]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("PORT", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local_stack", "--port", "0",
             "--state-dir", str(self.state_dir), *self.args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=open(self.state_dir.parent / f"{self.state_dir.name}.stderr", "w"),  # noqa: SIM115
            text=True,
            start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=self._read_stdout, daemon=True).start()
        # _settled fires on the ready line or on EOF (the stack died): no fixed sleep.
        if not self._settled.wait(timeout):
            raise RuntimeError(f"local stack not ready after {timeout} s")
        if not any(line.startswith(READY_PREFIX) for line in self.lines):
            raise RuntimeError(f"local stack exited: {self.stderr_text()[-3000:]}")
        self.info = json.loads((self.state_dir / "stack.json").read_text())
        return self.info

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(READY_PREFIX):
                self._settled.set()
        self._settled.set()

    def stderr_text(self) -> str:
        path = self.state_dir.parent / f"{self.state_dir.name}.stderr"
        return path.read_text() if path.exists() else ""

    def wait_for_line(self, predicate: Any, *, timeout: float = 5.0) -> str:
        """The first stdout line that satisfies `predicate` (request lines are async)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if predicate(line):
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no matching line in {self.lines[-20:]}")

    # --- HTTP -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        url = urlsplit(self.info["api_url"])
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        payload = None
        all_headers = dict(headers or {})
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            return HttpResult(response.status, response.headers, response.read())
        finally:
            connection.close()

    # --- processes ------------------------------------------------------------------------

    def session_pids(self) -> set[int]:
        """Every live process in the stack's session (the stack and all it started)."""
        if self.proc is None:
            return set()
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            status = process_status(int(entry.name))
            if status is not None and status.session == self.proc.pid:
                found.add(int(entry.name))
        return found

    def terminate(self, sig: int = signal.SIGTERM, *, timeout: float = 10.0) -> float:
        """Send `sig` to the supervisor only; return how long it took to exit."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout)
        return time.monotonic() - started

    def kill_everything(self) -> None:
        """Finalizer: nothing of this stack survives, whatever the test did."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.terminate(timeout=6)
        for pid in self.session_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@contextlib.contextmanager
def running_stack(state_dir: Path, *args: str) -> Iterator[StackProcess]:
    """A started stack whose every process is gone on exit, whatever the body did.

    The one way the e2e fixtures start a stack, so the no-process-left-behind test
    (test_no_process_left_behind.py) proves it for all of them.
    """
    process = StackProcess(state_dir, *args)
    try:
        process.start()
        yield process
    finally:
        process.kill_everything()
