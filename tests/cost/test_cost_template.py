"""The configuration read from the real synthesized dev and prod templates, and bad templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cache_constructs.cost.errors import InputError
from cache_constructs.cost.template import (
    ApiCacheConfig,
    DaxConfig,
    FunctionConfig,
    NodeCacheConfig,
    ServerlessCacheConfig,
    TableConfig,
    read_template,
)

pytestmark = pytest.mark.synth


def test_dev_template(templates: dict[str, Path]) -> None:
    stack = read_template(templates["dev"])
    # cdk.json dev: Valkey serverless (5 GB limit), 1 x dax.t3.small, 0.5 GB stage cache, 512 MB.
    assert stack.api_cache == ApiCacheConfig(size_gb="0.5", caches_items=False, caches_lists=True)
    assert stack.valkey == ServerlessCacheConfig(engine="valkey", max_storage_gb=5.0)
    assert stack.dax == DaxConfig(node_type="dax.t3.small", nodes=1)
    for function in (stack.read_function, stack.list_function, stack.write_function):
        assert function == FunctionConfig(memory_mb=512, architecture="arm64")
    assert stack.invalidator == FunctionConfig(memory_mb=256, architecture="arm64")
    assert stack.invalidator_batch_size == 100
    assert stack.table == TableConfig(on_demand=True)
    assert stack.cache_layers == {"api", "l1", "l2", "dax"}


def test_prod_template(templates: dict[str, Path]) -> None:
    stack = read_template(templates["prod"])
    # cdk.json prod: a replication group of 1 primary + 2 replicas of cache.r7g.large,
    # 3 x dax.r5.large, a 1.6 GB stage cache, 1024 MB functions.
    assert stack.api_cache == ApiCacheConfig(size_gb="1.6", caches_items=False, caches_lists=True)
    assert stack.valkey == NodeCacheConfig(engine="valkey", node_type="cache.r7g.large", nodes=3)
    assert stack.dax == DaxConfig(node_type="dax.r5.large", nodes=3)
    assert stack.read_function == FunctionConfig(memory_mb=1024, architecture="arm64")
    assert stack.write_function.memory_mb == 1024
    assert "3 x cache.r7g.large" in stack.describe()


def _template(**resources: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Read": _function("cache_constructs.product.handlers.read_handler.handler"),
        "List": _function("cache_constructs.product.handlers.list_handler.handler"),
        "Write": _function("cache_constructs.product.handlers.write_handler.handler"),
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}},
    }
    base.update(resources)
    return {"Resources": base}


def _function(handler: str, memory: Any = 1024) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Handler": handler, "MemorySize": memory, "Architectures": ["arm64"]},
    }


def _write(tmp_path: Path, template: dict[str, Any]) -> Path:
    path = tmp_path / "Stack.template.json"
    path.write_text(json.dumps(template))
    return path


def test_a_cluster_mode_group_counts_shards_times_replicas_plus_one(tmp_path: Path) -> None:
    group = {
        "Type": "AWS::ElastiCache::ReplicationGroup",
        "Properties": {
            "Engine": "valkey",
            "CacheNodeType": "cache.r7g.large",
            "NumNodeGroups": 3,
            "ReplicasPerNodeGroup": 1,
        },
    }
    stack = read_template(_write(tmp_path, _template(Group=group)))
    assert stack.valkey == NodeCacheConfig(engine="valkey", node_type="cache.r7g.large", nodes=6)
    assert stack.cache_layers == {"l1", "l2"}  # no stage cache, no DAX: not in the model


def test_a_provisioned_table_and_a_stage_wide_cache(tmp_path: Path) -> None:
    stage = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {
            "CacheClusterEnabled": True,
            "CacheClusterSize": "6.1",
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "CachingEnabled": True}],
        },
    }
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {"ReadCapacityUnits": 50, "WriteCapacityUnits": 10},
        },
    }
    stack = read_template(_write(tmp_path, _template(Stage=stage, Table=table)))
    assert stack.api_cache == ApiCacheConfig(size_gb="6.1", caches_items=True, caches_lists=True)
    assert stack.table == TableConfig(on_demand=False, read_capacity=50, write_capacity=10)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not JSON"),
        ("[]", "no Resources"),
        (json.dumps({"Resources": {}}), "no Resources"),
        (
            json.dumps({"Resources": {"Table": {"Type": "AWS::DynamoDB::Table"}}}),
            "cache_constructs.product.handlers.read_handler.handler",
        ),
        (
            json.dumps(
                _template(
                    Read=_function(
                        "cache_constructs.product.handlers.read_handler.handler", {"Ref": "Memory"}
                    )
                )
            ),
            "Resources.Read.Properties.MemorySize",
        ),
    ],
)
def test_unusable_templates_name_template_and_the_part(
    tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "bad.template.json"
    path.write_text(content)
    with pytest.raises(InputError) as error:
        read_template(path)
    assert error.value.field == "--template"
    assert says in error.value.message


def test_an_unreadable_template_names_template(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--template: cannot read"):
        read_template(tmp_path / "cdk.out" / "Missing.template.json")
