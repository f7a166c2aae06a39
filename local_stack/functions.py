"""The Lambda functions of the product service, as the CDK stack configures them.

Handler strings, cache policies (route -> policy through `policy_for_route`; every function
gets both the item and the list policy, as CachedProductService does) and environment
variable names all come from the pure-Python parts of `cache_constructs` (no jsii). Locally
the functions also get REDIS_URL, a DynamoDB endpoint on the emulator and dummy credentials,
and never a real AWS endpoint.

Push goes the way it goes on AWS: the stream function hands each change's publish requests to
the push publisher function by an asynchronous invoke (boto3's Lambda client, pointed at the
local Invoke API by `AWS_ENDPOINT_URL_LAMBDA`), and the publisher posts them to the local
events server (unsigned: the server checks no authorization), as InvalidationChannel wires
them to AppSync on AWS.
"""

from __future__ import annotations

import os
from pathlib import Path

from cache_constructs.contract import environment as env_names
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.contract.push import PUBLISHER_FUNCTION_TIMEOUT_SECONDS
from cache_constructs.contract.stream import INVALIDATION_FUNCTION_TIMEOUT_SECONDS
from cache_constructs.handlers import PUSH_PUBLISHER_HANDLER
from cache_constructs.product.handlers import (
    LIST_HANDLER,
    READ_HANDLER,
    STREAM_HANDLER,
    WRITE_HANDLER,
)
from cache_constructs.product.routes import GET_PRODUCT, LIST_PRODUCTS, policy_for_route
from local_stack.dynamodb_emulator import DUMMY_CREDENTIALS
from local_stack.lambda_worker import FunctionSpec

CODE_ROOT = Path(__file__).resolve().parent.parent
"""The Lambda asset root (the folder holding the `cache_constructs` package): handler strings
are relative to it."""

# Never inherit a developer's real AWS settings into a local function.
_INHERITED_AWS_VARIABLES = ("AWS_", "BOTO_", "POWERTOOLS_")


def route_policies(*, l1_ttl_seconds: int | None = None) -> dict[str, CachePolicy]:
    """The item and list policies, as CachedProductService builds them.

    `l1_ttl_seconds` shortens the L1 TTL of both (a local knob: it bounds max_staleness, so
    tests and demos need not wait the semi-static 15 s). None keeps the deployed values.
    """
    policies = {"item": policy_for_route(GET_PRODUCT), "list": policy_for_route(LIST_PRODUCTS)}
    if l1_ttl_seconds is not None:
        if l1_ttl_seconds < 1:
            raise ValueError(f"l1_ttl_seconds must be >= 1; got {l1_ttl_seconds}")
        policies = {
            key: policy.with_changes(l1_ttl_seconds=l1_ttl_seconds)
            for key, policy in policies.items()
        }
    return policies


def function_specs(
    *,
    table_name: str,
    region: str,
    dynamodb_endpoint: str,
    redis_url: str,
    policies: dict[str, CachePolicy],
    events_publish_url: str | None = None,
    lambda_endpoint_url: str | None = None,
    code_root: Path = CODE_ROOT,
) -> dict[str, FunctionSpec]:
    """read, list, write and stream functions with the environment each one runs with.

    With `events_publish_url` (the local events server's `POST /event`) and
    `lambda_endpoint_url` (the local Invoke API) there is a fifth, the push publisher, and the
    stream function hands it every change it applies; without them nothing is published.
    """
    if (events_publish_url is None) != (lambda_endpoint_url is None):
        raise ValueError("give both events_publish_url and lambda_endpoint_url, or neither")
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_INHERITED_AWS_VARIABLES)
    }
    base.update(
        {
            **env_names.service_env(table_name),
            env_names.REDIS_URL: redis_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
            # Every AWS call goes to the emulator (botocore's endpoint variables).
            "AWS_ENDPOINT_URL": dynamodb_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamodb_endpoint,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )

    def spec(name: str, handler: str, timeout: float, **extra: str) -> FunctionSpec:
        environment = {
            **base,
            **env_names.policy_env(item_policy=policies["item"], list_policy=policies["list"]),
            "AWS_LAMBDA_FUNCTION_NAME": local_function_name(name),
            **extra,
        }
        return FunctionSpec(
            name=name,
            handler=handler,
            code_root=code_root,
            environment=environment,
            timeout_seconds=timeout,
        )

    specs = {
        "read": spec("read", READ_HANDLER, 10.0),
        "list": spec("list", LIST_HANDLER, 10.0),
        "write": spec("write", WRITE_HANDLER, 10.0),
    }
    if events_publish_url is None or lambda_endpoint_url is None:
        specs["stream"] = spec(
            "stream", STREAM_HANDLER, float(INVALIDATION_FUNCTION_TIMEOUT_SECONDS)
        )
        return specs
    specs["stream"] = spec(
        "stream",
        STREAM_HANDLER,
        float(INVALIDATION_FUNCTION_TIMEOUT_SECONDS),
        **env_names.handover_env(local_function_name(PUBLISHER)),
        AWS_ENDPOINT_URL_LAMBDA=lambda_endpoint_url,
    )
    # Like the deployed publisher: no table, no cache policies, only where to publish.
    specs[PUBLISHER] = FunctionSpec(
        name=PUBLISHER,
        handler=PUSH_PUBLISHER_HANDLER,
        code_root=code_root,
        environment={
            **{
                k: v
                for k, v in base.items()
                if k not in (env_names.TABLE_NAME, env_names.REDIS_URL)
            },
            "AWS_LAMBDA_FUNCTION_NAME": local_function_name(PUBLISHER),
            **env_names.events_env(events_publish_url, auth="none"),
        },
        timeout_seconds=float(PUBLISHER_FUNCTION_TIMEOUT_SECONDS),
    )
    return specs


PUBLISHER = "publisher"
"""The push publisher's short name (its log file, `.local/publisher.log`)."""


def local_function_name(name: str) -> str:
    """The function name a local function runs as (`AWS_LAMBDA_FUNCTION_NAME`): local-<name>."""
    return f"local-{name}"
