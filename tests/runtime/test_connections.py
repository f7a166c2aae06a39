"""Connection modes through the production client factory: ACL user, cluster, TLS settings."""

from __future__ import annotations

import ssl
import uuid

import redis
from redis.cluster import RedisCluster
from redis_servers import ACL_PASSWORD, ACL_USER
from runtime_helpers import base_env, put_product, rendered

from cache_constructs.contract.keys import generation_key, item_keys, page_keys
from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime.config import load_config
from cache_constructs.runtime.iam_auth import ElastiCacheIAMProvider
from cache_constructs.runtime.redis_clients import connection_kwargs, create_redis_client
from cache_constructs.runtime.runtime import build_runtime


def exercise_every_script(runtime, counting_dynamo, product_id: str, category: str) -> None:
    """Miss+lease+fill, hit, write-through, invalidation, negative fill, list lease+fill, bump,
    lease renewal."""
    items = runtime.items
    put_product(counting_dynamo, product_id, 1, category=category)
    assert items.read(product_id).x_cache == "MISS"
    items.l1.clear()
    assert items.read(product_id).x_cache == "HIT-L2"
    v2 = put_product(counting_dynamo, product_id, 2, category=category)
    assert items.write_through(product_id, rendered(v2)) is True
    items.l1.clear()
    assert items.read(product_id).version == 2
    items.invalidate(product_id, 2)
    items.l1.clear()
    assert items.read(product_id).x_cache == "MISS"
    assert items.read(f"{product_id}-missing").body is None  # negative fill
    assert runtime.lists.read(category, 5, None).x_cache == "MISS"
    runtime.lists.l1.clear()
    assert runtime.lists.read(category, 5, None).x_cache == "HIT-L2"
    assert runtime.lists.bump([category]) is True
    runtime.lists.l1.clear()
    assert runtime.lists.read(category, 5, None).x_cache == "MISS"
    lease_key = item_keys(product_id).lease
    assert runtime.l2.client.set(lease_key, "mine", px=1000)
    assert runtime.l2.renew_lease(lease_key, "mine", 60_000) is True
    assert 1000 < runtime.l2.client.pttl(lease_key) <= 60_000
    assert runtime.l2.release_lease(lease_key, "mine") is True
    assert runtime.l2.breaker.state == "closed"


def test_acl_user_with_password(acl_redis, counting_dynamo, clock):
    url = f"redis://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{acl_redis.port}/0"
    config = load_config(base_env(REDIS_URL=url))
    assert config.redis.auth == "password"
    runtime = build_runtime(
        config, codec=PRODUCT_CODEC, dynamodb_client=counting_dynamo, clock=clock
    )
    exercise_every_script(runtime, counting_dynamo, f"acl-{uuid.uuid4().hex[:8]}", "acl")


def test_acl_wrong_password_degrades_to_bypass(acl_redis, counting_dynamo, clock):
    url = f"redis://{ACL_USER}:wrong@127.0.0.1:{acl_redis.port}/0"
    runtime = build_runtime(
        load_config(base_env(REDIS_URL=url)),
        codec=PRODUCT_CODEC,
        dynamodb_client=counting_dynamo,
        clock=clock,
    )
    put_product(counting_dynamo, "acl-x", 1)
    assert runtime.items.read("acl-x").x_cache == "BYPASS"


def cluster_runtime(redis_cluster, counting_dynamo, clock):
    host, port = redis_cluster.startup_nodes[0]
    config = load_config(
        base_env(REDIS_HOST=host, REDIS_PORT=str(port), REDIS_CLUSTER="true", REDIS_TLS="false")
    )
    return build_runtime(config, codec=PRODUCT_CODEC, dynamodb_client=counting_dynamo, clock=clock)


def test_cluster_runs_every_script(redis_cluster, counting_dynamo, clock):
    runtime = cluster_runtime(redis_cluster, counting_dynamo, clock)
    assert isinstance(runtime.l2.client, RedisCluster)
    # products whose slots live on different nodes: routing really happens
    client = runtime.l2.client
    owners = {}
    for i in range(40):
        product_id = f"cl-{uuid.uuid4().hex[:6]}-{i}"
        node = client.get_node_from_key(item_keys(product_id).value)
        owners.setdefault(node.name, product_id)
    assert len(owners) >= 2
    for n, product_id in enumerate(owners.values()):
        exercise_every_script(runtime, counting_dynamo, product_id, f"cat {n}")


def test_cluster_item_and_list_keys_map_to_one_slot(redis_cluster):
    host, port = redis_cluster.startup_nodes[0]
    with redis.Redis(host=host, port=port) as node:
        for product_id in ("a", "prod-42", "X_y-z"):
            slots = {node.execute_command("CLUSTER KEYSLOT", k) for k in item_keys(product_id)}
            assert len(slots) == 1
        for category in ("books", "home garden"):
            keys = [generation_key(category), *page_keys(category, 7, 20, "abc")]
            assert len({node.execute_command("CLUSTER KEYSLOT", k) for k in keys}) == 1


def test_tls_settings_verify_certificates():
    config = load_config(base_env(REDIS_URL="rediss://cache.example:6379/0"))
    kwargs = connection_kwargs(config.redis, region="eu-west-1")
    assert kwargs["ssl"] is True
    assert kwargs["ssl_cert_reqs"] == "required"
    assert kwargs["ssl_check_hostname"] is True
    client = create_redis_client(config.redis, region="eu-west-1")
    connection = client.connection_pool.make_connection()
    assert connection.cert_reqs == ssl.CERT_REQUIRED
    assert connection.check_hostname is True


def test_timeouts_and_no_hidden_retries():
    config = load_config(
        base_env(REDIS_HOST="h", REDIS_CONNECT_TIMEOUT_MS="150", REDIS_TIMEOUT_MS="40")
    )
    kwargs = connection_kwargs(config.redis, region="eu-west-1")
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (0.15, 0.04)
    assert kwargs["retry"].get_retries() == 0


def test_iam_settings_use_the_credential_provider():
    config = load_config(
        base_env(
            REDIS_HOST="c.serverless.euw1.cache.amazonaws.com",
            REDIS_TLS="true",
            REDIS_CLUSTER="true",
            REDIS_AUTH="iam",
            REDIS_USER="svc-user",
            REDIS_CACHE_NAME="products",
            REDIS_SERVERLESS="true",
        )
    )
    provider = connection_kwargs(config.redis, region="eu-west-1")["credential_provider"]
    assert isinstance(provider, ElastiCacheIAMProvider)
    assert (provider.user, provider.cache_name, provider.region, provider.serverless) == (
        "svc-user",
        "products",
        "eu-west-1",
        True,
    )


def test_iam_credentials_failure_degrades_to_bypass(redis_url, counting_dynamo, clock):
    """No AWS credentials to sign the token: the read is served from the origin."""

    def no_credentials():
        raise RuntimeError("no AWS credentials found")

    provider = ElastiCacheIAMProvider(
        user="u", cache_name="c", region="eu-west-1", credentials=no_credentials
    )
    client = redis.Redis.from_url(redis_url, credential_provider=provider)
    runtime = build_runtime(
        load_config(base_env(REDIS_URL=redis_url)),
        codec=PRODUCT_CODEC,
        redis_client=client,
        dynamodb_client=counting_dynamo,
        clock=clock,
    )
    put_product(counting_dynamo, "iam-x", 1)
    assert runtime.items.read("iam-x").x_cache == "BYPASS"
