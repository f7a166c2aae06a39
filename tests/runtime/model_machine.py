"""The consistency model as a hypothesis state machine over the real caches (model_system.py).

Rules (each one step; hypothesis chooses them, their arguments and their order):
- reads: an item or a category page in reader A, B or C, with or without
  `Cache-Control: no-cache`, at once or as a slow reader that parks after each origin call
  (its DynamoDB/DAX answer in hand, before its fill) and goes on when `resume_actor` says;
- writes through `ProductWrites` by writer W1 or W2: create (POST; `create_once` in
  CONSISTENCY_MODEL_RULES instead of `create`: never a re-create), replace (PUT:
  unconditional, If-Match or body `version` from a representation a client saw, possibly an
  old one, or If-None-Match: *), delete (unconditional or If-Match); each may park after its
  reads (its precondition read: a delete and re-create can land before its write) and/or
  after its writes (committed, before its write-through);
- an out-of-band write straight into the table (DAX and the caches are not told);
- stream: the next record of any item's shard is delivered to the real stream handler
  (per-item order kept, items in any order, as late as hypothesis likes), or an applied
  record is delivered again (at-least-once);
- faults: delete any one Redis key (eviction), an item's value and fence together
  (`evict_item_state`), lose every key, Redis unreachable for any
  environment (readers: `redis_unreachable_readers`, writers and the stream function:
  `redis_unreachable_writers`, both: `redis_unreachable`) and back, DAX unreachable and back
  (writes fall back to DynamoDB and DAX keeps its old copy), DAX refusing the next write
  only (`dax_blip`), DAX losing a write's reply;
- time: the clock moves 0.5 s to 25 h (DAX records and Redis TTLs expire on it);
- `resume_actor`: a parked reader or writer runs to its next pause point or its end;
- `read_races_write`: the read-through race as one step (some of the item's keys evicted, a
  reader parked with the origin's answer, a replace or delete through the API, some keys
  evicted again, the reader's fill), so the search reaches races that need evictions on both
  sides of the write (issue 8's defect 1) without finding five steps in one order;
  `read_races_stream`: the same race against an out-of-band update whose stream records are
  delivered inside it.
Invariants (model_promise.py), after every answer: the consistency promise per environment
(due at once for coherent L1s and no-cache requests, after the L1 TTL where tracking is
refused; an out-of-band write is due once its stream record is delivered), read-your-writes
through the API, write answers tell the truth, no lost update, versions and ETags never
repeat; at the end, with every fault over and every record delivered, every layer agrees
with the table.

Environment variables: CONSISTENCY_MODEL_PROFILE (`quick`, the default, or `long`: the
evidence runs), CONSISTENCY_MODEL_EXAMPLES and CONSISTENCY_MODEL_STEPS (override the
profile's example count and steps per example: fewer steps shrink faster),
CONSISTENCY_MODEL_RULES (comma-separated rule names: only those run; `pause_writers` and
`slow_readers` name the pausing), CONSISTENCY_MODEL_CODE (a module whose `CODE` replaces
this checkout's, see model_code.py).
"""

from __future__ import annotations

import importlib
import os
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)
from model_redis import RedisControl
from model_steps import READ, WRITE
from model_system import (
    CATEGORIES,
    ENVIRONMENTS,
    NAMES,
    PRODUCTS,
    READERS,
    STREAM,
    WRITERS,
    ModelSystem,
)

PROFILES = {
    "quick": {"max_examples": 60, "stateful_step_count": 25},
    "long": {"max_examples": 2000, "stateful_step_count": 40},
}
PAUSES = {
    "none": frozenset(),
    "after-reads": frozenset({READ}),
    "after-commit": frozenset({WRITE}),
    "after-both": frozenset({READ, WRITE}),
}
EVICTIONS = {
    "nothing": (),
    "value": ("value",),
    "fence": ("fence",),
    "lease": ("lease",),
    "value and fence": ("value", "fence"),
    "every key": ("value", "fence", "lease"),
}
"""What memory pressure may take of an item's keys at a point of `read_races_write`, from the
least (where hypothesis shrinks to: a counterexample shows the fewest evictions it needs)."""
ADVANCES = (0.5, 2.5, 6.0, 31.0, 301.0, 3601.0, 90_000.0)
"""Past a lease (2 s), the list L1 TTL (5 s), the list SWR (30 s), the item L1 TTL, a fence's
minimum and the negative TTL (300 s), a DAX record (3,600 s), an item's L2 TTL (1 day)."""


