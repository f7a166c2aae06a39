"""A DAX cluster for the consistency model: an item cache of its own in front of DynamoDB.

No DAX emulator exists; this is DAX's item cache as AWS describes it ("DAX and DynamoDB
consistency models"), with the botocore surface the runtime calls:
- GetItem (eventually consistent) is answered from the item cache while the record lives
  (the cluster's record TTL: the item policy's `dax_ttl_seconds`, on the model's clock);
  otherwise DAX reads DynamoDB and caches the answer, a "not found" too (negative caching).
  So an answer may be as old as the record: DAX returns what it cached.
- GetItem with `ConsistentRead` is passed through to DynamoDB and caches nothing.
- A write through DAX (PutItem, UpdateItem, DeleteItem, TransactWriteItems) goes to DynamoDB
  and, once that succeeded, updates the item cache: each item it wrote is cached as DynamoDB
  now holds it (DAX reads a transaction's items back for that), a deleted one as "not found".
- A write that did not go through DAX (the runtime's DynamoDB fallback while DAX was
  unreachable, an out-of-band write straight into the table) leaves the item cache alone.
- `unreachable`: every call fails as a dead endpoint does (the runtime falls back to
  DynamoDB). `refuse_next_write`: a blip for the next write only (it falls back to
  DynamoDB; DAX keeps its copy). `lose_next_write_reply`: the next write is applied
  (DynamoDB and the item cache) and its reply is lost (a read timeout), the ambiguous
  failure of issue 8's defect 7.
Queries are not modelled: the runtime never sends them to DAX. One node: replication lag
between DAX nodes (usually under a second) is not modelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from model_table import Key, key_of, written_keys

ENDPOINT = "daxs://model-cluster.dax.local"


class FakeDaxCluster:
    """DAX's item cache over `backing` (the model's `RecordingTable`), TTL on `clock`."""

    def __init__(self, backing: Any, *, clock: Callable[[], float], record_ttl_seconds: float):
        self.backing = backing
        self.clock = clock
        self.record_ttl_seconds = record_ttl_seconds
        self.unreachable = False
        self.lose_next_write_reply = False
        self.refuse_next_write = False
        self._records: dict[Key, tuple[dict[str, Any] | None, float]] = {}
        self._lock = threading.Lock()

    # --- what the model inspects -------------------------------------------------------------

    def cached(self, key: Key) -> tuple[bool, dict[str, Any] | None]:
        """(True, item or None) while a live record exists for `key`; (False, None) if not."""
        with self._lock:
            record = self._records.get(key)
            if record is None or record[1] <= self.clock():
                return False, None
            return True, record[0]

    # --- reads ---------------------------------------------------------------------------------

    def get_item(self, **request: Any) -> dict[str, Any]:
        self._reachable()
        if request.get("ConsistentRead"):
            return dict(self.backing.get_item(**request))
        key = key_of(request["Key"])
        live, item = self.cached(key)
        if not live:
            item = self.backing.get_item(**request).get("Item")
            self._remember(key, item)
        return {"Item": item} if item is not None else {}

    # --- writes --------------------------------------------------------------------------------

    def put_item(self, **request: Any) -> dict[str, Any]:
        return self._write("put_item", request)

    def update_item(self, **request: Any) -> dict[str, Any]:
        return self._write("update_item", request)

    def delete_item(self, **request: Any) -> dict[str, Any]:
        return self._write("delete_item", request)

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        return self._write("transact_write_items", request)

    def _write(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        self._reachable()
        if self.refuse_next_write:
            self.refuse_next_write = False
            raise ConnectTimeoutError(endpoint_url=ENDPOINT)
        result = dict(getattr(self.backing, operation)(**request))
        for _table_name, key in written_keys(operation, request):
            self._remember(key, self.backing.stored(key))
        if self.lose_next_write_reply:
            self.lose_next_write_reply = False
            raise ReadTimeoutError(endpoint_url=ENDPOINT)
        return result

    # --- helpers ---------------------------------------------------------------------------------

    def _reachable(self) -> None:
        if self.unreachable:
            raise ConnectTimeoutError(endpoint_url=ENDPOINT)

    def _remember(self, key: Key, item: dict[str, Any] | None) -> None:
        with self._lock:
            self._records[key] = (item, self.clock() + self.record_ttl_seconds)
