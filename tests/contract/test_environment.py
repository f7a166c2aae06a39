"""Environment variable names and builders: the docs/architecture.md table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cache_constructs.contract import environment as env
from cache_constructs.contract.policy import CachePolicy

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_every_documented_variable_has_a_constant() -> None:
    section = DOC.read_text(encoding="utf-8").split("## Environment variables")[1].split("\n## ")[0]
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)`(?:, `([A-Z0-9_]+)`)?", section, re.M))
    names = {name for pair in documented for name in pair if name}
    constants = {value for key, value in vars(env).items() if key.isupper() and key == value}
    assert names and names <= constants, names - constants


def test_redis_env_for_iam_auth() -> None:
    assert env.redis_env(
        host="h",
        port=6379,
        tls=True,
        cluster=True,
        auth="iam",
        user="u",
        cache_name="c",
        serverless=True,
    ) == {
        "REDIS_HOST": "h",
        "REDIS_PORT": "6379",
        "REDIS_TLS": "true",
        "REDIS_CLUSTER": "true",
        "REDIS_AUTH": "iam",
        "REDIS_USER": "u",
        "REDIS_CACHE_NAME": "c",
        "REDIS_SERVERLESS": "true",
    }


def test_redis_env_rules() -> None:
    with pytest.raises(ValueError, match="auth must be one of"):
        env.redis_env(host="h", port=1, tls=False, cluster=False, auth="token")
    with pytest.raises(ValueError, match="user and cache_name are required"):
        env.redis_env(host="h", port=1, tls=True, cluster=False, auth="iam")


def test_policy_service_and_dax_env() -> None:
    item, lists = CachePolicy.SEMI_STATIC, CachePolicy.DYNAMIC
    assert env.policy_env(item_policy=item, list_policy=lists) == {
        "ITEM_CACHE_POLICY": item.to_runtime_json(),
        "LIST_CACHE_POLICY": lists.to_runtime_json(),
    }
    assert env.service_env("t") == {
        "TABLE_NAME": "t",
        "POWERTOOLS_SERVICE_NAME": "product-service",
        "POWERTOOLS_METRICS_NAMESPACE": "CachedProductService",
    }
    assert env.dax_env("daxs://x") == {"DAX_ENDPOINT": "daxs://x"}
    with pytest.raises(ValueError, match="endpoint must not be empty"):
        env.dax_env("")


def test_events_env() -> None:
    assert env.events_env("https://a.appsync-api.eu-west-1.amazonaws.com/event") == {
        "EVENTS_PUBLISH_URL": "https://a.appsync-api.eu-west-1.amazonaws.com/event",
        "EVENTS_PUBLISH_AUTH": "iam",
    }
    assert env.events_env("http://127.0.0.1:1/event", auth="none")["EVENTS_PUBLISH_AUTH"] == "none"
    with pytest.raises(ValueError, match="auth must be one of"):
        env.events_env("http://x/event", auth="key")
    with pytest.raises(ValueError, match="publish_url"):
        env.events_env("")