def load_code() -> Any:
    """The code under test: CONSISTENCY_MODEL_CODE's `CODE`, or this checkout's."""
    module = os.environ.get("CONSISTENCY_MODEL_CODE")
    if module:
        return importlib.import_module(module).CODE
    from model_code import MainCode

    return MainCode()


def model_settings(**overrides: Any) -> settings:
    """The profile CONSISTENCY_MODEL_PROFILE names, CONSISTENCY_MODEL_EXAMPLES applied."""
    profile = dict(PROFILES[os.environ.get("CONSISTENCY_MODEL_PROFILE", "quick")])
    if os.environ.get("CONSISTENCY_MODEL_EXAMPLES"):
        profile["max_examples"] = int(os.environ["CONSISTENCY_MODEL_EXAMPLES"])
    if os.environ.get("CONSISTENCY_MODEL_STEPS"):
        profile["stateful_step_count"] = int(os.environ["CONSISTENCY_MODEL_STEPS"])
    profile.update(overrides)
    return settings(
        deadline=None,
        # The same examples on every run and machine, and no example database to replay a
        # failure from another branch's run: the verdict depends on the code only.
        derandomize=True,
        database=None,
        # An example runs real Redis and moto calls (slow by hypothesis' measure, never
        # timed); preconditions reject rules whose parts are absent (a filter by design).
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        **profile,
    )


def enabled_rules() -> frozenset[str] | None:
    raw = os.environ.get("CONSISTENCY_MODEL_RULES")
    return frozenset(name.strip() for name in raw.split(",")) if raw else None


def _allowed(*names: str) -> Any:
    """The rule runs only where CONSISTENCY_MODEL_RULES (if set) names one of `names`."""
    return precondition(lambda machine: any(machine.allows(name) for name in names))


