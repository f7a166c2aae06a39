"""load_config: every environment variable validated once; errors name the variable."""

from __future__ import annotations

import json

import pytest
from runtime_helpers import base_env, raw_policy_json

from cache_constructs.contract.policy import NAMED_POLICIES, CachePolicy
from cache_constructs.runtime.config import ConfigError, load_config, parse_policy


def test_minimal_environment():
    config = load_config(base_env())
    assert config.table_name == "products-test"
    assert config.region == "eu-west-1"
    assert config.redis is None
    assert config.dax_endpoint is None
    assert (config.l1_max_entries, config.l1_max_bytes) == (1024, 8 * 1024 * 1024)
    assert config.item_policy.uses("l1") and not config.item_policy.uses("api")
    assert config.list_policy == config.item_policy


def test_policy_from_the_construct_library_round_trips():
    for policy in NAMED_POLICIES.values():
        env = {"P": policy.to_runtime_json()}
        assert parse_policy(env, "P") == policy


def test_item_and_list_policies_are_read_apart():
    item, lists = CachePolicy.SEMI_STATIC, CachePolicy.DYNAMIC
    config = load_config(
        base_env(
            ITEM_CACHE_POLICY=item.to_runtime_json(), LIST_CACHE_POLICY=lists.to_runtime_json()
        )
    )
    assert (config.item_policy, config.list_policy) == (item, lists)


@pytest.mark.parametrize("name", ["TABLE_NAME", "ITEM_CACHE_POLICY", "LIST_CACHE_POLICY"])
def test_required_variables(name):
    env = base_env()
    del env[name]
    with pytest.raises(ConfigError, match=name):
        load_config(env)


def test_region_required_and_default_region_accepted():
    env = base_env()
    del env["AWS_REGION"]
    with pytest.raises(ConfigError, match="AWS_REGION"):
        load_config(env)
    env["AWS_DEFAULT_REGION"] = "us-east-2"
    assert load_config(env).region == "us-east-2"


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ("not json", "ITEM_CACHE_POLICY"),
        ("[1]", "ITEM_CACHE_POLICY"),
        (raw_policy_json(l1_ttl_seconds=-1), "l1_ttl_seconds"),
        (raw_policy_json(l2_ttl_seconds="5"), "l2_ttl_seconds"),
        (raw_policy_json(swr_seconds=True), "swr_seconds"),
        (raw_policy_json(negative_ttl_seconds=1.5), "negative_ttl_seconds"),
        (raw_policy_json(dax_ttl_seconds=None), "dax_ttl_seconds"),
        (raw_policy_json(api_ttl_seconds=-3), "api_ttl_seconds"),
        (raw_policy_json(jitter=0.9), "jitter"),
        (raw_policy_json(jitter="x"), "jitter"),
        (raw_policy_json(layers=["l1", "l3"]), "layers"),
        (raw_policy_json(layers="l1"), "layers"),
        (raw_policy_json(name=""), "name"),
        (raw_policy_json(cache_control="public"), "cache_control"),
        (raw_policy_json(extra=1), "extra"),
    ],
)
def test_invalid_policy_names_the_variable_and_field(policy, field):
    with pytest.raises(ConfigError, match="ITEM_CACHE_POLICY") as error:
        load_config(base_env(ITEM_CACHE_POLICY=policy))
    assert field in str(error.value)


def test_policy_missing_field():
    data = json.loads(raw_policy_json())
    del data["layers"]
    with pytest.raises(ConfigError, match="layers"):
        load_config(base_env(LIST_CACHE_POLICY=json.dumps(data)))


def test_redis_url_with_acl_credentials_and_tls():
    config = load_config(base_env(REDIS_URL="rediss://app:p%40ss@cache.example:6380/2"))
    redis = config.redis
    assert redis is not None
    assert (redis.host, redis.port, redis.db, redis.tls) == ("cache.example", 6380, 2, True)
    assert (redis.auth, redis.user, redis.password) == ("password", "app", "p@ss")
    assert "p@ss" not in repr(config)
    assert (redis.connect_timeout, redis.timeout) == (0.2, 0.1)


