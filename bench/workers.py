"""Worker processes: every peer runs its workload in a fresh interpreter of its own.

Why processes: ours reads its configuration at import, as on Lambda, so each configuration
needs a fresh interpreter; it also keeps the peers from sharing a GIL or module state.

Protocol: the parent writes one JSON line of parameters to the worker's stdin and can send
more lines later (e.g. "go"); the worker answers with JSON lines on its original stdout.
The worker's fd 1 is pointed at /dev/null first, so what the code under test prints (EMF
metrics, logs) still costs what it costs but cannot corrupt the protocol.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import IO, Any

from bench import paths


class Channel:
    """The worker's end: JSON lines in from stdin, out to the saved stdout."""

    def __init__(self, inbox: IO[str], outbox: IO[str]) -> None:
        self.inbox = inbox
        self.outbox = outbox

    def send(self, message: dict[str, Any]) -> None:
        self.outbox.write(json.dumps(message) + "\n")
        self.outbox.flush()

    def recv(self) -> dict[str, Any]:
        line = self.inbox.readline()
        if not line:
            raise EOFError("parent closed the channel")
        return dict(json.loads(line))


def worker_channel() -> Channel:
    """Call first thing in a worker: saves stdout for the protocol, silences fd 1."""
    protocol = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return Channel(sys.stdin, protocol)


class Worker:
    """The parent's end of one worker process."""

    def __init__(self, module: str, params: dict[str, Any], env: dict[str, str] | None = None):
        self.module = module
        # stderr goes to a file, not a pipe: nobody reads a pipe while the worker runs, and
        # a child that logs more than the pipe buffer (~64 KB) would block on it forever.
        self.stderr = tempfile.TemporaryFile(prefix="bench-worker-stderr-")  # noqa: SIM115 - closed in close()
        self._stderr_seen = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=paths.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, "PYTHONPATH": paths.python_path(), **(env or {})},
            text=True,
        )
        self.send(params)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def recv(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            stderr = self.stderr_tail()
            self.close()
            raise WorkerError(f"{self.module} exited {self.proc.returncode}: {stderr}")
        message = dict(json.loads(line))
        if "error" in message:
            self.close()  # waits for the exit, so stderr is complete
            raise WorkerError(f"{self.module}: {message['error']}\nstderr: {self._stderr_seen}")
        return message

    def result(self) -> Any:
        """Wait for the final {"result": ...} message and the process's exit."""
        while True:
            message = self.recv()
            if "result" in message:
                self.close()
                return message["result"]

    def stderr_tail(self, limit: int = 3000) -> str:
        """The last `limit` bytes the worker wrote to stderr so far, decoded."""
        if self.stderr.closed:
            return self._stderr_seen
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - limit))
        return self.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if not self.stderr.closed:
            self._stderr_seen = self.stderr_tail()
            self.stderr.close()


class WorkerError(RuntimeError):
    """A worker failed; the message carries its error or the tail of its stderr."""


def run_worker(module: str, params: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    """Start a worker, hand it `params`, return its result."""
    return Worker(module, params, env).result()


def serve(task: Any) -> None:
    """Worker main: `task(params, channel)` returns the result; errors are reported, not lost."""
    channel = worker_channel()
    try:
        params = channel.recv()
        channel.send({"result": task(params, channel)})
    except BaseException as exc:
        import traceback

        channel.send({"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}"})
        raise SystemExit(1) from exc
