"""Step control for the consistency model: actors that stop at chosen points and go on when told.

A slow actor (a reader, a writer) runs on a thread of its own as a `Task`. Its clients are
`PausingClient`s: each call is a pause point, reached after the call returned (a read's answer
is in hand, a write has committed), and the task parks there when that kind of point is in
its `pause_at` (``"read"``, ``"write"``). The model then runs other operations and resumes the
task when it chooses, to its next pause point or to its end; only one actor ever runs at a
time, so every interleaving is forced, never raced. Calls from any other thread (the model's
own, a lease renewal) never pause.

`current_op()` names the model operation on whose behalf the current thread runs: the table
tags the states it commits with it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

READ = "read"
WRITE = "write"
STEP_TIMEOUT_SECONDS = 30.0
"""How long the model waits for an actor to reach its next pause point (a hang is a failure)."""

_local = threading.local()


def current_op() -> int | None:
    """The model operation this thread runs for (None outside one)."""
    return getattr(_local, "op", None)


def set_current_op(op: int | None) -> None:
    """Name the operation the current thread runs for (the model's own thread)."""
    _local.op = op


class ActorHung(AssertionError):
    """An actor did not reach a pause point or its end in time (a deadlock or a hang)."""


class _Aborted(BaseException):
    """Raised at a pause point of a task the model gives up on (teardown after a failure)."""


class Task:
    """`fn()` run on its own thread, stopping at the pause points in `pause_at`."""

    def __init__(self, op: int, label: str, fn: Callable[[], Any], pause_at: frozenset[str]):
        self.op = op
        self.label = label
        self.pause_at = pause_at
        self.parked_at: str | None = None
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self._fn = fn
        self._go = threading.Semaphore(0)
        self._back = threading.Semaphore(0)
        self._abort = False
        self._thread = threading.Thread(target=self._run, name=f"model-{label}", daemon=True)

    def start(self) -> None:
        """Run until the first pause point or the end."""
        self._thread.start()
        self._wait()

    def resume(self) -> None:
        """Run from the pause point to the next one or the end."""
        assert not self.done
        self._go.release()
        self._wait()

    def finish(self) -> None:
        """Resume until the end."""
        while not self.done:
            self.resume()

    def abort(self) -> None:
        """Stop a parked task: its pause point raises, so its thread ends."""
        if self.done:
            return
        self._abort = True
        self._go.release()
        self._thread.join(STEP_TIMEOUT_SECONDS)

    def park(self, point: str) -> None:
        """Called by a pause point in this task's thread."""
        if point not in self.pause_at:
            return
        self.parked_at = point
        self._back.release()
        self._go.acquire()
        self.parked_at = None
        if self._abort:
            raise _Aborted

    def _wait(self) -> None:
        if not self._back.acquire(timeout=STEP_TIMEOUT_SECONDS):
            raise ActorHung(f"{self.label} neither paused nor ended in {STEP_TIMEOUT_SECONDS} s")

    def _run(self) -> None:
        _local.task = self
        _local.op = self.op
        try:
            self.result = self._fn()
        except _Aborted:
            pass
        except BaseException as error:  # handed to the model, which decides what it means
            self.error = error
        finally:
            self.done = True
            self._back.release()


def pause_point(point: str) -> None:
    """A point where the current task parks if it was told to (no-op on other threads)."""
    task: Task | None = getattr(_local, "task", None)
    if task is not None:
        task.park(point)


class PausingClient:
    """A DynamoDB or DAX client whose reads and writes are pause points of the calling task."""

    _READS = frozenset({"get_item", "query", "scan", "transact_get_items", "batch_get_item"})
    _WRITES = frozenset(
        {"put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"}
    )

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        point = READ if name in self._READS else WRITE if name in self._WRITES else None
        if point is None:
            return target

        def call(**request: Any) -> Any:
            result = target(**request)
            pause_point(point)
            return result

        return call
