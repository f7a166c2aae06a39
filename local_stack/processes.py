"""Child-process plumbing shared by the parts of the local stack: free ports, readiness, stop."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def supervised_child() -> None:
    """`preexec_fn` of a subprocess: it stops when told, or when the supervisor dies.

    Ctrl-C in a terminal reaches the whole foreground process group: children ignore SIGINT so
    that the supervisor stops them in order. On Linux, prctl(PDEATHSIG) sends SIGTERM when the
    supervisor dies, so no orphan survives even a kill -9. PDEATHSIG follows the *thread* that
    started the child: start such subprocesses from the main thread only.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def supervised_worker() -> None:
    """First call in a multiprocessing worker: ignore Ctrl-C, exit when the supervisor exits.

    Workers may be (re)started from any thread (a request thread replaces a timed-out one),
    so PDEATHSIG would fire when that thread ends. A watcher thread waits on the parent
    process's sentinel instead, and ends this process even when a handler is stuck.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def exit_with_parent() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=exit_with_parent, name="parent-watch", daemon=True).start()


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    interval: float = 0.05,
) -> None:
    """Poll `ready()` until it holds; fail fast when `proc` exits, or after `timeout` seconds.

    The event is the service answering (a connection, a PING), never a fixed sleep.
    """
    deadline = time.monotonic() + timeout
    while not ready():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen[bytes] | None, *, grace: float) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. Safe on a process already gone."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=2)
