"""The stack leaves no process behind after the tests, even when a test fails.

An inner pytest run (pytester) starts a stack through the same helper every e2e fixture
uses, records its processes, and fails. Once that run is over, none of them may be alive.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from e2e.stack_process import process_status

pytestmark = pytest.mark.e2e
pytest_plugins = ["pytester"]

# pytester points HOME at a temporary directory; the stack's CDK import (jsii) would then
# unpack aws-cdk-lib again instead of using its package cache under the real HOME.
REAL_HOME = os.environ.get("HOME")

FAILING_TEST = """
import json
from pathlib import Path

import pytest

from e2e.stack_process import running_stack


@pytest.fixture
def stack(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with running_stack(state_dir) as process:
        yield process


def test_fails_while_the_stack_runs(stack):
    Path({pids_file!r}).write_text(json.dumps({{
        "supervisor": stack.proc.pid,
        "workers": stack.info["worker_pids"],
        "session": sorted(stack.session_pids()),
    }}))
    raise AssertionError("this test fails on purpose, with the stack running")
"""


def _still_alive(pids: set[int], *, within: float) -> set[int]:
    """The pids of `pids` still running once `within` seconds passed (returns when none is)."""
    deadline = time.monotonic() + within
    while (alive := {pid for pid in pids if process_status(pid) is not None}) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return alive


def test_a_failing_test_leaves_no_stack_process_behind(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if REAL_HOME is not None:
        monkeypatch.setenv("HOME", REAL_HOME)
    pids_file = tmp_path / "stack-pids.json"
    pytester.makepyfile(test_doomed=FAILING_TEST.format(pids_file=str(pids_file)))

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*this test fails on purpose*"])
    recorded = json.loads(pids_file.read_text())
    stack_pids = {recorded["supervisor"], *recorded["workers"].values(), *recorded["session"]}
    # The supervisor, redis-server, moto and the four workers at least.
    assert len(stack_pids) >= 7, recorded
    assert _still_alive(stack_pids, within=5) == set()
