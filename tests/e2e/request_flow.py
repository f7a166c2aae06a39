"""Traffic that keeps flowing while a test breaks something: GETs from a background thread.

Every answer is kept with the monotonic times its request started and ended, so a test can
tell which requests ran entirely inside a fault window. `wait_for` blocks on a condition
variable that each new answer notifies: a test waits for an observed event, not a fixed time.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from e2e.stack_process import StackProcess


@dataclass(frozen=True)
class FlowedRequest:
    """One request of the flow; `status` None means no HTTP answer at all (`error` says why)."""

    path: str
    started: float
    ended: float
    status: int | None
    x_cache: str | None
    error: str | None = None


class RequestFlow:
    """GET `paths` round-robin until stop() or `limit` requests, `pause` seconds apart."""

    def __init__(
        self,
        stack: StackProcess,
        paths: Sequence[str],
        *,
        limit: int = 5000,
        pause: float = 0.01,
    ) -> None:
        if not paths:
            raise ValueError("paths must not be empty")
        self.stack = stack
        self.paths = list(paths)
        self.limit = limit
        self.pause = pause
        self.requests: list[FlowedRequest] = []
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._finished = False
        self._thread = threading.Thread(target=self._run, name="request-flow", daemon=True)

    def __enter__(self) -> RequestFlow:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop sending and wait for the request in flight (bounded by the HTTP timeout)."""
        self._stop.set()
        self._thread.join(timeout=40)
        if self._thread.is_alive():
            raise AssertionError("the request flow did not stop")

    def snapshot(self) -> list[FlowedRequest]:
        with self._changed:
            return list(self.requests)

    def wait_for(self, predicate: Callable[[list[FlowedRequest]], bool], *, timeout: float) -> bool:
        """True once `predicate(requests so far)` holds; False on timeout or if the flow ended."""
        with self._changed:
            self._changed.wait_for(lambda: predicate(self.requests) or self._finished, timeout)
            return predicate(self.requests)

    def _run(self) -> None:
        try:
            for number in range(self.limit):
                if self._stop.is_set():
                    break
                self._record(self._get(self.paths[number % len(self.paths)]))
                self._stop.wait(self.pause)  # pacing, not synchronisation
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def _get(self, path: str) -> FlowedRequest:
        started = time.monotonic()
        try:
            answer = self.stack.request("GET", path)
        except (OSError, http.client.HTTPException) as exc:
            return FlowedRequest(path, started, time.monotonic(), None, None, repr(exc))
        return FlowedRequest(path, started, time.monotonic(), answer.status, answer.x_cache)

    def _record(self, request: FlowedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
