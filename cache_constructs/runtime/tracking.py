"""Keeps L1 coherent with L2: Redis/Valkey client tracking (RESP3 `invalidate` pushes).

Mode: default tracking (`CLIENT TRACKING ON`, neither BCAST nor OPTIN) on a dedicated RESP3
connection per primary, used for exactly the L2 GETs whose values may enter L1. The server
then remembers which keys this environment read and pushes one `invalidate` message when a
key changes, expires or is evicted, so messages and the server's tracking table grow with
what each environment caches, not with the write rate times the number of environments (as
BCAST would). docs/decision_log.md has the alternatives and the server-side cost.

The rules that keep an L1 hit from serving a value older than an acknowledged write:
- Pushes are drained without blocking (`drain`, one `poll(0)` over the tracking sockets)
  before every L1 lookup.
- A value may enter L1 only with the `Ticket` of the tracked read that fetched it. A push
  that arrives before that read's reply is applied before the reply is returned (redis-py
  hands pushes to our handler while it reads the reply). A push for the key that is applied
  after the reply (by a drain on another thread, or the bytes read after the reply) makes
  the ticket stale: the value is refused.
- Losing a tracking connection, (re)establishing one, a server-side flush (`FLUSHALL`) or a
  slot moving to another primary (`MOVED`) flushes L1 and voids every ticket issued so far.
  While a primary's connection is down nothing read from it enters L1.
- A connection idle for `health_check_seconds` is PINGed on the next drain, so a silently
  dead one (no FIN; e.g. a thawed Lambda environment whose peer is gone) is found and L1
  flushed within that interval.

Where the server refuses tracking (RESP3/HELLO or CLIENT TRACKING answered with an error,
e.g. an ACL without `client|tracking`), L1 falls back to the policy's TTL as its only bound:
values enter without a ticket, and the `L1TrackingUnavailable` metric and a log line say so.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from redis.exceptions import AskError, RedisClusterException, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import telemetry
from .breaker import CLOSED
from .errors import CacheUnavailable

TRACKING = "tracking"
"""Tracking is on: values enter L1 only with a live ticket."""
REFUSED = "refused"
"""The server refused tracking: L1 falls back to the policy's TTL (values enter without one)."""

DEFAULT_HEALTH_CHECK_SECONDS = 1.0
"""A tracking connection silent this long is PINGed on the next drain (one round trip)."""
DEFAULT_RECONNECT_SECONDS = 1.0
"""After a tracking connection failed, reads from that primary skip L1 this long before a
new connection is tried (a dead endpoint must not cost a connect timeout per request)."""
RECENT_INVALIDATIONS = 1024
"""Invalidated keys remembered to judge tickets; an older ticket is refused (safe side)."""
CLIENT_NAME = "product-cache-l1-tracking"
"""CLIENT LIST shows the tracking connections under this name."""
TOUCH_BATCH = 64
"""L2 keys whose L1 hits are remembered for the next tracked GET to TOUCH (beyond it, a hit
is not remembered: the hottest keys are touched on the first hits after each GET)."""


class Ticket(NamedTuple):
    """Proof that a value was read through a live tracking connection, and when."""

    epoch: int
    seq: int
    key: str


class TrackedRead(NamedTuple):
    """An L2 value and, if it may enter L1, its ticket (None: it may not, unless refused)."""

    value: bytes | None
    ticket: Ticket | None


class TrackedCache(Protocol):
    """What the tracker asks of an L1 cache: drop the entries of one L2 key, or all."""

    def discard_tracked(self, key: str) -> None: ...

    def clear(self) -> None: ...


@dataclass(frozen=True)
class _Node:
    """A primary: its name (`host:port`) and how to open a connection to it."""

    name: str
    connection_class: Any
    connection_kwargs: dict[str, Any] = field(hash=False, compare=False)