class ConsistencyModel(RuleBasedStateMachine):
    """Rules over one `ModelSystem` (set up per example; `run_model` supplies the parts)."""

    code: ClassVar[Any]
    redis_control: ClassVar[RedisControl]
    moto_client: ClassVar[Any]
    enabled: ClassVar[frozenset[str] | None] = None
    """The rules that may run (None: all)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False
        self.system = ModelSystem(self.code, self.redis_control, self.moto_client)

    def allows(self, name: str) -> bool:
        return self.enabled is None or name in self.enabled

    def _run(self, operation: Any, *args: Any, **kwargs: Any) -> None:
        try:
            operation(*args, **kwargs)
        except BaseException:
            self.broken = True
            raise

    # --- reads ----------------------------------------------------------------------------------

    @_allowed("read_item")
    @rule(env=st.sampled_from(READERS), product=st.sampled_from(PRODUCTS), no_cache=st.booleans())
    def read_item(self, env: str, product: str, no_cache: bool) -> None:
        self._run(self.system.read_item, env, product, no_cache=no_cache, slow=False)

    @_allowed("slow_readers")
    @rule(env=st.sampled_from(READERS), product=st.sampled_from(PRODUCTS), no_cache=st.booleans())
    def start_slow_read_item(self, env: str, product: str, no_cache: bool) -> None:
        self._run(self.system.read_item, env, product, no_cache=no_cache, slow=True)

    @_allowed("read_list")
    @rule(
        env=st.sampled_from(READERS), category=st.sampled_from(CATEGORIES), no_cache=st.booleans()
    )
    def read_list(self, env: str, category: str, no_cache: bool) -> None:
        self._run(self.system.read_list, env, category, no_cache=no_cache, slow=False)

    @_allowed("slow_readers")
    @rule(
        env=st.sampled_from(READERS), category=st.sampled_from(CATEGORIES), no_cache=st.booleans()
    )
    def start_slow_read_list(self, env: str, category: str, no_cache: bool) -> None:
        self._run(self.system.read_list, env, category, no_cache=no_cache, slow=True)

    @_allowed("read_races_write")
    @rule(
        env=st.sampled_from(READERS),
        product=st.sampled_from(PRODUCTS),
        writer=st.sampled_from(WRITERS),
        kind=st.sampled_from(["replace", "delete"]),
        name=st.sampled_from(NAMES),
        before_read=st.sampled_from(list(EVICTIONS)),
        before_fill=st.sampled_from(list(EVICTIONS)),
    )
    def read_races_write(
        self,
        env: str,
        product: str,
        writer: str,
        kind: str,
        name: str,
        before_read: str,
        before_fill: str,
    ) -> None:
        """A fill races a write through the API in one step (evictions around it chosen by
        the search): the same race takes five separate steps in the right order otherwise."""
        self._run(
            self.system.read_races,
            env,
            product,
            lambda: self.system.write(writer, kind, product, name=name),
            evicted_before_read=EVICTIONS[before_read],
            evicted_before_fill=EVICTIONS[before_fill],
        )

    @_allowed("read_races_stream")
    @rule(
        env=st.sampled_from(READERS),
        product=st.sampled_from(PRODUCTS),
        name=st.sampled_from(NAMES),
        before_read=st.sampled_from(list(EVICTIONS)),
        before_fill=st.sampled_from(list(EVICTIONS)),
    )
    def read_races_stream(
        self, env: str, product: str, name: str, before_read: str, before_fill: str
    ) -> None:
        """The same race against an out-of-band update whose stream records are delivered
        inside it: the stream path's invalidation is all that tells the caches."""
        self._run(
            self.system.read_races,
            env,
            product,
            lambda: self.system.out_of_band_update_delivered(product, name),
            evicted_before_read=EVICTIONS[before_read],
            evicted_before_fill=EVICTIONS[before_fill],
        )

    # --- writes ---------------------------------------------------------------------------------

    def _pause(self, pause: str) -> frozenset[str]:
        return PAUSES[pause] if self.allows("pause_writers") else frozenset()

    @_allowed("create", "create_once")
    @rule(
        writer=st.sampled_from(WRITERS),
        product=st.sampled_from(PRODUCTS),
        category=st.sampled_from(CATEGORIES),
        name=st.sampled_from(NAMES),
        pause=st.sampled_from(sorted(PAUSES)),
    )
    def create(self, writer: str, product: str, category: str, name: str, pause: str) -> None:
        if not self.allows("create") and self.system.ever_present(product):
            return  # `create_once`: no re-create (a run aimed past defects of re-creation)
        self._run(
            self.system.write,
            writer,
            "create",
            product,
            category=category,
            name=name,
            pause_at=self._pause(pause),
        )

    @_allowed("replace")
    @rule(
        writer=st.sampled_from(WRITERS),
        product=st.sampled_from(PRODUCTS),
        category=st.sampled_from(CATEGORIES),
        name=st.sampled_from(NAMES),
        condition=st.sampled_from(["none", "if-match", "version", "if-none-match"]),
        seen=st.integers(0, 3),
        pause=st.sampled_from(sorted(PAUSES)),
    )
    def replace(
        self,
        writer: str,
        product: str,
        category: str,
        name: str,
        condition: str,
        seen: int,
        pause: str,
    ) -> None:
        self._run(
            self.system.write,
            writer,
            "replace",
            product,
            category=category,
            name=name,
            condition=condition,
            seen=seen,
            pause_at=self._pause(pause),
        )

    @_allowed("delete")
    @rule(
        writer=st.sampled_from(WRITERS),
        product=st.sampled_from(PRODUCTS),
        condition=st.sampled_from(["none", "if-match"]),
        seen=st.integers(0, 3),
        pause=st.sampled_from(sorted(PAUSES)),
    )
    def delete(self, writer: str, product: str, condition: str, seen: int, pause: str) -> None:
        self._run(
            self.system.write,
            writer,
            "delete",
            product,
            condition=condition,
            seen=seen,
            pause_at=self._pause(pause),
        )

    @_allowed("out_of_band_update")
    @rule(product=st.sampled_from(PRODUCTS), name=st.sampled_from(NAMES))
    def out_of_band_update(self, product: str, name: str) -> None:
        self._run(self.system.out_of_band_update, product, name)

    @_allowed("resume_actor")
    @rule(index=st.integers(0, 3))
    def resume_actor(self, index: int) -> None:
        self._run(self.system.resume, index)

    # --- stream ---------------------------------------------------------------------------------

    @_allowed("deliver_stream_record")
    @rule(index=st.integers(0, 3))
    def deliver_stream_record(self, index: int) -> None:
        self._run(self.system.deliver, index)

    @_allowed("replay_stream_record")
    @rule(index=st.integers(0, 3), which=st.integers(0, 3))
    def replay_stream_record(self, index: int, which: int) -> None:
        self._run(self.system.replay, index, which)

    # --- faults and time ------------------------------------------------------------------------

    @_allowed("evict_key")
    @rule(index=st.integers(0, 40))
    def evict_key(self, index: int) -> None:
        self._run(self.system.evict, index)

    @_allowed("evict_key", "evict_item_state")
    @rule(product=st.sampled_from(PRODUCTS))
    def evict_item_state(self, product: str) -> None:
        """Memory pressure takes an item's value and fence together (its lease, in use, stays)."""
        self._run(self.system.evict_item_keys, product, EVICTIONS["value and fence"])

    @_allowed("lose_every_key")
    @rule()
    def lose_every_key(self) -> None:
        self._run(self.system.lose_every_key)

    # Readers' outages (their reads bypass L2) and writers' or the stream function's (their
    # write-through or invalidation fails) are separate rules, so a run can aim at one.
    @_allowed("redis_unreachable", "redis_unreachable_readers")
    @rule(env=st.sampled_from(READERS))
    def redis_unreachable_for_reader(self, env: str) -> None:
        self._run(self.system.cut, env)

    @_allowed("redis_unreachable", "redis_unreachable_writers")
    @rule(env=st.sampled_from((*WRITERS, STREAM)))
    def redis_unreachable_for_writer(self, env: str) -> None:
        self._run(self.system.cut, env)

    @_allowed("redis_unreachable", "redis_unreachable_readers", "redis_unreachable_writers")
    @rule(env=st.sampled_from(ENVIRONMENTS))
    def redis_reachable(self, env: str) -> None:
        self._run(self.system.restore, env)

    @_allowed("dax_unreachable")
    @rule()
    def dax_unreachable(self) -> None:
        self._run(self.system.dax_unreachable, True)

    @_allowed("dax_unreachable")
    @rule()
    def dax_reachable(self) -> None:
        self._run(self.system.dax_unreachable, False)

    @_allowed("dax_unreachable", "dax_blip")
    @rule()
    def dax_refuses_next_write(self) -> None:
        self._run(self.system.dax_refuses_next_write)

    @_allowed("dax_loses_next_write_reply")
    @rule()
    def dax_loses_next_write_reply(self) -> None:
        self._run(self.system.dax_loses_next_write_reply)

    @_allowed("advance_clock")
    @rule(seconds=st.sampled_from(ADVANCES))
    def advance_clock(self, seconds: float) -> None:
        self._run(self.system.advance, seconds)

    def teardown(self) -> None:
        try:
            if not self.broken:
                self.system.converge()
        finally:
            self.system.close()


