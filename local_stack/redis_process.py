"""The real redis-server the local stack caches in (or an existing one given by REDIS_URL)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import redis

from local_stack.processes import stop_process, supervised_child, wait_until


class RedisProcess:
    """A redis-server child on loopback: persistence off, log in the state directory."""

    def __init__(self, *, port: int, state_dir: Path) -> None:
        self.port = port
        self.state_dir = state_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 10.0) -> None:
        """Start redis-server and wait until it answers PING."""
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server not found on PATH: install it or pass REDIS_URL")
        args = [
            executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.state_dir),
            "--logfile", str(self.state_dir / "redis.log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=supervised_child,
        )
        wait_until(lambda: ping(self.url), what="redis-server", timeout=timeout, proc=self.proc)

    def stop(self, *, grace: float = 2.0) -> None:
        stop_process(self.proc, grace=grace)
        self.proc = None


def ping(url: str) -> bool:
    """True when the Redis at `url` answers PING (any error means not yet)."""
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.2, socket_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False
