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
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=paths.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
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
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            raise WorkerError(f"{self.module} exited {self.proc.returncode}: {stderr[-3000:]}")
        message = dict(json.loads(line))
        if "error" in message:
            self.close()
            raise WorkerError(f"{self.module}: {message['error']}")
        return message

    def result(self) -> Any:
        """Wait for the final {"result": ...} message and the process's exit."""
        while True:
            message = self.recv()
            if "result" in message:
                self.close()
                return message["result"]

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


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