def run_model(
    redis_control: RedisControl,
    moto_client: Any,
    *,
    code: Any = None,
    rules: frozenset[str] | None = None,
    **setting_overrides: Any,
) -> None:
    """Run the model once (hypothesis runs its examples) against `code` (default: `load_code()`)."""
    machine = type(
        "ConsistencyModel",
        (ConsistencyModel,),
        {
            "code": code if code is not None else load_code(),
            "redis_control": redis_control,
            "moto_client": moto_client,
            "enabled": rules if rules is not None else enabled_rules(),
        },
    )
    run_state_machine_as_test(machine, settings=model_settings(**setting_overrides))


Step = tuple[str, dict[str, Any]]
"""One rule call: the rule's name and its arguments, as hypothesis prints a failing example."""


def replay(
    redis_control: RedisControl, moto_client: Any, steps: list[Step], *, code: Any = None
) -> None:
    """Run one fixed step list through the machine (its rules, checks and teardown), outside
    hypothesis: a counterexample kept as a regression case."""
    machine = type(
        "ConsistencyModel",
        (ConsistencyModel,),
        {
            "code": code if code is not None else load_code(),
            "redis_control": redis_control,
            "moto_client": moto_client,
            "enabled": None,
        },
    )()
    try:
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
    finally:
        machine.teardown()
