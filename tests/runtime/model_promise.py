"""The consistency promise and the write rules, judged against the table's history.

The promise (docs/architecture.md): a read that starts more than max_staleness after an
acknowledged write returns that write's version or newer. Per product, every committed state
carries obligations: the (time, step) of its writer's acknowledgement (an API write whose
environment reached Redis throughout: its write-through and bumps ran) and of the delivery of
its stream record (any write: that is when an out-of-band write becomes due). A read starting
at (t, step) in an environment whose bound is `staleness` must return a state at or after the
newest state with an obligation before it: `step` later for staleness 0 (L1 coherent by
client tracking, or skipped with `Cache-Control: no-cache`), `t - staleness` later otherwise
(an L1 bounded by its TTL, where tracking is refused). A list page must show every product as
one of those states does (in the category with that representation, or not in it).

The write rules: a committed write is answered as committed and a refused one committed
nothing; a conditional write commits only on top of the state its precondition named (no
lost update, across delete and re-create too); versions and ETags never repeat for an id.

Each way to break them is an exception of its own, so hypothesis tells the bugs apart (a stale
read is named after the layer that served it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from model_table import ProductState


class Violation(AssertionError):
    """The model saw the promise or a write rule broken."""


class StaleFromL1(Violation):
    """An L1 hit older than an acknowledged (or stream-delivered) write allows."""


class StaleFromL2(Violation):
    """An L2 hit (fresh or stale-while-revalidate) older than the promise allows."""


class StaleMiss(Violation):
    """An origin read through the cache (MISS) older than the promise allows (e.g. DAX's
    old copy taken for current)."""


class StaleBypass(Violation):
    """A read that bypassed L2 (Redis unreachable, breaker open) older than the promise
    allows."""


class UnknownRepresentation(Violation):
    """A read returned a representation that was never committed."""


class VersionRepeated(Violation):
    """Two committed states of one product share a version."""


class EtagRepeated(Violation):
    """Two committed states of one product share an ETag."""


class LostUpdate(Violation):
    """A conditional write committed on top of a state its precondition did not name."""


class WrongAnswer(Violation):
    """A write was answered as committed when it did not commit, or the other way round."""


class NotConverged(Violation):
    """With every stream record delivered (and L1 TTLs past), a layer still disagrees with
    the table."""


_STALE_BY_LAYER: dict[str, type[Violation]] = {
    "HIT-L1": StaleFromL1,
    "HIT-L2": StaleFromL2,
    "STALE": StaleFromL2,
    "MISS": StaleMiss,
    "BYPASS": StaleBypass,
}


@dataclass(frozen=True)
class ReadStart:
    """When a read started (model clock, model step) and its environment's bound."""

    time: float
    step: int
    staleness: float

    def due(self, obligation: tuple[float, int]) -> bool:
        """Whether a state with this obligation must be seen by the read."""
        at_time, at_step = obligation
        if self.staleness == 0:
            return at_step < self.step
        return self.time - at_time > self.staleness


def floor_index(states: list[ProductState], start: ReadStart, x_cache: str) -> int:
    """The newest state the read must return (or something newer).

    Only an L1 hit may lag by the environment's bound (an L1 that tracking cannot keep
    coherent lives out its TTL); every other answer comes from a layer that the
    acknowledgement or the stream record already updated (docs/architecture.md, "The promise
    per layer": L2 written through or fenced, DAX only when a fence vouches, a bypassed read
    the origin's current version), so it is due at once."""
    if x_cache != "HIT-L1":
        start = ReadStart(start.time, start.step, 0.0)
    due = [s.index for s in states if any(start.due(o) for o in s.obligations)]
    return max(due, default=0)


def _history(states: list[ProductState]) -> str:
    return "; ".join(state.describe() for state in states)


@dataclass(frozen=True)
class Served:
    """What a read returned: the body (None: not found), its ETag and `X-Cache`."""

    body: bytes | None
    etag: str | None
    x_cache: str


def check_item_read(states: list[ProductState], start: ReadStart, served: Served) -> None:
    """Raise if `served` is not one of the states from the floor on."""

    def matches(state: ProductState) -> bool:
        if served.body is None:
            return not state.present
        return state.present and state.body == served.body and state.etag == served.etag

    floor = floor_index(states, start, served.x_cache)
    if any(matches(state) for state in states[floor:]):
        return
    shown = "not found" if served.body is None else f"{served.etag} {served.body[:80]!r}"
    detail = (
        f"{states[0].product_id}: {served.x_cache} served {shown}; due from state #{floor} "
        f"(read at {start}); history: {_history(states)}"
    )
    if not any(matches(state) for state in states):
        raise UnknownRepresentation(detail)
    raise _STALE_BY_LAYER.get(served.x_cache, Violation)(detail)


