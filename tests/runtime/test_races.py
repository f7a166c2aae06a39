"""Forced interleavings through the full read path (ItemCache, real redis-server, moto).

Each test holds a reader inside its origin read (after DynamoDB answered, before the answer
reaches the cache) on a threading.Event, lets writers and stream records run, then releases
the reader, and checks that no stale value outlives the promise. Separate runtimes stand for
separate Lambda environments (each has its own L1).
"""

from __future__ import annotations

import threading

import pytest
from runtime_helpers import delete_product, put_product, rendered

from cache_constructs.contract.keys import item_keys

SLOW = "slow-reader"


class SlowReader:
    """Runs `runtime.items.read(product_id)` in a thread held inside its origin read."""

    def __init__(self, counting_dynamo, runtime, product_id: str) -> None:
        self.answered = threading.Event()
        self.release = threading.Event()
        self.result = None
        counting_dynamo.on_get_item = self._hook
        self._thread = threading.Thread(
            target=self._run, args=(runtime, product_id), name=SLOW, daemon=True
        )

    def _hook(self, request, response) -> None:
        if threading.current_thread().name == SLOW:
            self.answered.set()
            assert self.release.wait(10)

    def _run(self, runtime, product_id) -> None:
        self.result = runtime.items.read(product_id)

    def start(self) -> SlowReader:
        self._thread.start()
        assert self.answered.wait(10), "reader never reached the origin"
        return self

    def finish(self):
        self.release.set()
        self._thread.join(10)
        assert not self._thread.is_alive()
        return self.result


@pytest.fixture
def lambdas(make_runtime):
    """reader, writer and stream-handler environments, plus a factory for fresh readers."""
    return make_runtime(), make_runtime(), make_runtime(), make_runtime


def anchor(runtime, counting_dynamo, product_id: str) -> None:
    """Read once, so a strongly consistent fill anchors the item's fence, then let the value
    go (evicted) while the fence stays: the next reader may use an eventually consistent
    read, and write-throughs land."""
    runtime.items.read(product_id)
    runtime.items.l1.clear()
    runtime.l2.client.delete(item_keys(product_id).value)
    counting_dynamo.reads.clear()


def test_slow_reader_cannot_refill_over_a_write_through(lambdas, counting_dynamo):
    reader, writer, _, fresh = lambdas
    put_product(counting_dynamo, "r1", 1)
    anchor(reader, counting_dynamo, "r1")
    slow = SlowReader(counting_dynamo, reader, "r1").start()

    new = put_product(counting_dynamo, "r1", 2, name="new")
    assert writer.items.write_through("r1", rendered(new)) is True  # acknowledged

    assert slow.finish().version == 1  # it started before the write: allowed to see v1
    assert reader.items.l1.get("r1") is None  # ...but v1 was cached nowhere
    later = fresh().items.read("r1")
    assert (later.version, later.x_cache) == (2, "HIT-L2")


def test_write_through_on_a_cold_fence_leaves_the_fill_to_a_consistent_read(
    lambdas, counting_dynamo
):
    reader, writer, _, fresh = lambdas
    put_product(counting_dynamo, "r0", 1)
    slow = SlowReader(counting_dynamo, reader, "r0").start()  # its lease made the fence
    new = put_product(counting_dynamo, "r0", 2, name="new")
    assert writer.items.write_through("r0", rendered(new)) is False  # fence not anchored
    assert slow.finish().version == 1
    counting_dynamo.on_get_item = None
    later = fresh().items.read("r0")
    assert (later.version, later.x_cache) == (2, "MISS")
    assert counting_dynamo.reads[-1]["ConsistentRead"] is True
    assert fresh().items.read("r0").x_cache == "HIT-L2"


def test_slow_reader_vs_stream_invalidation_when_write_through_failed(lambdas, counting_dynamo):
    reader, _, stream, fresh = lambdas
    put_product(counting_dynamo, "r2", 1)
    slow = SlowReader(counting_dynamo, reader, "r2").start()

    put_product(counting_dynamo, "r2", 2)  # committed; its write-through never happened
    stream.items.invalidate("r2", 1)  # MODIFY record of v2: S = 2 - 1

    assert slow.finish().version == 1
    counting_dynamo.on_get_item = None
    later = fresh().items.read("r2")
    assert (later.version, later.x_cache) == (2, "MISS")
    assert fresh().items.read("r2").x_cache == "HIT-L2"


