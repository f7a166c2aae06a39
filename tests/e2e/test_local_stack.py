"""End to end: the local stack over HTTP, its emulator and its Redis (issue: `make local`).

One stack subprocess serves the module (tests/e2e/conftest.py). "Within max_staleness"
means: poll until the expected answer, with the deadline the stack publishes per route in
stack.json (L1 TTL + stream lag), and fail if it does not come by then.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import redis
import redis_servers

from cache_constructs.contract.keys import item_keys
from cache_constructs.product.domain.representation import item_from_product
from e2e.request_flow import RequestFlow
from e2e.stack_process import HttpResult, StackProcess, process_status

pytestmark = pytest.mark.e2e


def _max_staleness(stack: StackProcess, method: str, path: str) -> float:
    route = next(r for r in stack.info["routes"] if (r["method"], r["path"]) == (method, path))
    return float(route["max_staleness_seconds"])


def _eventually(
    probe: Callable[[], HttpResult], accept: Callable[[HttpResult], bool], *, within: float
) -> HttpResult:
    """Poll `probe` until `accept`; fail with the last answer once `within` seconds passed."""
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if accept(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not within {within} s: {result.status} {result.x_cache} {result.body[:300]!r}"
            )
        time.sleep(0.1)


def _dynamodb(stack: StackProcess) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=stack.info["dynamodb_endpoint"],
        region_name=stack.info["region"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _product(product_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "productId": product_id,
        "name": "Tea pot",
        "category": "kitchen",
        "price": 12.5,
        **fields,
    }


def _put_directly(stack: StackProcess, product: dict[str, Any]) -> None:
    """Write an item straight into the emulator (not through the API), as another app would."""
    stamped = {"updatedAt": datetime.now(UTC).isoformat(timespec="milliseconds"), **product}
    _dynamodb(stack).put_item(TableName=stack.info["table_name"], Item=item_from_product(stamped))


STACK_CONTRACT_KEYS = {"api_url", "dynamodb_endpoint", "table_name", "region", "redis_url"}


def test_stack_json_publishes_the_local_stack_contract(
    stack: StackProcess, stack_redis: redis_servers.RedisServer
) -> None:
    published = json.loads((stack.state_dir / "stack.json").read_text())
    assert STACK_CONTRACT_KEYS - published.keys() == set(), "contract keys missing"

    api = urlsplit(published["api_url"])
    assert (api.scheme, api.hostname, api.path) == ("http", "127.0.0.1", "")
    assert api.port is not None
    connection = http.client.HTTPConnection(api.hostname, api.port, timeout=10)
    try:
        connection.request("GET", f"/products/{_new_id('contract')}")
        assert connection.getresponse().status == 404  # the product API answers there
    finally:
        connection.close()

    assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", published["region"])
    assert published["table_name"] and isinstance(published["table_name"], str)
    assert urlsplit(published["dynamodb_endpoint"]).scheme in ("http", "https")
    table = _dynamodb(stack).describe_table(TableName=published["table_name"])["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert f":{published['region']}:" in table["TableArn"]
    assert table["StreamSpecification"]["StreamEnabled"]

    assert published["redis_url"] == stack_redis.url  # the REDIS_URL it was given
    with redis.Redis.from_url(published["redis_url"], socket_timeout=5) as client:
        assert client.ping() is True


def test_crud_with_cache_headers_and_preconditions(stack: StackProcess) -> None:
    product_id = _new_id("crud")
    created = stack.request("POST", "/products", body=_product(product_id))
    assert created.status == 201, created.body
    assert created.headers["Location"].endswith(f"/products/{product_id}")
    assert created.json()["version"] == 1

    first = stack.request("GET", f"/products/{product_id}")
    tracked = stack.request("GET", f"/products/{product_id}")
    second = stack.request("GET", f"/products/{product_id}")
    assert first.status == tracked.status == second.status == 200
    assert first.x_cache in ("MISS", "HIT-L2")  # write-through may have filled L2 already
    assert tracked.x_cache == "HIT-L2"  # read through L1's tracking connection: kept in L1
    assert second.x_cache == "HIT-L1"
    assert second.json() == created.json()
    etag = second.headers["ETag"]
    assert etag == created.headers["ETag"]
    assert second.headers["Cache-Control"].startswith("public, max-age=")

    not_modified = stack.request("GET", f"/products/{product_id}", headers={"If-None-Match": etag})
    assert not_modified.status == 304 and not_modified.body == b""
    assert not_modified.headers["ETag"] == etag

    listed = stack.request("GET", "/products?category=kitchen&limit=100")
    assert listed.status == 200
    assert product_id in [item["productId"] for item in listed.json()["items"]]

    replaced = stack.request(
        "PUT",
        f"/products/{product_id}",
        body=_product(product_id, name="Tea pot XL"),
        headers={"If-Match": etag},
    )
    assert replaced.status == 200, replaced.body
    assert replaced.json()["version"] == 2

    stale = stack.request(
        "PUT", f"/products/{product_id}", body=_product(product_id), headers={"If-Match": etag}
    )
    assert stale.status == 412
    assert stale.json()["error"] == "precondition_failed"

    deleted = stack.request("DELETE", f"/products/{product_id}")
    assert deleted.status == 204
    gone = _eventually(
        lambda: stack.request("GET", f"/products/{product_id}"),
        lambda r: r.status == 404,
        within=_max_staleness(stack, "GET", "/products/{id}"),
    )
    assert gone.json()["error"] == "not_found"
    assert stack.request("DELETE", f"/products/{product_id}").status == 404


def _wait_until_the_stream_applied(stack: StackProcess, product_id: str, version: int) -> None:
    """Until the invalidation function has applied the stream record that wrote `version`
    (the item's fence records version - 1 as stale), bounded by the route's max_staleness."""
    fence = item_keys(product_id).fence
    deadline = time.monotonic() + _max_staleness(stack, "GET", "/products/{id}")
    with redis.Redis.from_url(stack.info["redis_url"], socket_timeout=5) as client:
        while int(client.hget(fence, "v") or -1) < version - 1:
            assert time.monotonic() < deadline, f"stream record of {product_id} not applied"
            time.sleep(0.05)  # polls the fence the stream worker writes (another process)


def test_first_read_of_an_uncached_item_is_a_miss_then_a_hit(stack: StackProcess) -> None:
    product_id = _new_id("miss")
    _put_directly(stack, _product(product_id, version=1))
    # The INSERT's invalidation, applied between two reads, would rightly make the second a
    # miss too: let it land first.
    _wait_until_the_stream_applied(stack, product_id, 1)

    reads = [stack.request("GET", f"/products/{product_id}") for _ in range(3)]

    assert [r.status for r in reads] == [200, 200, 200]
    assert reads[0].x_cache == "MISS"
    assert reads[1].x_cache in ("HIT-L1", "HIT-L2")
    assert reads[2].x_cache in ("HIT-L1", "HIT-L2")


def test_a_write_through_the_api_is_read_back_at_once_past_l1(stack: StackProcess) -> None:
    # The read worker (its own process, like a Lambda environment) serves the product from
    # L1; a PUT through the write worker must be what the very next GET returns.
    product_id = _new_id("ryw")
    assert stack.request("POST", "/products", body=_product(product_id)).status == 201
    _wait_until_the_stream_applied(stack, product_id, 1)  # its invalidation may touch L1 too
    reads = [stack.request("GET", f"/products/{product_id}") for _ in range(3)]
    assert reads[-1].x_cache == "HIT-L1"
    for price in (2, 3, 4):
        updated = stack.request(
            "PUT", f"/products/{product_id}", body=_product(product_id, price=price)
        )
        assert updated.status == 200
        after = stack.request("GET", f"/products/{product_id}")
        assert (after.json()["price"], after.json()["version"]) == (
            price,
            updated.json()["version"],
        )


def test_bad_input_is_a_4xx_naming_the_field(stack: StackProcess) -> None:
    bad_price = stack.request("POST", "/products", body=_product(_new_id("bad"), price=-1))
    assert bad_price.status == 400 and "price" in bad_price.json()["message"]
    no_category = stack.request("GET", "/products?limit=5")
    assert no_category.status == 400 and "category" in no_category.json()["message"]
    not_json = stack.request(
        "POST", "/products", body=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert not_json.status == 415
    too_big = stack.request("POST", "/products", body=b"{" + b" " * 17000 + b"}")
    assert too_big.status == 413
    beyond_gateway = stack.request("POST", "/products", body=b"x" * (10 * 1024 * 1024 + 1))
    assert beyond_gateway.status == 413
    wrong_method = stack.request("PATCH", "/products/abc")
    assert wrong_method.status == 405 and "GET" in wrong_method.headers["Allow"]


def test_read_your_writes_across_the_write_and_read_workers(stack: StackProcess) -> None:
    product_id = _new_id("ryw")
    assert stack.request("POST", "/products", body=_product(product_id)).status == 201
    warm = stack.request("GET", f"/products/{product_id}")  # now in the read worker's L1
    assert warm.status == 200

    written = stack.request(
        "PUT", f"/products/{product_id}", body=_product(product_id, name="Renamed", price=99)
    )
    assert written.status == 200
    acknowledged_version = written.json()["version"]

    fresh = _eventually(
        lambda: stack.request("GET", f"/products/{product_id}"),
        lambda r: r.status == 200 and r.json()["version"] >= acknowledged_version,
        within=_max_staleness(stack, "GET", "/products/{id}"),
    )
    assert fresh.json()["name"] == "Renamed"
    # And it stays fresh: no older version comes back afterwards.
    for _ in range(5):
        assert stack.request("GET", f"/products/{product_id}").json()["version"] >= 2


def test_out_of_band_change_is_served_fresh_through_stream_invalidation(
    stack: StackProcess,
) -> None:
    product_id = _new_id("oob")
    _put_directly(stack, _product(product_id, version=1, category="garden"))
    for _ in range(2):  # cache it in L1 and L2
        assert stack.request("GET", f"/products/{product_id}").status == 200
    in_garden = stack.request("GET", "/products?category=garden&limit=100")
    assert product_id in [i["productId"] for i in in_garden.json()["items"]]

    # Another writer changes name and category straight in DynamoDB.
    _put_directly(stack, _product(product_id, version=2, name="Moved", category="outdoor"))

    fresh = _eventually(
        lambda: stack.request("GET", f"/products/{product_id}"),
        lambda r: r.json().get("version") == 2,
        within=_max_staleness(stack, "GET", "/products/{id}"),
    )
    assert fresh.json()["name"] == "Moved"
    list_staleness = _max_staleness(stack, "GET", "/products")
    _eventually(
        lambda: stack.request("GET", "/products?category=outdoor&limit=100"),
        lambda r: product_id in [i["productId"] for i in r.json()["items"]],
        within=list_staleness,
    )
    _eventually(
        lambda: stack.request("GET", "/products?category=garden&limit=100"),
        lambda r: product_id not in [i["productId"] for i in r.json()["items"]],
        within=list_staleness,
    )


def test_poison_stream_record_is_dead_lettered_and_does_not_hold_up_later_ones(
    stack: StackProcess,
) -> None:
    poison_id, good_id = _new_id("poison"), _new_id("after")
    _put_directly(stack, _product(good_id, version=1))
    assert stack.request("GET", f"/products/{good_id}").json()["version"] == 1  # cached

    # A malformed item (version is not a number) that the invalidation handler rejects...
    item = item_from_product(_product(poison_id))
    item["version"] = {"S": "not-a-number"}
    _dynamodb(stack).put_item(TableName=stack.info["table_name"], Item=item)
    # ...then a good out-of-band change right behind it on the same shard.
    _put_directly(stack, _product(good_id, version=2, name="After poison"))

    _eventually(
        lambda: stack.request("GET", f"/products/{good_id}"),
        lambda r: r.json().get("version") == 2,
        within=_max_staleness(stack, "GET", "/products/{id}") + 2,  # + the poison's retries
    )
    dead_letter_file = stack.info["dead_letter_file"]
    deadline = time.monotonic() + 10
    entries: list[Any] = []
    while time.monotonic() < deadline:
        entries = _read_dead_letters(dead_letter_file)
        if any(_record_product_id(e) == poison_id for e in entries):
            break
        time.sleep(0.1)
    poisoned = [e for e in entries if _record_product_id(e) == poison_id]
    assert poisoned, f"poison record not dead-lettered: {entries}"
    assert poisoned[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert all(_record_product_id(e) != good_id for e in entries)


def _read_dead_letters(path: str) -> list[dict[str, Any]]:
    from pathlib import Path

    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


def _record_product_id(entry: dict[str, Any]) -> str:
    return entry["record"]["dynamodb"]["Keys"]["PK"]["S"].removeprefix("PRODUCT#")


def _stack_processes(stack: StackProcess) -> dict[str, Any]:
    """The stack's processes as it publishes them (stack.json) and as the kernel sees them."""
    assert stack.proc is not None
    published = json.loads((stack.state_dir / "stack.json").read_text())
    supervisor = stack.proc.pid
    assert published["pid"] == supervisor
    assert process_status(supervisor) is not None, "supervisor gone"
    for name, pid in published["worker_pids"].items():
        # stack.json lists the workers as at start; a replaced one would be dead or not ours.
        status = process_status(pid)
        assert status is not None and status.parent == supervisor, f"{name} worker {pid} gone"
    return {
        "supervisor": supervisor,
        "workers": published["worker_pids"],
        "session": stack.session_pids(),
    }


def test_redis_outage_bypasses_without_5xx_and_recovers_without_restart(
    stack: StackProcess, stack_redis: redis_servers.RedisServer
) -> None:
    flowing_ids = [_new_id("flow") for _ in range(3)]
    cold_ids = [_new_id("outage") for _ in range(3)]  # not read by anyone before the outage
    for product_id in flowing_ids + cold_ids:
        _put_directly(stack, _product(product_id, version=1))
    processes_before = _stack_processes(stack)

    with RequestFlow(stack, [f"/products/{pid}" for pid in flowing_ids]) as flow:
        assert flow.wait_for(lambda seen: any(r.status == 200 for r in seen), timeout=10)
        stack_redis.stop()
        down_at = time.monotonic()
        try:
            during = [stack.request("GET", f"/products/{pid}") for pid in cold_ids]
            fresh_category = _new_id("outage")  # a list no worker has in L1
            during += [stack.request("GET", f"/products?category={fresh_category}&limit=3")]
            write_id = _new_id("outage-write")
            during += [stack.request("POST", "/products", body=_product(write_id))]
            during += [stack.request("GET", f"/products/{write_id}")]
            # The flowing reads bypass too, once their L1 entries (1 s TTL) expire.
            flow.wait_for(
                lambda seen: any(r.started > down_at and r.x_cache == "BYPASS" for r in seen),
                timeout=10,
            )
        finally:
            stack_redis.start()
        up_at = time.monotonic()
        # Redis is back: L2 hits return without restarting anything (after the breaker's
        # cooldown, an L2 miss fills, the 1 s L1 entry expires, then the read hits L2).
        flow.wait_for(
            lambda seen: any(r.started > up_at and r.x_cache == "HIT-L2" for r in seen),
            timeout=20,
        )
    flowed = flow.snapshot()

    failed = [r for r in flowed if r.status is None or r.status >= 500]
    assert failed == [], f"{len(failed)} of {len(flowed)} flowing requests failed: {failed[:5]}"
    while_down = [r for r in flowed if down_at < r.started and r.ended < up_at]
    assert any(r.x_cache == "BYPASS" for r in while_down), while_down
    # Only L1 (until its entries expire) can serve while L2 is down.
    assert {r.x_cache for r in while_down} <= {"HIT-L1", "BYPASS"}
    assert any(r.started > up_at and r.x_cache == "HIT-L2" for r in flowed), flowed[-10:]

    assert [r.status for r in during] == [200, 200, 200, 200, 201, 200]
    # No cache served these: L2 was down and none of them was in the read worker's L1.
    assert [r.x_cache for r in during] == ["BYPASS"] * 6

    assert _stack_processes(stack) == processes_before


def test_terminal_shows_one_line_per_request_and_every_part_logs(stack: StackProcess) -> None:
    marker = _new_id("log")
    stack.request("GET", f"/products/{marker}")

    line = stack.wait_for_line(lambda text: f"/products/{marker}" in text)
    method, path, status, x_cache, latency = line.split()
    assert (method, path, status, x_cache) == ("GET", f"/products/{marker}", "404", "MISS")
    assert latency.endswith("ms") and float(latency[:-2]) >= 0
    for name in ("local_stack", "api", "moto", "read", "list", "write", "stream", "stream-poller"):
        assert (stack.state_dir / f"{name}.log").stat().st_size > 0, name
    poller_log = (stack.state_dir / "stream-poller.log").read_text()
    assert "iterator age" in poller_log


def test_seeded_products_span_categories(stack: StackProcess) -> None:
    seen = set()
    for category in ("books", "games", "garden", "kitchen"):
        page = stack.request("GET", f"/products?category={category}&limit=100").json()
        seen |= {i["productId"] for i in page["items"] if i["productId"].startswith("sample-")}
    assert {"sample-00001", "sample-00002", "sample-00003", "sample-00004"} <= seen
