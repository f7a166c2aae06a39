"""A committed write whose reply is lost is answered as committed (issue 8, defect 7).

DAX cannot run here: `CommitThenTimeout` stands in for it. Its writes commit to the moto table
behind it and then raise the read timeout a lost reply raises, so the runtime's DAX fallback
retries the same conditional write on DynamoDB, where the condition then fails. The request's
write token, stored with the item (or, for a delete, with the deletion marker), tells the
write path that the write it sees is its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from handler_env import item_of, runtime_env
from handler_events import api_event, json_headers
from handler_http import HttpResult, call

from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.product.handlers import list_handler, read_handler, write_handler
from cache_constructs.product.handlers.service_runtime import set_runtime
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.runtime import build_runtime

LAMP = {"name": "Lamp", "category": "home", "price": 12.5}
DAX_ENDPOINT = "daxs://dax.example.invalid:9111"


class CommitThenTimeout:
    """A DAX client whose writes commit and whose replies are lost (reads pass through)."""

    def __init__(self, dynamodb: Any, *, commit: bool = True) -> None:
        self._dynamodb = dynamodb
        self._commit = commit
        self.lost_replies: list[str] = []

    def get_item(self, **request: Any) -> Any:
        return self._dynamodb.get_item(**request)

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        write = getattr(self._dynamodb, operation)

        def commit_then_time_out(**request: Any) -> Any:
            if self._commit:
                write(**request)
            self.lost_replies.append(operation)
            raise ReadTimeoutError(endpoint_url=DAX_ENDPOINT)

        return commit_then_time_out


@pytest.fixture
def with_dax(
    aws: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., CommitThenTimeout]]:
    """Install a runtime whose DAX client is a `CommitThenTimeout` (a fresh DAX breaker)."""

    def install(*, commit: bool = True, dynamodb: Any = None) -> CommitThenTimeout:
        env = runtime_env(redis_url)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        dax = CommitThenTimeout(aws, commit=commit)
        runtime = build_runtime(
            load_config(env),
            codec=PRODUCT_CODEC,
            dynamodb_client=dynamodb or aws,
            dax_client=dax,
        )
        set_runtime(runtime)
        return dax

    yield install
    set_runtime(None)


def send(context: Any, method: str, path: str, body: Any = None, **headers: str) -> HttpResult:
    event = api_event(
        method,
        path,
        body=None if body is None else json.dumps(body),
        headers=json_headers(**headers) if body is not None else headers,
    )
    handler = read_handler.handler if method == "GET" else write_handler.handler
    return call(handler, event, context)


@pytest.mark.parametrize(
    ("case", "method", "path", "body", "status"),
    [
        ("POST", "POST", "/products", {**LAMP, "productId": "p1"}, 201),
        ("PUT creating", "PUT", "/products/p1", LAMP, 201),
    ],
)
def test_a_create_whose_reply_is_lost_is_answered_as_created(
    runtime: Any,
    with_dax: Any,
    aws: Any,
    context: Any,
    case: str,
    method: str,
    path: str,
    body: Any,
    status: int,
) -> None:
    """On b139d26 the POST answered 409 and the PUT 412 although the product was created."""
    dax = with_dax()
    result = send(context, method, path, body)
    assert result.status == status, (case, result.body)
    assert len(dax.lost_replies) == 1  # DAX committed it and its reply was lost
    assert result.json()["version"] == 1
    stored = item_of(aws, "p1")
    assert stored is not None and stored["price"] == {"N": "12.5"}
    # The cache steps ran: the write-through marked every older version stale (a new item's
    # fence is not anchored yet, so it lands nothing; the first read fills from a strongly
    # consistent read, and serves the created product).
    assert runtime.l2.client.hget("pc:{p:p1}:t", "v") == b"0"
    read = send(context, "GET", "/products/p1")
    assert read.header("ETag") == result.header("ETag")


def test_a_replace_whose_reply_is_lost_is_answered_as_replaced(
    runtime: Any, with_dax: Any, aws: Any, context: Any
) -> None:
    """On b139d26 this PUT answered 412 ("changed while in flight") although it committed."""
    first = send(context, "PUT", "/products/p1", LAMP)  # plain runtime: no DAX
    assert first.status == 201
    assert send(context, "GET", "/products/p1").json()["version"] == 1  # cached
    dax = with_dax()
    result = send(
        context, "PUT", "/products/p1", {**LAMP, "price": 20}, **{"If-Match": first.header("ETag")}
    )
    assert result.status == 200, result.body
    assert len(dax.lost_replies) == 1
    assert result.json()["version"] == 2 and result.json()["price"] == 20
    read = send(context, "GET", "/products/p1")
    assert (read.json()["version"], read.header("ETag")) == (2, result.header("ETag"))


def test_a_delete_whose_reply_is_lost_is_answered_and_invalidates(
    runtime: Any, with_dax: Any, aws: Any, context: Any
) -> None:
    """On b139d26 this DELETE answered 404 and skipped the invalidation, so the deleted
    product stayed cached."""
    assert send(context, "PUT", "/products/p1", LAMP).status == 201
    dax = with_dax()
    assert send(context, "GET", "/products/p1").status == 200  # now cached in L1 and L2
    result = send(context, "DELETE", "/products/p1")
    assert result.status == 204, result.body
    assert len(dax.lost_replies) == 1
    assert item_of(aws, "p1") is None
    assert send(context, "GET", "/products/p1").status == 404


def test_a_write_that_did_not_commit_is_not_answered_as_committed(
    runtime: Any, with_dax: Any, aws: Any, context: Any
) -> None:
    """Timeouts on DAX and on DynamoDB with nothing written: a 500, and no product."""

    class TimingOut:
        """DynamoDB whose writes time out before they reach the table (reads work)."""

        def __init__(self, client: Any) -> None:
            self._client = client

        def __getattr__(self, name: str) -> Any:
            if name in ("get_item", "query"):
                return getattr(self._client, name)

            def time_out(**_: Any) -> Any:
                raise ReadTimeoutError(endpoint_url="https://dynamodb.example.invalid")

            return time_out

    with_dax(commit=False, dynamodb=TimingOut(aws))
    result = send(context, "POST", "/products", {**LAMP, "productId": "p1"})
    assert result.status == 500
    assert result.json() == {"error": "internal_error", "message": "internal error"}
    assert item_of(aws, "p1") is None


def test_the_write_token_is_stored_but_never_served(runtime: Any, aws: Any, context: Any) -> None:
    created = send(context, "PUT", "/products/p1", LAMP)
    replaced = send(context, "PUT", "/products/p1", {**LAMP, "price": 2})
    stored = item_of(aws, "p1")
    assert stored is not None and len(stored["writeToken"]["S"]) == 32
    listed = call(
        list_handler.handler, api_event("GET", "/products", query={"category": "home"}), context
    )
    read = send(context, "GET", "/products/p1")
    for response in (created, replaced, listed, read):
        assert response.status in (200, 201)
        assert "writeToken" not in response.body
    assert created.json().keys() == {*LAMP, "productId", "version", "updatedAt"}
