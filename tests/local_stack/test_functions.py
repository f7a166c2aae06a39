"""The local functions are configured as CachedProductService configures the deployed ones."""

from __future__ import annotations

import json

import pytest

from cache_constructs.contract import environment as env_names
from cache_constructs.contract.metrics import SERVICE_NAME
from cache_constructs.contract.push import PUBLISHER_FUNCTION_TIMEOUT_SECONDS
from cache_constructs.handlers import PUSH_PUBLISHER_HANDLER
from cache_constructs.product.handlers import (
    LIST_HANDLER,
    READ_HANDLER,
    STREAM_HANDLER,
    WRITE_HANDLER,
)
from cache_constructs.product.routes import GET_PRODUCT, LIST_PRODUCTS, policy_for_route
from local_stack.functions import CODE_ROOT, function_specs, route_policies


def _specs(**policy_options: int) -> dict:
    return function_specs(
        table_name="products-local",
        region="eu-west-1",
        dynamodb_endpoint="http://127.0.0.1:5000",
        redis_url="redis://127.0.0.1:6379/0",
        policies=route_policies(**policy_options),
    )


def test_handlers_and_policies_are_the_deployed_ones() -> None:
    specs = _specs()
    assert {name: spec.handler for name, spec in specs.items()} == {
        "read": READ_HANDLER,
        "list": LIST_HANDLER,
        "write": WRITE_HANDLER,
        "stream": STREAM_HANDLER,
    }
    item_policy = policy_for_route(GET_PRODUCT).to_runtime_json()
    list_policy = policy_for_route(LIST_PRODUCTS).to_runtime_json()
    for spec in specs.values():
        assert spec.environment[env_names.ITEM_CACHE_POLICY] == item_policy
        assert spec.environment[env_names.LIST_CACHE_POLICY] == list_policy
    assert all(spec.code_root == CODE_ROOT for spec in specs.values())
    assert (CODE_ROOT / "cache_constructs" / "product" / "handlers").is_dir()


def test_functions_reach_only_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    environment = _specs()["read"].environment

    assert "AWS_PROFILE" not in environment
    assert "AWS_SESSION_TOKEN" not in environment
    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert environment["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:5000"
    assert environment[env_names.TABLE_NAME] == "products-local"
    assert environment[env_names.REDIS_URL] == "redis://127.0.0.1:6379/0"
    assert environment[env_names.POWERTOOLS_SERVICE_NAME] == SERVICE_NAME
    assert environment["AWS_REGION"] == "eu-west-1"


def test_l1_ttl_override_changes_only_the_l1_ttl() -> None:
    for variable in (env_names.ITEM_CACHE_POLICY, env_names.LIST_CACHE_POLICY):
        default = json.loads(_specs()["read"].environment[variable])
        short = json.loads(_specs(l1_ttl_seconds=1)["read"].environment[variable])
        assert short["l1_ttl_seconds"] == 1
        assert {k: v for k, v in short.items() if k != "l1_ttl_seconds"} == {
            k: v for k, v in default.items() if k != "l1_ttl_seconds"
        }
    with pytest.raises(ValueError, match="l1_ttl_seconds"):
        route_policies(l1_ttl_seconds=0)


def _push_specs() -> dict:
    return function_specs(
        table_name="products-local",
        region="eu-west-1",
        dynamodb_endpoint="http://127.0.0.1:5000",
        redis_url="redis://127.0.0.1:6379/0",
        policies=route_policies(),
        events_publish_url="http://127.0.0.1:7001/event",
        lambda_endpoint_url="http://127.0.0.1:7002",
    )


def test_the_stream_function_hands_over_to_the_publisher_as_on_aws() -> None:
    specs = _push_specs()
    stream = specs["stream"].environment
    assert stream[env_names.PUSH_PUBLISHER_FUNCTION] == "local-publisher"
    # boto3's own variable: the Lambda client goes to the local Invoke API, nothing else moves.
    assert stream["AWS_ENDPOINT_URL_LAMBDA"] == "http://127.0.0.1:7002"
    assert stream["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:5000"
    assert env_names.EVENTS_PUBLISH_URL not in stream
    for name in ("read", "list", "write"):
        environment = specs[name].environment
        assert env_names.PUSH_PUBLISHER_FUNCTION not in environment
        assert env_names.EVENTS_PUBLISH_URL not in environment
        assert "AWS_ENDPOINT_URL_LAMBDA" not in environment


def test_the_publisher_posts_unsigned_to_the_local_events_server_and_knows_no_table() -> None:
    publisher = _push_specs()["publisher"]
    assert publisher.handler == PUSH_PUBLISHER_HANDLER
    environment = publisher.environment
    assert environment[env_names.EVENTS_PUBLISH_URL] == "http://127.0.0.1:7001/event"
    assert environment[env_names.EVENTS_PUBLISH_AUTH] == "none"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "local-publisher"
    assert env_names.TABLE_NAME not in environment
    assert env_names.REDIS_URL not in environment
    assert env_names.ITEM_CACHE_POLICY not in environment
    assert publisher.timeout_seconds == PUBLISHER_FUNCTION_TIMEOUT_SECONDS


def test_without_push_endpoints_there_is_no_publisher() -> None:
    specs = _specs()
    assert set(specs) == {"read", "list", "write", "stream"}
    assert env_names.PUSH_PUBLISHER_FUNCTION not in specs["stream"].environment
    with pytest.raises(ValueError, match="both events_publish_url and lambda_endpoint_url"):
        function_specs(
            table_name="t",
            region="eu-west-1",
            dynamodb_endpoint="http://127.0.0.1:5000",
            redis_url="redis://127.0.0.1:6379/0",
            policies=route_policies(),
            events_publish_url="http://127.0.0.1:7001/event",
        )
