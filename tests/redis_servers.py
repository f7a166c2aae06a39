"""Real redis-server processes on free loopback ports, for tests and benchmarks.

Each server runs in its own temporary directory with persistence off. Readiness is awaited
by connecting (the server accepting a PING is the event), never by sleeping a fixed time.
A server started from the main thread dies with the test process (Linux PDEATHSIG), so a
killed or timed-out run leaves no redis-server behind.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from local_stack.processes import supervised_child

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


NEWER_THAN_REDIS_7_0 = frozenset({"client|setinfo"})
"""Commands Valkey 7.2+ (ElastiCache's minimum) knows and this machine's Redis 7.0 does not."""


def set_acl_user(admin: redis.Redis, name: str, password: str, access_string: str) -> None:
    """Create or reset ACL user `name` with `access_string`, leaving out grants of commands
    this server does not know (it would refuse the whole string)."""
    words = [w for w in access_string.split() if w.lstrip("+") not in NEWER_THAN_REDIS_7_0]
    admin.execute_command("ACL", "SETUSER", name, "reset", f">{password}", *words)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) exists and is free too: a node whose
    bus port is above 65535 exits at start."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _wait_ready(
    port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0, **auth: str
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited with {proc.returncode}")
        try:
            with redis.Redis(port=port, socket_connect_timeout=0.2, **auth) as client:  # type: ignore[arg-type]
                if client.ping():
                    return
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            # ResponseError: a cluster node answers before its slots are assigned.
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"redis-server on port {port} not ready after {timeout}s")
        time.sleep(0.02)


@dataclass
class RedisServer:
    """One redis-server process; stop() and start() reuse the same port (outage tests)."""

    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="redis-test-")))
    proc: subprocess.Popen[bytes] | None = None
    ready_auth: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--logfile", str(self.workdir / "redis.log"),
            *self.extra_args,
        ]  # fmt: skip
        # PDEATHSIG fires when the starting *thread* ends: only the main thread lives as
        # long as the process (an outage test may restart a server from another thread).
        in_main_thread = threading.current_thread() is threading.main_thread()
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=supervised_child if in_main_thread else None,
        )
        _wait_ready(self.port, self.proc, **self.ready_auth)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextmanager
def standalone(extra_args: list[str] | None = None, **ready_auth: str) -> Iterator[RedisServer]:
    server = RedisServer(extra_args=extra_args or [], ready_auth=ready_auth)
    try:
        yield server.start()
    finally:
        server.cleanup()


EVICTION_POLICIES = ("volatile-lru", "allkeys-lru")
"""ElastiCache's default (`volatile-lru`: only keys with a TTL go) and the strictest one."""


@contextmanager
def evicting(policy: str, maxmemory: str = "4mb") -> Iterator[RedisServer]:
    """A server that evicts under memory pressure: `maxmemory` with `maxmemory-policy`."""
    args = ["--maxmemory", maxmemory, "--maxmemory-policy", policy]
    with standalone(args) as server:
        yield server


def evicted_keys(client: redis.Redis) -> int:
    """How many keys the server has evicted since it started (INFO stats)."""
    return int(client.info("stats")["evicted_keys"])


def fill_until_evicted(
    client: redis.Redis,
    keys: list[str],
    *,
    value_bytes: int = 2048,
    batch: int = 100,
    max_fillers: int = 100_000,
    prefix: str = "filler",
) -> int:
    """Write filler keys (each with a TTL, so `volatile-lru` may evict them as well) until
    Redis has evicted every key of `keys`; returns how many fillers it wrote.

    Eviction is what the server does under memory pressure, not a DEL: the caller asserts on
    EXISTS and `evicted_keys`. Raises AssertionError if the keys survive `max_fillers`."""
    payload = b"x" * value_bytes
    written = 0
    while written < max_fillers:
        with client.pipeline(transaction=False) as pipe:
            for n in range(written, written + batch):
                pipe.set(f"{prefix}:{n}", payload, px=3_600_000)
            pipe.execute()
        written += batch
        if client.exists(*keys) == 0:
            return written
    raise AssertionError(f"{keys} survived {written} filler keys of {value_bytes} bytes")


ACL_USER = "app"
ACL_PASSWORD = "s3cret-test-password"


@contextmanager
def with_acl_user() -> Iterator[RedisServer]:
    """A server whose default user is disabled: only ACL_USER/ACL_PASSWORD may connect."""
    args = [
        "--user", "default", "off",
        "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~pc:*", "+@all",
    ]  # fmt: skip
    with standalone(args, username=ACL_USER, password=ACL_PASSWORD) as server:
        yield server


@dataclass
class RedisCluster:
    nodes: list[RedisServer]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", node.port) for node in self.nodes]


@contextmanager
def cluster(size: int = 3) -> Iterator[RedisCluster]:
    """A `size`-node cluster with no replicas, every slot covered."""
    nodes = [
        RedisServer(
            port=free_cluster_port(),
            extra_args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
        )
        for _ in range(size)
    ]
    try:
        for node in nodes:
            node.start()
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        wait_cluster_agreed([node.port for node in nodes])
        yield RedisCluster(nodes)
    finally:
        for node in nodes:
            node.cleanup()


def wait_cluster_ok(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    with redis.Redis(port=port) as client:
        while True:
            info = client.execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            if "cluster_state:ok" in text:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("cluster did not reach cluster_state:ok")
            time.sleep(0.05)


def _slot_owners(client: redis.Redis) -> list[tuple[int, int, int]]:
    """(first slot, last slot, owner's port) of every range, as this node sees them."""
    return sorted(
        (int(r[0]), int(r[1]), int(r[2][1])) for r in client.execute_command("CLUSTER", "SLOTS")
    )


def wait_cluster_agreed(ports: list[int], timeout: float = 15.0) -> None:
    """Until every node reports cluster_state:ok and all see the same slot owners.

    Node 0 alone being ok is not enough: a node still catching up by gossip answers
    CLUSTERDOWN or MOVED to a stale owner, and a test's first read then bypasses L2.
    """
    for port in ports:
        wait_cluster_ok(port, timeout)
    deadline = time.monotonic() + timeout
    clients = [redis.Redis(port=port) for port in ports]
    try:
        while len({tuple(_slot_owners(client)) for client in clients}) != 1:
            if time.monotonic() > deadline:
                raise TimeoutError("cluster nodes did not agree on the slot owners")
            time.sleep(0.05)  # gossip between the nodes: no event to wait on from here
    finally:
        for client in clients:
            client.close()