class _Link:
    """One open tracking connection (to the primary `name`)."""

    __slots__ = ("connection", "fd", "last_heard", "name")

    def __init__(self, name: str, connection: Any, last_heard: float) -> None:
        self.name = name
        self.connection = connection
        self.fd: int = connection._sock.fileno()
        self.last_heard = last_heard


def _node_of(name: str, pool: Any) -> _Node:
    kwargs = dict(pool.connection_kwargs)
    kwargs.update(protocol=3, client_name=CLIENT_NAME)
    return _Node(name, pool.connection_class, kwargs)


def _router(client: Any) -> Callable[[str], _Node]:
    """Which primary owns `key`, from redis-py's own view of the topology."""
    nodes_manager = getattr(client, "nodes_manager", None)
    if nodes_manager is None:  # standalone
        pool = client.connection_pool
        kwargs = pool.connection_kwargs
        node = _node_of(f"{kwargs.get('host')}:{kwargs.get('port')}", pool)
        return lambda _key: node

    nodes: dict[str, _Node] = {}

    def route(key: str) -> _Node:
        primary = nodes_manager.get_node_from_slot(client.keyslot(key))
        node = nodes.get(primary.name)
        if node is None:
            node = nodes[primary.name] = _node_of(
                primary.name, primary.redis_connection.connection_pool
            )
        return node

    return route


def _buffered(connection: Any) -> bool:
    """Whether redis-py's parser already holds bytes it read from the socket past a reply.

    The hit path polls the sockets only, so after every reply we empty the parser's buffer;
    a push that came in the same segment as the reply is applied then, not left behind.
    """
    buffer = getattr(connection._parser, "_buffer", None)
    if buffer is None:  # another parser (e.g. hiredis): ask the connection (one recv)
        return bool(connection.can_read(timeout=0))
    return bool(buffer.unread_bytes())