def test_stale_value_cached_before_the_write_is_removed_by_the_stream(lambdas, counting_dynamo):
    reader, _, stream, fresh = lambdas
    put_product(counting_dynamo, "r3", 1)
    assert reader.items.read("r3").version == 1  # v1 cached in L2
    put_product(counting_dynamo, "r3", 2)  # write-through failed
    stream.items.invalidate("r3", 1)
    assert fresh().items.read("r3").version == 2


def test_delete_then_recreate_with_a_reader_that_saw_not_found(lambdas, counting_dynamo):
    reader, writer, stream, fresh = lambdas
    put_product(counting_dynamo, "r4", 3)
    assert writer.items.read("r4").version == 3
    delete_product(counting_dynamo, "r4")
    writer.items.invalidate("r4", 3)  # the delete path invalidates through the old version

    slow = SlowReader(counting_dynamo, reader, "r4").start()  # sees "not found"
    recreated = put_product(counting_dynamo, "r4", 4, name="again")
    assert writer.items.write_through("r4", rendered(recreated)) is True
    # a "not found" from an eventually consistent read is never trusted: the consistent
    # re-read sees the recreate
    assert slow.finish().version == 4
    assert counting_dynamo.reads[-1].get("ConsistentRead") is True

    after = fresh().items.read("r4")
    assert (after.version, after.x_cache) == (4, "HIT-L2")
    # the delete's REMOVE record (S=3) and the INSERT record (S=3) arrive late
    stream.items.invalidate("r4", 3)
    stream.items.invalidate("r4", 3)
    counting_dynamo.on_get_item = None
    assert fresh().items.read("r4").version == 4


def test_delete_then_recreate_with_a_reader_that_saw_the_old_item(lambdas, counting_dynamo):
    reader, writer, _, fresh = lambdas
    put_product(counting_dynamo, "r5", 3)
    slow = SlowReader(counting_dynamo, reader, "r5").start()  # holds v3
    delete_product(counting_dynamo, "r5")
    writer.items.invalidate("r5", 3)
    assert slow.finish().version == 3
    counting_dynamo.on_get_item = None
    assert fresh().items.read("r5").body is None  # not v3
    recreated = put_product(counting_dynamo, "r5", 4)
    writer.items.write_through("r5", rendered(recreated))
    assert fresh().items.read("r5").version == 4


def test_write_through_arriving_after_a_newer_one(lambdas, counting_dynamo):
    _, writer, _, fresh = lambdas
    put_product(counting_dynamo, "r6", 1, name="one")
    anchor(writer, counting_dynamo, "r6")
    v2 = put_product(counting_dynamo, "r6", 2, name="two")
    v3 = put_product(counting_dynamo, "r6", 3, name="three")
    assert writer.items.write_through("r6", rendered(v3)) is True
    assert writer.items.write_through("r6", rendered(v2)) is False
    got = fresh().items.read("r6")
    assert (got.version, got.x_cache) == (3, "HIT-L2")


def test_stream_records_arriving_late_keep_the_newer_value(lambdas, counting_dynamo):
    _, writer, stream, fresh = lambdas
    put_product(counting_dynamo, "r7", 4)
    anchor(writer, counting_dynamo, "r7")
    v5 = put_product(counting_dynamo, "r7", 5)
    assert writer.items.write_through("r7", rendered(v5)) is True
    for stale_through in (1, 2, 3, 4):  # records of v2..v5, late and out of order
        stream.items.invalidate("r7", stale_through)
    got = fresh().items.read("r7")
    assert (got.version, got.x_cache) == (5, "HIT-L2")
    assert counting_dynamo.reads == []


def test_refresh_inside_swr_window_cannot_resurrect_an_old_version(
    make_runtime, counting_dynamo, clock
):
    reader = make_runtime()
    writer = make_runtime()
    put_product(counting_dynamo, "r8", 1)
    reader.items.read("r8")
    clock.advance(3600 + 1)  # past freshness, inside the 60 s SWR window
    reader.items.l1.clear()
    slow = SlowReader(counting_dynamo, reader, "r8").start()  # the refreshing lease winner
    v2 = put_product(counting_dynamo, "r8", 2)
    writer.items.write_through("r8", rendered(v2))
    assert slow.finish().version == 1
    counting_dynamo.on_get_item = None
    assert make_runtime().items.read("r8").version == 2
