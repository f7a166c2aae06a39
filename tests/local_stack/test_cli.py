"""`python -m local_stack` options: environment defaults, validation, a clear failure."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from e2e.stack_process import ROOT

from local_stack.__main__ import parse_args


def test_environment_gives_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")
    monkeypatch.setenv("LOCAL_STATE_DIR", "/tmp/somewhere")

    options = parse_args([])

    assert options.port == 9123
    assert options.redis_url == "redis://127.0.0.1:6399/0"
    assert options.state_dir == Path("/tmp/somewhere")
    assert options.host == "127.0.0.1"  # loopback unless asked otherwise


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9123")
    options = parse_args(["--port", "0", "--seed", "5", "--l1-ttl", "2"])
    assert (options.port, options.seed, options.l1_ttl_seconds) == (0, 5, 2)


def test_bad_port_variable_is_refused_naming_the_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(SystemExit):
        parse_args([])
    assert "--port" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--port", "70000"], "--port"),
        (["--seed", "-1"], "--seed"),
        (["--stream-batch-size", "0"], "batch_size"),
        (["--stream-max-retries", "-2"], "max_retries"),
        (["--port", "eighty"], "--port"),
    ],
)
def test_bad_options_are_refused_naming_them(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert named in capsys.readouterr().err


def test_port_in_use_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "local_stack", "--port", str(port),
             "--state-dir", str(tmp_path / "state")],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "PORT" in result.stderr
    assert not (tmp_path / "state" / "stack.json").exists()


def test_redis_passwords_stay_out_of_the_log() -> None:
    from local_stack.stack import _redacted

    assert _redacted("redis://app:s3cret@127.0.0.1:6379/0") == "redis://app:***@127.0.0.1:6379/0"
    assert _redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
