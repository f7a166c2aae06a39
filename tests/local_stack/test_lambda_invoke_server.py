"""The local Lambda Invoke API (asynchronous invocations): what boto3 sends is queued and run
in order, errors are answered in the shape botocore reads, failures are counted, not retried."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.lambda_invoke_server import LambdaInvokeServer, function_name

WAIT = 10.0


@pytest.fixture
def received() -> list[Any]:
    return []


@pytest.fixture
def server(received: list[Any]) -> Iterator[LambdaInvokeServer]:
    def fails(event: dict[str, Any]) -> None:
        raise RuntimeError(f"cannot handle {event}")

    with LambdaInvokeServer({"publisher": received.append, "broken": fails}) as stand_in:
        yield stand_in


def client(server: LambdaInvokeServer) -> Any:
    return boto3.session.Session().client(
        "lambda",
        endpoint_url=server.url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("publisher", "publisher"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:publisher", "publisher"),
        ("arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Apublisher", "publisher"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:publisher:live", "publisher"),
        ("publisher:7", "publisher"),
    ],
)
def test_function_names_are_taken_from_names_and_arns(given: str, name: str) -> None:
    assert function_name(given) == name


def test_an_event_invocation_is_answered_202_and_run_in_order(
    server: LambdaInvokeServer, received: list[Any]
) -> None:
    lambda_client = client(server)
    for index in range(3):
        response = lambda_client.invoke(
            FunctionName="arn:aws:lambda:eu-west-1:123456789012:function:publisher",
            InvocationType="Event",
            Payload=json.dumps({"n": index}).encode(),
        )
        assert response["StatusCode"] == 202
    assert server.wait_idle(WAIT)
    assert received == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert (server.stats.accepted, server.stats.succeeded, server.stats.failed) == (3, 3, 0)


def test_a_failing_function_is_counted_and_not_retried(server: LambdaInvokeServer) -> None:
    client(server).invoke(FunctionName="broken", InvocationType="Event", Payload=b"{}")
    assert server.wait_idle(WAIT)
    assert (server.stats.accepted, server.stats.failed) == (1, 1)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"FunctionName": "nobody", "InvocationType": "Event"}, "ResourceNotFoundException"),
        (
            {"FunctionName": "publisher", "InvocationType": "RequestResponse"},
            "InvalidParameterValueException",
        ),
    ],
)
def test_refusals_carry_the_error_code_botocore_reads(
    server: LambdaInvokeServer, kwargs: dict[str, str], code: str
) -> None:
    lambda_client = client(server)
    with pytest.raises(ClientError) as caught:
        lambda_client.invoke(Payload=b"{}", **kwargs)
    assert caught.value.response["Error"]["Code"] == code
    # The connection stays usable: the refused request's body was read, not left behind.
    assert (
        lambda_client.invoke(FunctionName="publisher", InvocationType="Event", Payload=b"{}")[
            "StatusCode"
        ]
        == 202
    )
    assert server.stats.accepted == 1


def test_a_payload_that_is_not_a_json_object_is_refused(server: LambdaInvokeServer) -> None:
    with pytest.raises(ClientError) as caught:
        client(server).invoke(FunctionName="publisher", InvocationType="Event", Payload=b"[1]")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_an_unknown_path_is_a_404(server: LambdaInvokeServer) -> None:
    request = urllib.request.Request(f"{server.url}/2015-03-31/functions", data=b"{}")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=WAIT)
    assert caught.value.code == 404


def test_the_observer_sees_each_invocation_before_the_202(received: list[Any]) -> None:
    seen: list[tuple[str, dict[str, Any], int]] = []
    stand_in: LambdaInvokeServer

    def observe(name: str, event: dict[str, Any]) -> None:
        seen.append((name, event, stand_in.stats.accepted))

    stand_in = LambdaInvokeServer({"publisher": received.append}, on_received=observe)
    with stand_in:
        client(stand_in).invoke(FunctionName="publisher", InvocationType="Event", Payload=b"{}")
        assert stand_in.wait_idle(WAIT)
    assert seen == [("publisher", {}, 0)]


def test_stop_ends_its_threads(received: list[Any]) -> None:
    before = {t.name for t in threading.enumerate()}
    with LambdaInvokeServer({"publisher": received.append}):
        pass
    assert {t.name for t in threading.enumerate()} - before == set()
