"""The four Lambda functions of the product service, as the CDK stack configures them.

Handler strings, cache policies (route -> policy through `policy_for_route`; every function
gets both the item and the list policy, as CachedProductService does) and environment
variable names all come from the pure-Python parts of `cache_constructs` (no jsii). Locally
the functions also get REDIS_URL, a DynamoDB endpoint on the emulator and dummy credentials,
and never a real AWS endpoint; the stream function gets the local events server's publish URL
(unsigned: the server checks no authorization), as InvalidationChannel.grant_publish gives it
the AppSync one on AWS.
"""

from __future__ import annotations

import os
from pathlib import Path

from cache_constructs.contract import environment as env_names
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.contract.stream import INVALIDATION_FUNCTION_TIMEOUT_SECONDS
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
    code_root: Path = CODE_ROOT,
) -> dict[str, FunctionSpec]:
    """read, list, write and stream functions with the environment each one runs with.

    `events_publish_url` (the local events server's `POST /event`) makes the stream function
    publish each change it applies; None: it publishes nothing.
    """
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
            "AWS_LAMBDA_FUNCTION_NAME": f"local-{name}",
            **extra,
        }
        return FunctionSpec(
            name=name,
            handler=handler,
            code_root=code_root,
            environment=environment,
            timeout_seconds=timeout,
        )

    return {
        "read": spec("read", READ_HANDLER, 10.0),
        "list": spec("list", LIST_HANDLER, 10.0),
        "write": spec("write", WRITE_HANDLER, 10.0),
        "stream": spec(
            "stream",
            STREAM_HANDLER,
            float(INVALIDATION_FUNCTION_TIMEOUT_SECONDS),
            **(env_names.events_env(events_publish_url, auth="none") if events_publish_url else {}),
        ),
    }
