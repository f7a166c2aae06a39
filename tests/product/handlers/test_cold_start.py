"""The read function's cold start and L2-hit path load no boto3, DAX client or X-Ray SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from handler_env import runtime_env

from cache_constructs.product.domain.representation import (
    etag_of,
    item_from_product,
    render_product,
)
from cache_constructs.runtime.codec import Rendered

ROOT = Path(__file__).resolve().parents[3]
"""The asset root: the folder holding the cache_constructs package."""
# Powertools imports the bare `botocore` package (to register its user agent), which is
# cheap; the SDK's client machinery, the DAX client and the X-Ray SDK are what cost.
HEAVY = (
    "boto3",
    "botocore.client",
    "botocore.session",
    "amazondax",
    "aws_xray_sdk",
    "aws_cdk",
    "jsii",
)

READ_ONE_PRODUCT = """
import json, sys
from types import SimpleNamespace
import cache_constructs.product.handlers.read_handler as read_handler
event = json.loads(sys.stdin.read())
context = SimpleNamespace(
    function_name="read", memory_limit_in_mb=256, aws_request_id="r1",
    invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:read",
)
response = read_handler.handler(event, context)
heavy = sorted(n for n in sys.modules if any(n == h or n.startswith(h + ".") for h in {heavy}))
print(json.dumps({{"response": response, "heavy": heavy}}))
"""


def read_in_a_fresh_process(runtime: Any, redis_url: str, **lambda_env: str) -> dict[str, Any]:
    """Cache one product in L2 (committed, read once, then written through: an anchored fence
    lets the write-through land), then read it in a new interpreter (a Lambda cold start)."""
    from handler_env import TABLE
    from handler_events import api_event

    product = {
        "productId": "p1",
        "name": "Lamp",
        "category": "home",
        "price": 1,
        "version": 1,
        "updatedAt": "2026-11-24T02:10:00.000Z",
    }
    runtime.dynamodb().put_item(TableName=TABLE, Item=item_from_product(product))
    assert runtime.items.read("p1").x_cache == "MISS"
    body = render_product({**product, "version": 2})
    runtime.dynamodb().put_item(TableName=TABLE, Item=item_from_product({**product, "version": 2}))
    assert runtime.items.write_through("p1", Rendered(body, etag_of(body), 2))
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "read",
        **lambda_env,
        **runtime_env(redis_url),
    }
    completed = subprocess.run(
        [sys.executable, "-c", READ_ONE_PRODUCT.format(heavy=set(HEAVY))],
        input=json.dumps(api_event("GET", "/products/p1")),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    response = result["response"]
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["X-Cache"] == ["HIT-L2"]
    assert response["body"] == body.decode()
    return result


def test_l2_hit_loads_no_aws_sdk(runtime: Any, redis_url: str) -> None:
    result = read_in_a_fresh_process(runtime, redis_url, POWERTOOLS_TRACE_DISABLED="true")
    assert result["heavy"] == []


def test_l2_hit_with_tracing_enabled_loads_no_xray_sdk(runtime: Any, redis_url: str) -> None:
    # Deployed functions run with Tracing.ACTIVE and POWERTOOLS_TRACE_DISABLED unset.
    result = read_in_a_fresh_process(runtime, redis_url)
    assert result["heavy"] == []


def test_a_cold_start_read_tracks_nothing(runtime: Any, redis_url: str) -> None:
    # The first read of a key in a fresh environment is not read through the tracking
    # connection (a key is, from its second recent lookup on): a cold start opens none, and
    # a one-off read adds nothing to the server's tracking table.
    import redis

    read_in_a_fresh_process(runtime, redis_url, POWERTOOLS_TRACE_DISABLED="true")
    with redis.Redis.from_url(redis_url) as admin:
        assert admin.info()["tracking_total_keys"] == 0
