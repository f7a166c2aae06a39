"""Handlers for tests/local_stack/test_lambda_worker.py (a code root of its own, like the asset)."""

from __future__ import annotations

import os
import threading
from typing import Any

INVOCATIONS = 0  # module state: one count per worker process


def count(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global INVOCATIONS
    INVOCATIONS += 1
    return {
        "count": INVOCATIONS,
        "pid": os.getpid(),
        "env": os.environ.get("SAMPLE_SETTING"),
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "echo": event,
    }


def fail(event: dict[str, Any], context: Any) -> None:
    raise ValueError("handler said no")


def hang(event: dict[str, Any], context: Any) -> None:
    threading.Event().wait()  # never returns: the worker must time out


def crash(event: dict[str, Any], context: Any) -> None:
    os._exit(3)


def unserialisable(event: dict[str, Any], context: Any) -> object:
    return {"value": object()}


def crash_first_time(event: dict[str, Any], context: Any) -> dict[str, Any]:
    marker = event["marker"]
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(3)
    return {"pid": os.getpid()}
