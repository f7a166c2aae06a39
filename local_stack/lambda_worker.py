"""One Lambda function = one worker PROCESS with its own module state, as a Lambda environment.

The worker imports the handler once (the cold start, with the function's environment
variables set before any import), then serves invocations one at a time over a pipe. Like
Lambda it serialises the result to JSON, reports handler exceptions as errors, and replaces the
environment (a new cold start) after a timeout or a crash.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local_stack.processes import supervised_worker

_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no state shared with us


@dataclass(frozen=True)
class FunctionSpec:
    """What a Lambda function is made of, locally."""

    name: str
    """Short name (`read`, `list`, `write`, `stream`): log file and terminal label."""
    handler: str
    """`module.function`, relative to `code_root` (the asset root), as in the CDK stack."""
    code_root: Path
    environment: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 10.0
    memory_mb: int = 256


class InvocationError(Exception):
    """The function failed: an exception in the handler, a timeout, a crash or bad output."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, spec_name: str, memory_mb: int, request_id: str, deadline: float) -> None:
        self.function_name = f"local-{spec_name}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:123456789012:"
            f"function:{self.function_name}"
        )
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{os.getpid()}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class LambdaWorker:
    """The supervisor's handle on one worker process. Thread-safe: invocations queue up."""

    def __init__(self, spec: FunctionSpec, *, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Spawn the process; it imports the handler (the cold start) in the background."""
        self._stopping = False
        parent, child = _SPAWN.Pipe()
        process = _SPAWN.Process(
            target=_serve,
            args=(child, self.spec, str(self.log_path)),
            name=f"lambda-{self.spec.name}",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def wait_ready(self, *, timeout: float = 60.0) -> None:
        """Block until the handler module imported; raise with the log path if init failed."""
        conn = self._require_conn()
        if not conn.poll(timeout):
            raise TimeoutError(f"function {self.spec.name}: no init after {timeout:.0f} s")
        try:
            status, detail = conn.recv()
        except EOFError:
            status, detail = "init_error", "the worker process exited"
        if status != "ready":
            raise RuntimeError(
                f"function {self.spec.name} failed to initialise ({detail}); see {self.log_path}"
            )

    def invoke(self, event: dict[str, Any], *, request_id: str | None = None) -> Any:
        """Run the handler on `event` and return its JSON-decoded result."""
        request_id = request_id or str(uuid.uuid4())
        with self._lock:
            conn = self._require_conn()
            try:
                conn.send((request_id, json.dumps(event), self.spec.timeout_seconds))
                if not conn.poll(self.spec.timeout_seconds + 1.0):
                    self._replace("timed out")
                    raise InvocationError(
                        "Sandbox.Timedout",
                        f"Task timed out after {self.spec.timeout_seconds:.2f} seconds",
                    )
                status, payload = conn.recv()
            except (EOFError, OSError) as exc:
                self._replace(f"crashed ({exc.__class__.__name__})")
                raise InvocationError("Runtime.ExitError", "the worker process exited") from exc
        if status == "error":
            raise InvocationError(payload["errorType"], payload["errorMessage"])
        return json.loads(payload)

    def close(self) -> None:
        """Close the pipe without waiting: an idle worker exits on EOF."""
        self._stopping = True
        if self._conn is not None:
            self._conn.close()

    def stop(self, *, grace: float = 1.0) -> None:
        """Close the pipe (the worker exits on EOF), then terminate, then kill."""
        self._stopping = True
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is None:
            return
        process.join(grace)
        if process.is_alive():
            process.terminate()
            process.join(grace)
        if process.is_alive():
            process.kill()
            process.join(1.0)

    def _replace(self, why: str) -> None:
        """A new execution environment after a timeout or crash (the next call is cold)."""
        if self._stopping:
            return  # shutting down: the pipe was closed on purpose
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"local-stack: worker {why}; starting a new environment\n")
        self.stop(grace=0.2)
        self.start()
        self.wait_ready()

    def _require_conn(self) -> Connection:
        if self._conn is None:
            raise InvocationError("Runtime.Unavailable", f"function {self.spec.name} is stopped")
        return self._conn


def _serve(conn: Connection, spec: FunctionSpec, log_path: str) -> None:
    """Worker process main: set up like a Lambda environment, import, then serve forever."""
    supervised_worker()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    os.environ.update(spec.environment)
    sys.path.insert(0, str(spec.code_root))
    init_started = time.perf_counter()
    try:
        module_name, _, function_name = spec.handler.rpartition(".")
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:
        traceback.print_exc()
        conn.send(("init_error", f"{exc.__class__.__name__}: {exc}"))
        return
    init_ms = (time.perf_counter() - init_started) * 1000
    print(f"INIT_REPORT Init Duration: {init_ms:.2f} ms Phase: init Status: success")
    conn.send(("ready", None))
    while True:
        try:
            request_id, event_json, timeout = conn.recv()
        except EOFError:
            # The supervisor closed the pipe: shut down now. Skipping interpreter teardown
            # (nothing left to flush but the log) keeps the whole stack's stop under 5 s.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        conn.send(_invoke_once(handler, spec, request_id, json.loads(event_json), timeout))


def _invoke_once(
    handler: Any, spec: FunctionSpec, request_id: str, event: Any, timeout: float
) -> tuple[str, Any]:
    print(f"START RequestId: {request_id} Version: $LATEST")
    started = time.perf_counter()
    context = LambdaContext(spec.name, spec.memory_mb, request_id, time.time() + timeout)
    outcome: tuple[str, Any]
    try:
        result = handler(event, context)
    except Exception as exc:
        traceback.print_exc()
        outcome = ("error", {"errorType": type(exc).__name__, "errorMessage": str(exc)})
    else:
        try:
            outcome = ("ok", json.dumps(result))
        except (TypeError, ValueError) as exc:
            outcome = ("error", {"errorType": "Runtime.MarshalError", "errorMessage": str(exc)})
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"END RequestId: {request_id}")
    print(f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms")
    return outcome