@pytest.mark.parametrize(
    "url", ["http://x:1/0", "redis://", "redis://h:notaport/0", "redis://h:1/abc"]
)
def test_bad_redis_url(url):
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load_config(base_env(REDIS_URL=url))


def test_redis_host_family():
    config = load_config(
        base_env(
            REDIS_HOST="master.example",
            REDIS_PORT="6379",
            REDIS_TLS="true",
            REDIS_CLUSTER="true",
            REDIS_AUTH="iam",
            REDIS_USER="product-service",
            REDIS_CACHE_NAME="products-cache",
            REDIS_SERVERLESS="true",
            REDIS_CONNECT_TIMEOUT_MS="150",
            REDIS_TIMEOUT_MS="50",
        )
    )
    redis = config.redis
    assert redis is not None
    assert (redis.host, redis.port, redis.tls, redis.cluster) == (
        "master.example",
        6379,
        True,
        True,
    )
    assert (redis.auth, redis.user, redis.cache_name, redis.serverless) == (
        "iam",
        "product-service",
        "products-cache",
        True,
    )
    assert (redis.connect_timeout_ms, redis.timeout_ms) == (150, 50)


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"REDIS_PORT": "x"}, "REDIS_PORT"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT"),
        ({"REDIS_TLS": "maybe"}, "REDIS_TLS"),
        ({"REDIS_CLUSTER": "2"}, "REDIS_CLUSTER"),
        ({"REDIS_SERVERLESS": "si"}, "REDIS_SERVERLESS"),
        ({"REDIS_AUTH": "token"}, "REDIS_AUTH"),
        ({"REDIS_AUTH": "password"}, "REDIS_URL"),
        ({"REDIS_AUTH": "iam", "REDIS_TLS": "true", "REDIS_CACHE_NAME": "c"}, "REDIS_USER"),
        ({"REDIS_AUTH": "iam", "REDIS_TLS": "true", "REDIS_USER": "u"}, "REDIS_CACHE_NAME"),
        ({"REDIS_AUTH": "iam", "REDIS_USER": "u", "REDIS_CACHE_NAME": "c"}, "REDIS_TLS"),
        ({"REDIS_CONNECT_TIMEOUT_MS": "0"}, "REDIS_CONNECT_TIMEOUT_MS"),
        ({"REDIS_TIMEOUT_MS": "fast"}, "REDIS_TIMEOUT_MS"),
    ],
)
def test_invalid_redis_variables(overrides, name):
    with pytest.raises(ConfigError, match=name):
        load_config(base_env(REDIS_HOST="h", **overrides))


def test_dax_endpoint():
    assert (
        load_config(
            base_env(DAX_ENDPOINT="daxs://c.abc.dax-clusters.eu-west-1.amazonaws.com")
        ).dax_endpoint
        == "daxs://c.abc.dax-clusters.eu-west-1.amazonaws.com"
    )
    with pytest.raises(ConfigError, match="DAX_ENDPOINT"):
        load_config(base_env(DAX_ENDPOINT="https://nope"))


@pytest.mark.parametrize("name", ["L1_MAX_ENTRIES", "L1_MAX_BYTES"])
def test_l1_bounds(name):
    assert getattr(load_config(base_env(**{name: "7"})), name.lower()) == 7
    for bad in ("0", "-1", "many"):
        with pytest.raises(ConfigError, match=name):
            load_config(base_env(**{name: bad}))


def test_powertools_names():
    config = load_config(base_env(POWERTOOLS_SERVICE_NAME="svc", POWERTOOLS_METRICS_NAMESPACE="Ns"))
    assert (config.service_name, config.metrics_namespace) == ("svc", "Ns")
    assert load_config(base_env()).metrics_namespace == "CachedProductService"


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)
