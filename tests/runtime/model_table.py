"""The product table as the consistency model sees it: every committed change, in order.

`RecordingTable` wraps the moto DynamoDB client that every writer reaches in the end (the
environments' DynamoDB clients, the DAX cluster's backing store, out-of-band writers). A
write's items are read before and after it (strongly consistent; the model runs one actor at
a time, so nothing else commits in between), and for each item that changed:
- a DynamoDB Streams record (NEW_AND_OLD_IMAGES; INSERT, MODIFY or REMOVE) is queued on that
  item's shard queue in commit order: the stream keeps per-item order, nothing more;
- a product's new state is appended to its `history` (the origin's truth), tagged with the
  model operation that committed it.
A write that changes nothing makes no record, as in DynamoDB. Deletion markers (SK
``DELETED``) get records (the stream handler ignores them) but no history: they are not
products.

Every write reaches moto through this wrapper (the table starts empty), so it keeps the items
as they now are (`stored`): a write's "before" comes from there, and so does the "after" of a
PutItem or DeleteItem that succeeded (only UpdateItem and transactions are read back). Each
moto call costs milliseconds; this halves an example's.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from model_steps import current_op
from product.handler_events import stream_record

PRODUCT_PREFIX = "PRODUCT#"
PRODUCT_SK = "METADATA"
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/products-model/stream/2026-12-01"

Key = tuple[str, str]


def key_of(item_or_key: dict[str, Any]) -> Key:
    """The (PK, SK) of a low-level item or key."""
    return (item_or_key["PK"]["S"], item_or_key["SK"]["S"])


def _low_level(key: Key) -> dict[str, Any]:
    return {"PK": {"S": key[0]}, "SK": {"S": key[1]}}


def written_keys(operation: str, request: dict[str, Any]) -> list[tuple[str, Key]]:
    """(table, key) of every item a write request may change (not its ConditionChecks)."""
    if operation == "put_item":
        return [(request["TableName"], key_of(request["Item"]))]
    if operation in ("update_item", "delete_item"):
        return [(request["TableName"], key_of(request["Key"]))]
    if operation == "transact_write_items":
        written = []
        for entry in request["TransactItems"]:
            for kind, target in entry.items():
                if kind != "ConditionCheck":
                    written.append(
                        (target["TableName"], key_of(target.get("Item") or target["Key"]))
                    )
        return written
    raise ValueError(f"not a modelled write: {operation}")


@dataclass
class ProductState:
    """One committed state of a product: present (`item`) or absent (never made, deleted)."""

    product_id: str
    index: int
    item: dict[str, Any] | None
    op: int | None
    """The model operation that committed it (None: the initial absence)."""
    body: bytes | None = None
    etag: str | None = None
    version: int | None = None
    category: str | None = None
    obligations: list[tuple[float, int]] = field(default_factory=list)
    """(time, step) of each event after which reads must return this state or a newer one:
    the writer's acknowledgement, the delivery of its stream record."""

    @property
    def present(self) -> bool:
        return self.item is not None

    @property
    def representation(self) -> dict[str, Any] | None:
        """The product as responses show it (a list page's entry)."""
        return None if self.body is None else json.loads(self.body)

    def describe(self) -> str:
        if not self.present:
            return f"#{self.index} absent (op {self.op})"
        return f"#{self.index} v{self.version} {self.category} {self.etag} (op {self.op})"


@dataclass
class PendingRecord:
    """A stream record on its shard queue, and the product state it reports (if any)."""

    record: dict[str, Any]
    item_key: Key
    state: ProductState | None
    deliveries: int = 0


class StreamShards:
    """Per-item queues of stream records not yet applied, and those applied (for replays)."""

    def __init__(self) -> None:
        self.pending: dict[Key, deque[PendingRecord]] = {}
        self.applied: dict[Key, list[PendingRecord]] = {}

    def append(self, record: PendingRecord) -> None:
        self.pending.setdefault(record.item_key, deque()).append(record)

    def pending_keys(self) -> list[Key]:
        return sorted(key for key, queue in self.pending.items() if queue)

    def applied_keys(self) -> list[Key]:
        return sorted(key for key, records in self.applied.items() if records)

    def mark_applied(self, key: Key) -> PendingRecord:
        record = self.pending[key].popleft()
        self.applied.setdefault(key, []).append(record)
        return record

    def __len__(self) -> int:
        return sum(len(queue) for queue in self.pending.values())


class RecordingTable:
    """The moto client with every committed change recorded (history, stream)."""

    _WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")

    def __init__(self, client: Any, *, codec: Any, product_ids: list[str]) -> None:
        self._client = client
        self._codec = codec
        self._lock = threading.RLock()
        self.stream = StreamShards()
        self._stored: dict[Key, dict[str, Any]] = {}
        self.history: dict[str, list[ProductState]] = {
            product_id: [ProductState(product_id, 0, None, None)] for product_id in product_ids
        }

    def current(self, product_id: str) -> ProductState:
        return self.history[product_id][-1]

    def stored(self, key: Key) -> dict[str, Any] | None:
        """The item at `key` as the table now holds it (None: absent)."""
        with self._lock:
            return self._stored.get(key)

    def states_by(self, op: int) -> list[ProductState]:
        """The product states operation `op` committed."""
        return [s for states in self.history.values() for s in states if s.op == op]

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if name not in self._WRITES:
            return target

        def write(**request: Any) -> Any:
            with self._lock:
                touched = written_keys(name, request)
                before = {key: self._stored.get(key) for _table, key in touched}
                result = target(**request)
                for table, key in touched:
                    after = self._after(name, request, table, key)
                    if after is None:
                        self._stored.pop(key, None)
                    else:
                        self._stored[key] = after
                    self._changed(key, before[key], after)
                return result

        return write

    def _after(
        self, operation: str, request: dict[str, Any], table: str, key: Key
    ) -> dict[str, Any] | None:
        """The item at `key` after a write that succeeded."""
        if operation == "put_item":
            return dict(request["Item"])
        if operation == "delete_item":
            return None
        item: dict[str, Any] | None = self._client.get_item(
            TableName=table, Key=_low_level(key), ConsistentRead=True
        ).get("Item")
        return item

    def _changed(self, key: Key, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if old == new:
            return
        state = None
        if key[0].startswith(PRODUCT_PREFIX) and key[1] == PRODUCT_SK:
            state = self._commit(key[0].removeprefix(PRODUCT_PREFIX), new)
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        keys = {"PK": {"S": key[0]}, "SK": {"S": key[1]}}
        record = stream_record(event, keys=keys, new=new, old=old)
        record["eventSourceARN"] = STREAM_ARN  # this model's table, not the handler tests'
        self.stream.append(PendingRecord(record, key, state))

    def _commit(self, product_id: str, item: dict[str, Any] | None) -> ProductState:
        states = self.history.setdefault(product_id, [ProductState(product_id, 0, None, None)])
        state = ProductState(product_id, len(states), item, current_op())
        if item is not None:
            body, etag, version = self._codec.render_item(item)
            state.body, state.etag, state.version = body, etag, version
            state.category = item["category"]["S"]
        states.append(state)
        return state
