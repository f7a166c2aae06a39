"""The consistency model's world: environments built from the real runtime, one table, one DAX
cluster, one redis-server, one stream, and the faults, with every step under the model's
control. `ConsistencyModel` (model_machine.py) decides what happens; this module does it and
judges every answer with model_promise.

- Environments (separate runtimes, each with its own L1, its own Redis user and clients):
  readers A and B keep L1 coherent by client tracking, reader C's Redis user may not track
  (its L1 falls back to its TTL); writers W1 and W2 run `ProductWrites` (so conditional
  writes, If-Match, body versions, delete and re-create are the real ones); S runs the real
  stream handler. Their DynamoDB client is the recording moto table, their DAX client the
  model's DAX cluster, both behind pause points.
- Policies: items `static` (L1 300 s, L2 1 day, DAX 1 h, SWR 1 day), lists `dynamic` (L1 5 s,
  L2 60 s, SWR 30 s), as deployed (API Gateway's cache is not in the model).
- Time is the model's clock (runtimes, DAX records, Redis TTLs); every step moves it 1 ms, as
  real steps take time.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import note
from hypothesis.control import currently_in_test_context
from model_dax import FakeDaxCluster
from model_promise import (
    Precondition,
    ReadStart,
    Served,
    check_converged,
    check_item_read,
    check_page,
    check_page_converged,
    check_write,
)
from model_redis import RedisControl
from model_steps import READ, PausingClient, Task, set_current_op
from model_table import Key, RecordingTable
from runtime_helpers import FakeClock

from cache_constructs.contract import environment as names
from cache_constructs.contract.keys import item_keys
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.product.domain.errors import ApiError
from cache_constructs.product.domain.preconditions import parse_entity_tags
from cache_constructs.product.domain.validation import validate_product_body
from cache_constructs.product.domain.writes import ProductWrites
from cache_constructs.product.handlers import service_runtime, stream_handler
from cache_constructs.product.table_schema import create_table_kwargs

TABLE = "products-model"
REGION = "eu-west-1"
READERS = ("A", "B", "C")
REFUSING_TRACKING = frozenset({"C"})
WRITERS = ("W1", "W2")
STREAM = "S"
ENVIRONMENTS = (*READERS, *WRITERS, STREAM)
PRODUCTS = ("p1", "p2")[: int(os.environ.get("CONSISTENCY_MODEL_PRODUCTS", "2"))]
"""CONSISTENCY_MODEL_PRODUCTS=1: one product (a smaller space for a run aimed at one defect)."""
CATEGORIES = ("red", "blue")
NAMES = ("Lamp", "Desk")
PAGE_LIMIT = 10
ITEM_POLICY = CachePolicy.STATIC.without_layers("api")
LIST_POLICY = CachePolicy.DYNAMIC.without_layers("api")
ITEM_KEY_PARTS = ("value", "fence", "lease")
"""An item's Redis keys in `item_keys` order."""
STEP_SECONDS = 0.001
START_TIME = 1_800_000_000.0


def _note(message: str) -> None:
    """hypothesis' note (printed with a failing example); nothing when a replay drives the
    machine outside hypothesis (test_consistency_model.py's fixed step lists)."""
    if currently_in_test_context():
        note(message)


class ModelClock(FakeClock):
    """Epoch seconds that move only when the model says so."""

    def __init__(self, start: float = START_TIME) -> None:
        super().__init__(start)

    def iso(self) -> str:
        """`updatedAt` as the write path formats it."""
        moment = datetime.fromtimestamp(self.now, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StreamContext:
    """The Lambda context of a stream invocation: 5 s left, so its Redis retry window (the
    remaining time minus the 5 s margin) is empty and each call is tried once."""

    function_name: str = "product-stream-model"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:stream-model"
    aws_request_id: str = "model-request"

    def get_remaining_time_in_millis(self) -> int:
        return 5_000


@dataclass
class Environment:
    name: str
    runtime: Any
    coherent_l1: bool
    """Whether this environment's L1 can only hold what client tracking vouches for."""
    cut: bool = False


@dataclass
class Actor:
    """A slow read or write in flight: its task and what to do with its answer."""

    task: Task
    environment: str
    on_done: Callable[[Any], None]
    outage: list[bool] = field(default_factory=lambda: [False])
    """[True] once Redis was unreachable for the actor's environment during its life."""


@dataclass
class Clients:
    """What the model tells about each product: representations clients have seen."""

    seen: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def saw(self, product_id: str, etag: str | None, version: int | None) -> None:
        if etag is None or version is None:
            return
        known = self.seen.setdefault(product_id, [])
        if (etag, version) not in known:
            known.append((etag, version))

    def pick(self, product_id: str, index: int) -> tuple[str, int] | None:
        known = self.seen.get(product_id, [])
        return known[-1 - index % len(known)] if known else None


def empty_table(client: Any) -> None:
    for page in client.get_paginator("scan").paginate(TableName=TABLE):
        for item in page["Items"]:
            client.delete_item(TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]})


