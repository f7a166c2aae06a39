"""The local stack leaves no process behind: on SIGTERM, on Ctrl-C, even when killed -9."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.stack_process import StackProcess, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[StackProcess]:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with running_stack(state_dir) as process:  # starts a redis-server of its own
        yield process


def _wait_until_gone(stack: StackProcess, *, within: float) -> set[int]:
    deadline = time.monotonic() + within
    while (alive := stack.session_pids()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _children(stack: StackProcess) -> set[int]:
    assert stack.proc is not None
    pids = stack.session_pids() - {stack.proc.pid}
    # redis-server, moto server and one worker per function at least.
    expected = {stack.info["pid"], *stack.info["worker_pids"].values()}
    assert expected - {stack.proc.pid} <= pids
    assert len(pids) >= 6, pids
    return pids


@pytest.mark.parametrize("how", ["SIGTERM to the supervisor", "Ctrl-C to the process group"])
def test_stop_signal_stops_every_child_within_5_seconds(own_stack: StackProcess, how: str) -> None:
    assert own_stack.proc is not None
    assert own_stack.request("GET", "/products/warm-up").status == 404
    _children(own_stack)
    started = time.monotonic()

    if how.startswith("SIGTERM"):
        own_stack.proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(own_stack.proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    own_stack.proc.wait(5)
    left = _wait_until_gone(own_stack, within=5 - (time.monotonic() - started))

    assert left == set(), f"still running after {how}: {left}"
    assert time.monotonic() - started <= 5
    assert own_stack.proc.returncode == 0
    assert not (own_stack.state_dir / "stack.json").exists()
    assert "local stack stopped" in own_stack.wait_for_line(lambda line: "stopped" in line)


def test_children_die_with_a_killed_supervisor(own_stack: StackProcess) -> None:
    assert own_stack.proc is not None
    children = _children(own_stack)

    own_stack.proc.kill()  # SIGKILL: no handler runs, the children are told by the kernel
    own_stack.proc.wait(5)
    left = _wait_until_gone(own_stack, within=5)

    assert left == set(), f"orphans: {left} of {children}"