class L1Tracker:
    """The tracking connections of one process and the L1 caches they keep coherent.

    `client_source` returns the redis-py client L2 uses (standalone or cluster); the
    tracker opens its own RESP3 connections with the same settings (TLS, ACL or IAM
    credentials, timeouts), one per primary it reads from. `breaker` is L2's: while it is
    not closed, reads go to `fallback` (which knows how to fail) and nothing enters L1.
    `on_reply` (tests) runs after a tracked reply was read, before the caller caches it.
    """

    def __init__(
        self,
        client_source: Callable[[], Any],
        *,
        breaker: Any = None,
        clock: Callable[[], float] = time.monotonic,
        health_check_seconds: float = DEFAULT_HEALTH_CHECK_SECONDS,
        reconnect_seconds: float = DEFAULT_RECONNECT_SECONDS,
        on_reply: Callable[[str], None] | None = None,
    ) -> None:
        self._client_source = client_source
        self._breaker = breaker
        self._clock = clock
        self.health_check_seconds = health_check_seconds
        self.reconnect_seconds = reconnect_seconds
        self.on_reply = on_reply
        self.state = TRACKING
        self.refusal: str | None = None
        self._lock = threading.Lock()
        self._caches: list[TrackedCache] = []
        self._route: Callable[[str], _Node] | None = None
        self._links: dict[str, _Link] = {}
        self._by_fd: dict[int, _Link] = {}
        self._retry_at: dict[str, float] = {}
        self._poller = select.poll()
        self._next_health_check = float("inf")
        self._epoch = 0
        self._seq = 0
        self._recent: OrderedDict[str, int] = OrderedDict()
        self._forgotten_seq = 0
        # L2 keys L1 served since the last tracked GET, which TOUCHes them (see `touched`).
        self._touched: dict[str, None] = {}
        self.flushes = 0
        """How many times L1 was flushed (connection lost/opened, server flush, MOVED)."""

    # --- what L1 calls ----------------------------------------------------------------------

    def attach(self, cache: TrackedCache) -> None:
        """Keep `cache` coherent: invalidations discard its entries, flushes clear it."""
        with self._lock:
            self._caches.append(cache)

    @property
    def admits_untracked(self) -> bool:
        """True when tracking was refused: L1 is bounded by its TTL alone."""
        return self.state == REFUSED

    def drain(self) -> None:
        """Apply every invalidation that has arrived, without blocking (before an L1 lookup).

        Costs one `poll(0)` when nothing arrived; PINGs a connection silent for
        `health_check_seconds`; a connection found dead flushes L1.
        """
        if not self._links:
            return
        with self._lock:
            ready = self._poller.poll(0)
            if ready:
                self._read_ready(ready)
            if self._clock() >= self._next_health_check:
                self._health_check()

    def _read_ready(self, ready: list[tuple[int, int]]) -> None:
        now = self._clock()
        for fd, _events in ready:
            link = self._by_fd.get(fd)
            if link is not None:
                self._read_pushes(link, now)

    def _health_check(self) -> None:
        now = self._clock()
        for link in list(self._links.values()):
            if now - link.last_heard >= self.health_check_seconds:
                self._ping(link, now)
        # The next one is due when the longest-silent connection reaches the interval; one
        # heard from since then only makes that check find nothing to do.
        oldest = min((link.last_heard for link in self._links.values()), default=now)
        self._next_health_check = oldest + self.health_check_seconds

    def touched(self, key: str) -> None:
        """L1 served a value it holds under the L2 key `key` (on the hit path: no I/O here).

        The next tracked GET sends `TOUCH` for such keys in the same round trip: L2 never sees
        the reads L1 answers, so without it allkeys-lru evicts exactly the hottest keys (and
        the eviction's invalidation then drops them from L1 too). Best effort: a key is
        remembered until that GET, at most `TOUCH_BATCH` of them.
        """
        touched = self._touched
        if len(touched) < TOUCH_BATCH:
            touched[key] = None

    def read(self, key: str, fallback: Callable[[str], bytes | None]) -> TrackedRead:
        """GET `key` through the tracking connection of its primary, with a ticket.

        When tracking is refused, L2's breaker is not closed, or the primary's connection is
        down (or cannot be opened now), `fallback(key)` reads it instead: no ticket, so the
        value cannot enter L1 (except in the refused fallback, where the TTL bounds it).
        """
        if self.state == REFUSED or (self._breaker is not None and self._breaker.state != CLOSED):
            return TrackedRead(fallback(key), None)
        try:
            node = self._node_for(key)
        except (CacheUnavailable, RedisError, RedisClusterException, OSError, LookupError):
            return TrackedRead(fallback(key), None)
        value: bytes | None = None
        ticket: Ticket | None = None
        with self._lock:
            link = self._link(node)
            if link is not None:
                value, ticket = self._get(link, key)
        if ticket is None:
            return TrackedRead(fallback(key), None)
        if self.on_reply is not None:
            self.on_reply(key)
        return TrackedRead(value, ticket)

    def admit(self, ticket: Ticket | None, store: Callable[[str | None], bool]) -> bool:
        """Run `store(tracked_key)` if the value may enter L1 now; False if refused.

        Under tracking a value needs a ticket of the current epoch whose key saw no
        invalidation since its read; once tracking was refused, anything enters (TTL bound).
        """
        with self._lock:
            if self.state == REFUSED:
                return store(None)
            if ticket is None or ticket.epoch != self._epoch:
                return False
            if ticket.seq < self._forgotten_seq:
                return False  # too many invalidations since: cannot prove this key saw none
            invalidated_at = self._recent.get(ticket.key)
            if invalidated_at is not None and invalidated_at > ticket.seq:
                return False
            return store(ticket.key)

    def pending(self, timeout: float = 0.0) -> bool:
        """Whether a tracking connection has something to read (a push, or its end), waiting
        up to `timeout` seconds for it (tests and diagnostics; the hit path uses `drain`)."""
        fds = [link.fd for link in list(self._links.values())]
        if not fds:
            return False
        ready, _, _ = select.select(fds, [], [], timeout)
        return bool(ready)

    def connected_primaries(self) -> list[str]:
        """Names (`host:port`) of the primaries with an open tracking connection."""
        with self._lock:
            return sorted(self._links)

    def close(self) -> None:
        """Close every tracking connection (and flush L1: nothing keeps it coherent now)."""
        with self._lock:
            for name in list(self._links):
                self._drop(name, reason=None)
            self._flush("tracking closed")

    # --- connections (called with the lock held) ---------------------------------------------

    def _node_for(self, key: str) -> _Node:
        if self._route is None:
            self._route = _router(self._client_source())
        return self._route(key)

    def _link(self, node: _Node) -> _Link | None:
        link = self._links.get(node.name)
        if link is not None:
            return link
        now = self._clock()
        if now < self._retry_at.get(node.name, float("-inf")):
            return None
        connection = node.connection_class(**node.connection_kwargs)
        try:
            connection.connect()  # HELLO 3 (with AUTH): an error reply means no RESP3 here
            connection._parser.set_invalidation_push_handler(self._on_invalidate)
            connection.send_command("CLIENT", "TRACKING", "ON")
            connection.read_response()
        except ResponseError as exc:
            connection.disconnect()
            self._refuse(node.name, exc)
            return None
        except (RedisError, OSError) as exc:
            connection.disconnect()
            self._retry_at[node.name] = now + self.reconnect_seconds
            telemetry.logger.warning(
                "L1 tracking connection failed; L1 is not filled from this primary meanwhile",
                extra={"primary": node.name, "error": repr(exc)},
            )
            return None
        link = _Link(node.name, connection, now)
        self._links[node.name] = link
        self._by_fd[link.fd] = link
        self._poller.register(link.fd, select.POLLIN)
        self._next_health_check = min(self._next_health_check, now + self.health_check_seconds)
        # Anything cached before this connection existed was not tracked by it.
        self._flush("tracking connection opened")
        return link

    def _get(self, link: _Link, key: str) -> tuple[bytes | None, Ticket | None]:
        """GET on the tracking connection; (value, ticket), or (None, None): read elsewhere."""
        connection = link.connection
        touches = self._touches_for(link.name)
        try:
            if touches:
                commands = [("TOUCH", touched) for touched in touches]
                connection.send_packed_command(connection.pack_commands([*commands, ("GET", key)]))
                for _ in touches:
                    # An error reply costs the key its touch only. MOVED, say: migrating the
                    # slot deleted the key here, and that pushed its invalidation to L1.
                    with contextlib.suppress(ResponseError):
                        connection.read_response(disconnect_on_error=False)
            else:
                connection.send_command("GET", key)
            value = connection.read_response()  # pushes before the reply are applied first
        except ResponseError as exc:
            # MovedError is an AskError; a parser without cluster errors gives "MOVED ..."
            if isinstance(exc, AskError) or str(exc).startswith(("MOVED", "ASK")):
                # The slot moved: keys L1 holds from it are no longer tracked by its new
                # owner. Flush, and let redis-py learn the new slot map.
                self._flush("slot moved to another primary")
                self._route = None
                self._refresh_slots()
            return None, None  # any other error reply: the caller's fallback meets it too
        except (RedisError, OSError) as exc:
            self._lost(link, exc)
            return None, None
        # The ticket is taken after the reply (pushes it came after are older writes) and
        # before anything read past it (pushes about writes after our read).
        ticket = Ticket(self._epoch, self._seq, key)
        link.last_heard = self._clock()
        if _buffered(connection):
            self._read_pushes(link, link.last_heard)
        return value, ticket

    def _touches_for(self, name: str) -> list[str]:
        """Take the touched keys the primary `name` owns (others wait for their own GET).

        One TOUCH per key: in cluster mode keys of one primary may still be in other slots.
        """
        if not self._touched:
            return []
        # Swapped, then copied in one step (a hit on another thread may still add to the old
        # dict: that touch is lost, which only costs it its warmth).
        touched, self._touched = self._touched, {}
        mine: list[str] = []
        for key in list(touched):
            try:
                owner = self._node_for(key).name
            except (CacheUnavailable, RedisError, RedisClusterException, OSError, LookupError):
                continue  # no route now: dropped, best effort
            if owner == name:
                mine.append(key)
            elif len(self._touched) < TOUCH_BATCH:
                self._touched[key] = None
        return mine

    def _read_pushes(self, link: _Link, now: float) -> None:
        """Apply every complete push the connection holds (never blocks)."""
        try:
            while True:
                link.connection.read_response(
                    push_request=True, timeout=0, disconnect_on_error=False
                )
                link.last_heard = now
        except RedisTimeoutError:  # nothing complete left to read (a partial push waits)
            return
        except (RedisError, OSError) as exc:
            self._lost(link, exc)

    def _ping(self, link: _Link, now: float) -> None:
        try:
            link.connection.send_command("PING")
            link.connection.read_response(disconnect_on_error=False)
        except (RedisError, OSError) as exc:
            self._lost(link, exc)
            return
        link.last_heard = now

    def _lost(self, link: _Link, exc: BaseException) -> None:
        self._drop(link.name, reason=exc)
        self._retry_at[link.name] = self._clock() + self.reconnect_seconds
        self._flush("tracking connection lost")

    def _drop(self, name: str, *, reason: BaseException | None) -> None:
        link = self._links.pop(name, None)
        if link is None:
            return
        self._by_fd.pop(link.fd, None)
        with contextlib.suppress(KeyError, ValueError):
            self._poller.unregister(link.fd)
        link.connection.disconnect()
        if reason is not None:
            telemetry.logger.warning(
                "L1 tracking connection lost; L1 flushed",
                extra={"primary": name, "error": repr(reason)},
            )

    def _refuse(self, name: str, exc: BaseException) -> None:
        self.state = REFUSED
        self.refusal = f"{name}: {exc}"
        for other in list(self._links):
            self._drop(other, reason=None)
        self._flush("tracking refused")
        telemetry.count(telemetry.L1_TRACKING_UNAVAILABLE)
        telemetry.logger.warning(
            "L1 tracking refused by the server; L1 is bounded by the policy's L1 TTL only",
            extra={"primary": name, "error": str(exc)},
        )

    def _refresh_slots(self) -> None:
        client = self._client_source()
        nodes_manager = getattr(client, "nodes_manager", None)
        if nodes_manager is None:
            return
        try:
            nodes_manager.initialize()
        except (RedisError, RedisClusterException, OSError) as exc:
            telemetry.logger.warning("cluster slot refresh failed", extra={"error": repr(exc)})

    # --- invalidations (called with the lock held, from inside redis-py's reads) -------------

    def _on_invalidate(self, message: list[Any]) -> None:
        # redis-py logs and swallows an exception raised here, which would lose the message:
        # anything unexpected flushes L1 instead.
        try:
            keys = message[1]
            if keys is None:  # FLUSHALL / FLUSHDB: every tracked key is gone
                self._flush("server flushed its keyspace")
                return
            for raw in keys:
                key = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
                self._seq += 1
                self._recent[key] = self._seq
                self._recent.move_to_end(key)
                if len(self._recent) > RECENT_INVALIDATIONS:
                    _, self._forgotten_seq = self._recent.popitem(last=False)
                for cache in self._caches:
                    cache.discard_tracked(key)
        except Exception:
            telemetry.logger.exception("bad invalidation message; L1 flushed")
            self._flush("bad invalidation message")

    def _flush(self, why: str) -> None:
        self._epoch += 1
        self._recent.clear()
        self._forgotten_seq = self._seq
        self.flushes += 1
        for cache in self._caches:
            cache.clear()
        telemetry.logger.debug("L1 flushed", extra={"reason": why})
