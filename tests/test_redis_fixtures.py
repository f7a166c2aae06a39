"""The fixtures start what they claim: these guard the test harness itself."""

import redis
import redis_servers
from redis.cluster import ClusterNode, RedisCluster


def test_acl_server_refuses_default_user(acl_redis):
    with redis.Redis(port=acl_redis.port) as anonymous:
        try:
            anonymous.ping()
            raise AssertionError("default user should be disabled")
        except (redis.AuthenticationError, redis.ResponseError):
            pass
    with redis.Redis(
        port=acl_redis.port, username=redis_servers.ACL_USER, password=redis_servers.ACL_PASSWORD
    ) as client:
        assert client.ping()


def test_cluster_spreads_keys_over_three_nodes(redis_cluster):
    nodes = [ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
    client = RedisCluster(startup_nodes=nodes)
    try:
        for i in range(30):
            client.set(f"k{i}", i)
        owners = {client.get_node_from_key(f"k{i}").port for i in range(30)}
        assert len(owners) == 3
    finally:
        client.close()
