"""End to end: a 2 s Redis outage through `make local` loses no stream invalidation.

The stack's stream function runs in its own worker process with the deployed timeout, and the
poller with the deployed mapping's settings (the e2e stack lowers the retries to 1, which the
in-invocation retries make irrelevant here). The restart waits for the event that matters:
the stream function's log shows it tried Redis during the outage.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import redis_servers

from cache_constructs.product.domain.representation import item_from_product
from e2e.stack_process import StackProcess

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 2.0


def _put_directly(stack: StackProcess, product_id: str, version: int) -> None:
    """An out-of-band write straight into the emulator: only its stream record tells L2."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.info["dynamodb_endpoint"],
        region_name=stack.info["region"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    product = {
        "productId": product_id,
        "name": "Kettle",
        "category": "kitchen",
        "price": 20,
        "version": version,
        "updatedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    client.put_item(TableName=stack.info["table_name"], Item=item_from_product(product))


def _l2_failures_logged(log: Path) -> int:
    if not log.exists():
        return 0
    return log.read_text(errors="replace").count('"message":"L2 call failed"')


def _wait_for(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.05)


def _tombstone(url: str, product_id: str) -> bytes | None:
    with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
        value: bytes | None = client.hget(f"pc:{{p:{product_id}}}:t", "v")
        return value


def _dead_lettered(stack: StackProcess, product_id: str) -> list[dict[str, Any]]:
    path = Path(stack.info["dead_letter_file"])
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    key = f"PRODUCT#{product_id}"
    return [e for e in entries if e["record"]["dynamodb"]["Keys"]["PK"]["S"] == key]


def test_a_2s_redis_outage_loses_no_invalidation_through_make_local(
    stack: StackProcess, stack_redis: redis_servers.RedisServer
) -> None:
    """On b139d26 the stream function failed the record at once in each invocation (no
    retry inside it; an open breaker skips Redis altogether) and the poller dead-lettered it
    after its retry: no tombstone after Redis came back."""
    product_id = f"outage-{uuid.uuid4().hex[:12]}"
    _put_directly(stack, product_id, 1)
    _wait_for(
        lambda: _tombstone(stack_redis.url, product_id) == b"0",
        within=10,
        what="the first record's invalidation (versions < 1)",
    )
    log = stack.state_dir / "stream.log"
    failures_before = _l2_failures_logged(log)

    stack_redis.stop()
    try:
        _put_directly(stack, product_id, 2)
        _wait_for(
            lambda: _l2_failures_logged(log) > failures_before,
            within=10,
            what="the stream function trying Redis during the outage",
        )
        # The outage itself (the scenario, not a synchronisation): it goes on for 2 s after
        # the stream function first found Redis down, longer than the poller's own retry.
        time.sleep(OUTAGE_SECONDS)
    finally:
        stack_redis.start()

    # Redis restarted empty (no persistence): the tombstone is the retried invalidation's.
    _wait_for(
        lambda: _tombstone(stack_redis.url, product_id) == b"1",
        within=10,
        what="the record applied once Redis answered (versions <= 1 stale)",
    )
    assert _dead_lettered(stack, product_id) == []
    read = stack.request("GET", f"/products/{product_id}")
    assert read.status == 200 and read.json()["version"] == 2