def ensure_table(client: Any) -> None:
    if TABLE not in client.list_tables()["TableNames"]:
        client.create_table(**create_table_kwargs(TABLE))


class ModelSystem:
    """One example's world (see the module docstring)."""

    def __init__(self, code: Any, redis_control: RedisControl, moto_client: Any) -> None:
        self.code = code
        self.clock = ModelClock()
        self.redis = redis_control
        redis_control.reset(self.clock)
        ensure_table(moto_client)
        empty_table(moto_client)
        self.table = RecordingTable(moto_client, codec=code.codec, product_ids=list(PRODUCTS))
        self.dax = FakeDaxCluster(
            self.table, clock=self.clock, record_ttl_seconds=ITEM_POLICY.dax_ttl_seconds
        )
        self.step = 0
        self._ops = itertools.count(1)
        self.actors: list[Actor] = []
        self.clients = Clients()
        self.envs: dict[str, Environment] = {}
        for number, name in enumerate(ENVIRONMENTS):
            self.envs[name] = self._environment(name, number)

    def _environment(self, name: str, number: int) -> Environment:
        tracking = name not in REFUSING_TRACKING
        environ = {
            names.TABLE_NAME: TABLE,
            names.ITEM_CACHE_POLICY: ITEM_POLICY.to_runtime_json(),
            names.LIST_CACHE_POLICY: LIST_POLICY.to_runtime_json(),
            "REDIS_URL": self.redis.add_user(name.lower(), tracking=tracking),
            "AWS_REGION": REGION,
        }
        runtime = self.code.build_runtime(
            environ,
            tracking=True,
            dynamodb_client=PausingClient(self.table),
            dax_client=PausingClient(self.dax),
            clock=self.clock,
            rng=random.Random(number),
        )
        return Environment(name, runtime, coherent_l1=self.code.tracks_l1 and tracking)

    # --- bookkeeping ----------------------------------------------------------------------------

    def _begin(self) -> int:
        """A new model step: the clock moves 1 ms, pushes so far reach their readers."""
        self.step += 1
        self.clock.advance(STEP_SECONDS)
        self.redis.barrier()
        op = next(self._ops)
        set_current_op(op)
        return op

    def _actor(
        self,
        environment: str,
        op: int,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        *,
        pause_at: frozenset[str] = frozenset(),
        outage: list[bool] | None = None,
    ) -> Actor | None:
        """Run `fn` now (no pause points) or as a task parked at its first pause point; the
        parked actor, if it parked. `outage` ([bool]) is set when Redis becomes unreachable for
        `environment` meanwhile."""
        if not pause_at:
            on_done(fn())
            return None
        task = Task(op, f"op{op}@{environment}", fn, pause_at)
        actor = Actor(task, environment, on_done, outage if outage is not None else [False])
        task.start()
        self._settle(actor)
        return None if task.done else actor

    def _settle(self, actor: Actor) -> None:
        if not actor.task.done:
            if actor not in self.actors:
                self.actors.append(actor)
            return
        if actor in self.actors:
            self.actors.remove(actor)
        if actor.task.error is not None:
            raise actor.task.error
        actor.on_done(actor.task.result)

    def _staleness(self, environment: Environment, ttl: float, skips_l1: bool) -> float:
        return 0.0 if environment.coherent_l1 or skips_l1 else float(ttl)

    @contextlib.contextmanager
    def _request(self, no_cache: bool) -> Iterator[None]:
        """A request, with `Cache-Control: no-cache` if `no_cache`."""
        if not no_cache:
            yield
            return
        with self.code.no_cache():
            yield

    # --- reads ----------------------------------------------------------------------------------

    def read_item(self, env: str, product_id: str, *, no_cache: bool, slow: bool) -> Actor | None:
        """Read an item in `env`; a slow read parks after its first origin call (returned)."""
        op = self._begin()
        environment = self.envs[env]
        skips = no_cache and self.code.skips_l1_on_no_cache
        start = ReadStart(
            self.clock(), self.step, self._staleness(environment, ITEM_POLICY.l1_ttl_seconds, skips)
        )

        def read() -> Any:
            with self._request(no_cache):
                return environment.runtime.items.read(product_id)

        def judge(result: Any) -> None:
            served = Served(result.body, result.etag, result.x_cache)
            _note(f"op {op}: {env} read {product_id}: {served.x_cache} {served.etag}")
            check_item_read(self.table.history[product_id], start, served)
            self.clients.saw(product_id, result.etag, result.version)

        return self._actor(env, op, read, judge, pause_at=frozenset({READ} if slow else ()))

    def read_races(
        self,
        env: str,
        product_id: str,
        write: Callable[[], None],
        *,
        evicted_before_read: tuple[str, ...],
        evicted_before_fill: tuple[str, ...],
    ) -> None:
        """The race every read-through cache must win, as one step: memory pressure takes some
        of the item's keys, a reader reads the origin (parked with that answer in hand),
        `write` runs, memory pressure takes some keys again, then the reader goes on to its
        fill."""
        self.evict_item_keys(product_id, evicted_before_read)
        reader = self.read_item(env, product_id, no_cache=False, slow=True)
        write()
        self.evict_item_keys(product_id, evicted_before_fill)
        if reader is not None:  # an L2 hit read no origin: there was no fill to race
            self._go_on(reader, to_end=True)

    def read_list(self, env: str, category: str, *, no_cache: bool, slow: bool) -> None:
        op = self._begin()
        environment = self.envs[env]
        skips = no_cache and self.code.skips_l1_on_no_cache
        start = ReadStart(
            self.clock(), self.step, self._staleness(environment, LIST_POLICY.l1_ttl_seconds, skips)
        )

        def read() -> Any:
            with self._request(no_cache):
                return environment.runtime.lists.read(category, PAGE_LIMIT, None)

        def judge(result: Any) -> None:
            served = Served(result.body, result.etag, result.x_cache)
            _note(f"op {op}: {env} listed {category}: {served.x_cache} {served.etag}")
            check_page(self.table.history, category, start, served)

        self._actor(env, op, read, judge, pause_at=frozenset({READ} if slow else ()))

    # --- writes ---------------------------------------------------------------------------------

    def write(
        self,
        env: str,
        kind: str,
        product_id: str,
        *,
        category: str = "red",
        name: str = "Lamp",
        condition: str = "none",
        seen: int = 0,
        pause_at: frozenset[str] = frozenset(),
    ) -> None:
        """POST ("create"), PUT ("replace") or DELETE ("delete") through `ProductWrites`."""
        op = self._begin()
        environment = self.envs[env]
        precondition, if_match, if_none_match, body_version = self._condition(
            product_id, kind, condition, seen
        )
        body: dict[str, Any] = {"name": name, "category": category, "price": 10}
        if kind == "create":
            body["productId"] = product_id
        if body_version is not None:
            body["version"] = body_version
        what = f"op {op}: {kind} {product_id} by {env} ({precondition})"

        def write() -> tuple[str, Any]:
            writes = ProductWrites(environment.runtime, clock=self.clock.iso)
            try:
                if kind == "create":
                    outcome = writes.create(validate_product_body(body, path_id=None))
                elif kind == "replace":
                    data = validate_product_body(body, path_id=product_id)
                    outcome = writes.replace(
                        product_id,
                        data,
                        if_match=parse_entity_tags(if_match, "If-Match"),
                        if_none_match=parse_entity_tags(if_none_match, "If-None-Match"),
                    )
                else:
                    writes.delete(product_id, if_match=parse_entity_tags(if_match, "If-Match"))
                    outcome = None
            except ApiError as error:
                return str(error.status), None
            return "committed", outcome

        outage = [environment.cut]

        def judge(result: tuple[str, Any]) -> None:
            answer, outcome = result
            _note(f"{what}: {answer} {getattr(outcome, 'etag', '')}")
            committed = self.table.states_by(op)
            check_write(
                self.table.history[product_id],
                committed,
                what=what,
                precondition=precondition,
                answer=answer,
                outcome_etag=getattr(outcome, "etag", None),
            )
            if answer == "committed" and not outage[0]:
                for state in committed:  # the acknowledgement: due at once (write-through)
                    state.obligations.append((self.clock(), self.step))
            if outcome is not None:
                self.clients.saw(product_id, outcome.etag, outcome.version)

        self._actor(env, op, write, judge, pause_at=pause_at, outage=outage)

    def _condition(
        self, product_id: str, kind: str, condition: str, seen: int
    ) -> tuple[Precondition, str | None, str | None, int | None]:
        """The precondition and how the request states it (If-Match, If-None-Match, body)."""
        if kind == "create":
            return Precondition("absent"), None, None, None
        if condition == "if-none-match":
            return Precondition("absent"), None, "*", None
        held = self.clients.pick(product_id, seen)
        if condition == "if-match" and held is not None:
            return Precondition("etag", etag=held[0]), held[0], None, None
        if condition == "version":
            version = held[1] if held is not None else 0
            return Precondition("version", version=version), None, None, version
        return Precondition(), None, None, None

    def ever_present(self, product_id: str) -> bool:
        """Whether the product existed at some point of this example."""
        return any(state.present for state in self.table.history[product_id])

    def out_of_band_update(self, product_id: str, name: str) -> None:
        """A write straight into the table (an admin job): version + 1, no write-through, no
        DAX; its stream record is what tells the caches."""
        self._begin()
        current = self.table.current(product_id)
        if not current.present:
            return
        assert current.item is not None and current.version is not None
        item = {k: v for k, v in current.item.items() if k != "writeToken"}
        item.update(
            version={"N": str(current.version + 1)},
            name={"S": f"{name} (batch)"},
            updatedAt={"S": self.clock.iso()},
        )
        self.table.put_item(TableName=TABLE, Item=item)

    # --- stream ---------------------------------------------------------------------------------

    def deliver(self, index: int) -> None:
        """The next record of one item's shard reaches the stream handler (per-item order)."""
        self._begin()
        keys = self.table.stream.pending_keys()
        if keys:
            self._deliver_next(keys[index % len(keys)])

    def _deliver_next(self, key: Key) -> None:
        pending = self.table.stream.pending[key][0]
        applied = self._invoke_stream(pending.record)
        outcome = "applied" if applied else "failed"
        _note(f"delivered {pending.record['eventName']} of {key}: {outcome}")
        if applied:
            self.table.stream.mark_applied(key)
            if pending.state is not None:
                pending.state.obligations.append((self.clock(), self.step))

    def out_of_band_update_delivered(self, product_id: str, name: str) -> None:
        """An out-of-band update, then its item's stream records delivered."""
        self.out_of_band_update(product_id, name)
        self.deliver_item_records(product_id)

    def deliver_item_records(self, product_id: str) -> None:
        """Each stream record pending on the product's partition reaches the stream handler
        once, in shard order (a failed one stays pending, as the event source mapping keeps it)."""
        partition = "#" + product_id
        for key in [key for key in self.table.stream.pending_keys() if key[0].endswith(partition)]:
            for _ in range(len(self.table.stream.pending[key])):
                self._begin()
                self._deliver_next(key)

    def replay(self, index: int, which: int) -> None:
        """A record applied before arrives again (at-least-once delivery)."""
        self._begin()
        keys = self.table.stream.applied_keys()
        if not keys:
            return
        records = self.table.stream.applied[keys[index % len(keys)]]
        self._invoke_stream(records[which % len(records)].record)

    def _invoke_stream(self, record: dict[str, Any]) -> bool:
        service_runtime.set_runtime(self.envs[STREAM].runtime)
        try:
            response = stream_handler.handler({"Records": [record]}, StreamContext())
        finally:
            service_runtime.set_runtime(None)
        return not response["batchItemFailures"]

    # --- faults ---------------------------------------------------------------------------------

    def evict(self, index: int) -> None:
        self._begin()
        keys = self.redis.keys()
        if keys:
            key = keys[index % len(keys)]
            _note(f"evicted {key.decode()}")
            self.redis.evict(key)

    def evict_item_keys(self, product_id: str, which: tuple[str, ...]) -> None:
        """Evict the item's keys named in `which` ("value", "fence", "lease")."""
        if not which:
            return
        self._begin()
        # by position: b139d26 names the fence `tombstone`
        keys = dict(zip(ITEM_KEY_PARTS, item_keys(product_id), strict=True))
        _note(f"evicted {', '.join(keys[part] for part in which)}")
        for part in which:
            self.redis.evict(keys[part].encode())

    def lose_every_key(self) -> None:
        self._begin()
        self.redis.flush()

    def cut(self, env: str) -> None:
        self._begin()
        self.envs[env].cut = True
        self.redis.cut(env.lower())
        for actor in self.actors:
            if actor.environment == env:
                actor.outage[0] = True

    def restore(self, env: str) -> None:
        self._begin()
        self.envs[env].cut = False
        self.redis.restore(env.lower())

    def dax_unreachable(self, unreachable: bool) -> None:
        self._begin()
        self.dax.unreachable = unreachable

    def dax_refuses_next_write(self) -> None:
        self._begin()
        self.dax.refuse_next_write = True

    def dax_loses_next_write_reply(self) -> None:
        self._begin()
        self.dax.lose_next_write_reply = True

    def advance(self, seconds: float) -> None:
        self._begin()
        expired = self.redis.advance(seconds)
        if expired:
            _note(f"expired after {seconds} s: {sorted(key.decode() for key in expired)}")

    def resume(self, index: int) -> None:
        """A parked actor runs to its next pause point or its end."""
        if not self.actors:
            self._begin()
            return
        self._go_on(self.actors[index % len(self.actors)], to_end=False)

    def _go_on(self, actor: Actor, *, to_end: bool) -> None:
        self._begin()
        set_current_op(actor.task.op)
        if to_end:
            actor.task.finish()
        else:
            actor.task.resume()
        self._settle(actor)

    # --- the end --------------------------------------------------------------------------------

    def converge(self) -> None:
        """Faults end, actors finish, every record is delivered, L1 TTLs pass: then every layer
        must agree with the table."""
        for name in ENVIRONMENTS:
            if self.envs[name].cut:
                self.restore(name)
        self.dax.unreachable = False
        self.dax.lose_next_write_reply = False
        self.dax.refuse_next_write = False
        while self.actors:
            self.resume(0)
        # Breakers (L2 5 s, DAX 10 s) close again; then the stream catches up.
        self.advance(11.0)
        for _ in range(3 * len(self.table.stream) + 3):
            if not len(self.table.stream):
                break
            self.deliver(0)
            if len(self.table.stream):
                self.advance(6.0)
        assert not len(self.table.stream), "stream records still fail with every fault over"
        self.advance(max(ITEM_POLICY.l1_ttl_seconds, LIST_POLICY.l1_ttl_seconds) + 1.0)
        for env in READERS:
            runtime = self.envs[env].runtime
            for product_id in PRODUCTS:
                state = self.table.current(product_id)
                for no_cache in (False, True):
                    self._begin()
                    with self._request(no_cache):
                        read = runtime.items.read(product_id)
                    check_converged(
                        f"{env} read ({read.x_cache})",
                        state,
                        Served(read.body, read.etag, read.x_cache),
                    )
            for category in CATEGORIES:
                for no_cache in (False, True):
                    self._begin()
                    with self._request(no_cache):
                        page = runtime.lists.read(category, PAGE_LIMIT, None)
                    check_page_converged(
                        f"{env} list ({page.x_cache})",
                        self.table.history,
                        category,
                        Served(page.body, page.etag, page.x_cache),
                    )
        for product_id in PRODUCTS:
            check_converged("L2", self.table.current(product_id), self.l2_entry(product_id))

    def l2_entry(self, product_id: str) -> Served | None:
        """The item's L2 value as stored (envelope `<version>|<fresh_until>|<etag>\\n<body>`)."""
        raw = self.redis.admin.get(f"pc:{{p:{product_id}}}:v")
        if raw is None:
            return None
        head, _, body = raw.partition(b"\n")
        version, _fresh_until, etag = head.split(b"|", 2)
        if int(version) < 0:
            return Served(None, None, "L2")
        return Served(body, etag.decode(), "L2")

    def close(self) -> None:
        for actor in self.actors:
            actor.task.abort()
        self.actors.clear()
        set_current_op(None)
        for environment in self.envs.values():
            with contextlib.suppress(Exception):
                self.code.close(environment.runtime)
        self.redis.drop_users()