def check_page(
    histories: dict[str, list[ProductState]],
    category: str,
    start: ReadStart,
    served: Served,
) -> None:
    """Raise if the page shows a product other than one of its states from the floor on."""
    assert served.body is not None, "a list read always has a body"
    shown = {entry["productId"]: entry for entry in json.loads(served.body)["items"]}
    unknown = sorted(set(shown) - set(histories))
    if unknown:
        raise UnknownRepresentation(f"page of {category} shows unknown products {unknown}")
    for product_id, states in histories.items():
        entry = shown.get(product_id)

        def matches(state: ProductState, entry: Any = entry) -> bool:
            if entry is None:
                return not state.present or state.category != category
            return state.present and state.category == category and state.representation == entry

        floor = floor_index(states, start, served.x_cache)
        if any(matches(state) for state in states[floor:]):
            continue
        what = "without it" if entry is None else f"with v{entry.get('version')} {entry}"
        detail = (
            f"{served.x_cache} page of {category} {what}; {product_id} due from state #{floor} "
            f"(read at {start}); history: {_history(states)}"
        )
        if not any(matches(state) for state in states):
            raise UnknownRepresentation(detail)
        raise _STALE_BY_LAYER.get(served.x_cache, Violation)(detail)


@dataclass(frozen=True)
class Precondition:
    """What a conditional write requires of the state it replaces.

    kind: "none", "absent" (POST, If-None-Match: *), "etag" (If-Match), "version" (body)."""

    kind: str = "none"
    etag: str | None = None
    version: int | None = None

    def holds_for(self, state: ProductState) -> bool:
        if self.kind == "absent":
            return not state.present
        if self.kind == "etag":
            return state.present and state.etag == self.etag
        if self.kind == "version":
            if self.version == 0:
                return not state.present
            return state.present and state.version == self.version
        return True


def check_write(
    states: list[ProductState],
    committed: list[ProductState],
    *,
    what: str,
    precondition: Precondition,
    answer: str,
    outcome_etag: str | None,
) -> None:
    """Raise if a write's answer, its precondition or the versions break a write rule.

    `answer`: "committed" or the refusal's status ("404", "409", "412"); `committed`: the
    states this write committed; `outcome_etag`: the ETag it answered with (PUT, POST)."""
    mine = [state for state in committed if state.product_id == states[0].product_id]
    if answer == "committed":
        if len(mine) != 1:
            raise WrongAnswer(f"{what} answered as committed; it committed {len(mine)} states")
        if outcome_etag is not None and mine[0].etag != outcome_etag:
            raise WrongAnswer(f"{what} answered {outcome_etag}; it committed {mine[0].describe()}")
    elif mine:
        raise WrongAnswer(
            f"{what} answered {answer}, but it committed {mine[0].describe()}; "
            f"history: {_history(states)}"
        )
    for state in mine:
        replaced = states[state.index - 1]
        if not precondition.holds_for(replaced):
            raise LostUpdate(
                f"{what} ({precondition}) committed {state.describe()} on top of "
                f"{replaced.describe()}; history: {_history(states)}"
            )
    check_unique(states)


def check_unique(states: list[ProductState]) -> None:
    present = [state for state in states if state.present]
    for attribute, error in (("version", VersionRepeated), ("etag", EtagRepeated)):
        seen: dict[Any, ProductState] = {}
        for state in present:
            value = getattr(state, attribute)
            if value in seen:
                raise error(
                    f"{states[0].product_id}: {seen[value].describe()} and {state.describe()} "
                    f"share {attribute} {value}; history: {_history(states)}"
                )
            seen[value] = state


def check_converged(layer: str, state: ProductState, served: Served | None) -> None:
    """After the stream caught up: `served` (None: the layer holds nothing) is `state`."""
    if served is None:
        return
    if served.body is None and not state.present:
        return
    if state.present and served.body == state.body and served.etag == state.etag:
        return
    shown = "not found" if served.body is None else f"{served.etag} {served.body[:80]!r}"
    raise NotConverged(
        f"{layer} holds {shown} for {state.product_id}; the table: {state.describe()}"
    )


def check_page_converged(
    layer: str, histories: dict[str, list[ProductState]], category: str, served: Served
) -> None:
    assert served.body is not None
    shown = {entry["productId"]: entry for entry in json.loads(served.body)["items"]}
    expected = {
        product_id: states[-1].representation
        for product_id, states in histories.items()
        if states[-1].present and states[-1].category == category
    }
    if shown != expected:
        raise NotConverged(f"{layer} page of {category}: {shown}; the table: {expected}")
