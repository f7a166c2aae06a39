"""The model's hand on the real redis-server: who may reach it, what it evicts, what time it is.

- Each environment connects as an ACL user of its own, so Redis can become unreachable for
  any environment at any step and come back: `cut` disables the user and kills its
  connections (the L2 pool's and the L1 tracking connection), so calls fail at once as a
  refused connection does (AuthenticationError, a ConnectionError) and the tracking
  connection sees its end; `restore` enables the user again. A user may be denied
  `client|tracking` (the environment whose server refuses tracking).
- `evict` deletes any one key (value, fence, lease, list generation, page, page lease), as
  eviction or expiry would; `flush` loses everything (a node replaced by an empty one).
- Key TTLs follow the model's clock: Redis counts them in real time, which barely passes in
  an example, so the keyspace notifications tell which keys were (re)set, their deadlines are
  taken on the model's clock, and `advance` deletes every key whose deadline has passed, as
  its expiry would have. (Redis' own real-time expiry still runs: it can only end a key
  early, like eviction.)
- `barrier` is one round trip: every invalidation push Redis generated for earlier commands
  has then been written to its tracking connection (Redis writes the replies and pushes of an
  event-loop pass before it reads the next command). It stands for "the next request reaches
  the reader after the writer's reply did", which the promise assumes.
"""

from __future__ import annotations

from typing import Any

import redis

KEYSPACE_EVENTS = "Kg$hxe"
"""Generic, string and hash commands, expiries and evictions: every way a model key changes."""
_GONE = {b"del", b"expired", b"evicted"}
MODEL_KEYS = "pc:*"


class RedisControl:
    """Admin access to one redis-server for the model (the default user, never cut)."""

    def __init__(self, host: str, port: int, clock: Any) -> None:
        self.host = host
        self.port = port
        self.clock = clock
        self.admin = redis.Redis(host=host, port=port)
        self.admin.config_set("notify-keyspace-events", KEYSPACE_EVENTS)
        self._events = self.admin.pubsub()
        self._events.psubscribe("__keyspace@0__:pc:*")
        self._deadlines: dict[bytes, float] = {}
        self.users: set[str] = set()

    # --- per example -----------------------------------------------------------------------------

    def reset(self, clock: Any) -> None:
        """An empty keyspace, no model users, the example's clock."""
        self.drop_users()
        self.admin.flushall()
        self._drain()
        self._deadlines.clear()
        self.clock = clock

    def add_user(self, name: str, *, tracking: bool = True) -> str:
        """An ACL user for one environment; returns its REDIS_URL."""
        password = f"{name}-password"
        rules = ["on", f">{password}", "~*", "&*", "+@all"]
        if not tracking:
            rules.append("-client|tracking")
        self.admin.execute_command("ACL", "SETUSER", name, "reset", *rules)
        self.users.add(name)
        return f"redis://{name}:{password}@{self.host}:{self.port}/0"

    def drop_users(self) -> None:
        """Delete the model's users (Redis closes their connections)."""
        if self.users:
            self.admin.execute_command("ACL", "DELUSER", *sorted(self.users))
        self.users.clear()

    def close(self) -> None:
        self.drop_users()
        self._events.close()
        self.admin.close()

    # --- faults -----------------------------------------------------------------------------------

    def cut(self, name: str) -> None:
        """Redis becomes unreachable for user `name`: no new connection, the open ones killed."""
        self.admin.execute_command("ACL", "SETUSER", name, "off")
        self.admin.execute_command("CLIENT", "KILL", "USER", name)

    def restore(self, name: str) -> None:
        self.admin.execute_command("ACL", "SETUSER", name, "on")

    def keys(self) -> list[bytes]:
        """Every model key, sorted (what `evict` chooses from)."""
        return sorted(self.admin.scan_iter(match=MODEL_KEYS, count=1000))

    def evict(self, key: bytes) -> None:
        self.admin.delete(key)

    def flush(self) -> None:
        self.admin.flushall()
        self._deadlines.clear()

    def barrier(self) -> None:
        self.admin.ping()

    # --- time ------------------------------------------------------------------------------

    def advance(self, seconds: float) -> list[bytes]:
        """Move the clock on; delete (expire) every key whose TTL ran out. Returns them."""
        self._drain()
        self.clock.advance(seconds)
        now = self.clock()
        expired = sorted(key for key, deadline in self._deadlines.items() if deadline <= now)
        if expired:
            self.admin.delete(*expired)
            self._drain()
        return expired

    def deadline(self, key: bytes) -> float | None:
        """When `key` expires on the model's clock (None: no TTL known)."""
        self._drain()
        return self._deadlines.get(key)

    def _drain(self) -> None:
        """Apply every keyspace event so far: (re)set keys get a deadline from their PTTL."""
        self._events.ping()
        latest: dict[bytes, bytes] = {}
        while True:
            message = self._events.get_message(timeout=5.0)
            if message is None:
                raise AssertionError("keyspace notifications stopped before the PING's reply")
            if message["type"] == "pong":
                break
            if message["type"] == "pmessage":
                key = message["channel"].split(b":", 1)[1]
                latest[key] = message["data"]
        touched = [key for key, event in latest.items() if event not in _GONE]
        for key, event in latest.items():
            if event in _GONE:
                self._deadlines.pop(key, None)
        if not touched:
            return
        with self.admin.pipeline(transaction=False) as pipe:
            for key in touched:
                pipe.pttl(key)
            ttls = pipe.execute()
        now = self.clock()
        for key, ttl in zip(touched, ttls, strict=True):
            if ttl is not None and ttl > 0:
                self._deadlines[key] = now + ttl / 1000.0
            else:
                self._deadlines.pop(key, None)
