"""The stack's configuration as the cost model needs it, read from a synthesized template.

`make synth` writes `cdk.out/<Stack>.template.json`; the functions are found by their handler
(the product service's four), the caches and the table by their CloudFormation types. A value
that is not a literal (an unresolved token) or a missing part is an InputError naming the
resource and property, so a template of some other stack says what it lacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cache_constructs.cost.errors import InputError
from cache_constructs.product.handlers import (
    LIST_HANDLER,
    READ_HANDLER,
    STREAM_HANDLER,
    WRITE_HANDLER,
)

FIELD = "--template"


ITEM_RESOURCE_PATH = "/~1products~1{id}"
LIST_RESOURCE_PATH = "/~1products"
LAMBDA_DEFAULT_MEMORY_MB = 128
LAMBDA_DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class FunctionConfig:
    """One Lambda function: memory and architecture (what a GB-second costs)."""

    memory_mb: int
    architecture: str

    @property
    def memory_gb(self) -> float:
        """Memory in GB, as Lambda bills it (MB / 1024)."""
        return self.memory_mb / 1024


@dataclass(frozen=True)
class ApiCacheConfig:
    """The REST stage cache: its size and which product routes it caches."""

    size_gb: str
    caches_items: bool
    caches_lists: bool


@dataclass(frozen=True)
class ServerlessCacheConfig:
    """ElastiCache Serverless: engine (valkey or redis) and the storage limit, if any."""

    engine: str
    max_storage_gb: float | None


@dataclass(frozen=True)
class NodeCacheConfig:
    """An ElastiCache replication group: engine, node type and node count."""

    engine: str
    node_type: str
    nodes: int


@dataclass(frozen=True)
class DaxConfig:
    """The DAX cluster: node type and node count."""

    node_type: str
    nodes: int


@dataclass(frozen=True)
class TableConfig:
    """The product table's billing mode (and provisioned capacity, when provisioned)."""

    on_demand: bool
    read_capacity: int = 0
    write_capacity: int = 0


@dataclass(frozen=True)
class StackConfig:
    """Everything about the stack the cost model prices."""

    source: str
    read_function: FunctionConfig
    list_function: FunctionConfig
    write_function: FunctionConfig
    table: TableConfig
    invalidator: FunctionConfig | None = None
    invalidator_batch_size: int = LAMBDA_DEFAULT_BATCH_SIZE
    api_cache: ApiCacheConfig | None = None
    valkey: ServerlessCacheConfig | NodeCacheConfig | None = None
    dax: DaxConfig | None = None

    @property
    def cache_layers(self) -> frozenset[str]:
        """The cache layers this stack has: api, l2, dax, and l1 wherever there is an l2 (the
        read functions' policies use L1, which runs only on Valkey: CachePolicy refuses `l1`
        without `l2`)."""
        layers = set()
        if self.api_cache is not None and (
            self.api_cache.caches_items or self.api_cache.caches_lists
        ):
            layers.add("api")
        if self.valkey is not None:
            layers |= {"l1", "l2"}
        if self.dax is not None:
            layers.add("dax")
        return frozenset(layers)

    def describe(self) -> str:
        """One line a person can check against cdk.json."""
        parts = []
        if self.api_cache is not None:
            routes = [
                name
                for name, on in (
                    ("GET /products/{id}", self.api_cache.caches_items),
                    ("GET /products", self.api_cache.caches_lists),
                )
                if on
            ]
            parts.append(
                f"stage cache {self.api_cache.size_gb} GB on {' and '.join(routes) or 'no route'}"
            )
        else:
            parts.append("no stage cache")
        parts.append(
            f"read/list/write {self.read_function.memory_mb}/{self.list_function.memory_mb}/"
            f"{self.write_function.memory_mb} MB {self.read_function.architecture}"
        )
        if self.invalidator is not None:
            parts.append(f"invalidator {self.invalidator.memory_mb} MB")
        if isinstance(self.valkey, ServerlessCacheConfig):
            parts.append(f"{self.valkey.engine} serverless")
        elif isinstance(self.valkey, NodeCacheConfig):
            parts.append(f"{self.valkey.engine} {self.valkey.nodes} x {self.valkey.node_type}")
        else:
            parts.append("no L2")
        parts.append(f"DAX {self.dax.nodes} x {self.dax.node_type}" if self.dax else "no DAX")
        parts.append(
            "DynamoDB on demand"
            if self.table.on_demand
            else f"DynamoDB provisioned {self.table.read_capacity} RCU / "
            f"{self.table.write_capacity} WCU"
        )
        return "; ".join(parts)


def read_template(path: Path) -> StackConfig:
    """The configuration of the stack synthesized into `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(FIELD, f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        template = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(FIELD, f"{path} is not JSON: {exc.msg} (line {exc.lineno})") from None
    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict) or not resources:
        raise InputError(FIELD, f"{path} has no Resources: not a CloudFormation template")
    return _Reader(str(path), resources).stack()


class _Reader:
    def __init__(self, source: str, resources: dict[str, Any]) -> None:
        self.source = source
        self.resources = {key: value for key, value in resources.items() if isinstance(value, dict)}

    def of_type(self, cfn_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (key, resource.get("Properties") or {})
            for key, resource in self.resources.items()
            if resource.get("Type") == cfn_type
        ]

    def stack(self) -> StackConfig:
        functions = {
            props.get("Handler"): (key, props)
            for key, props in self.of_type("AWS::Lambda::Function")
        }
        invalidator_key = functions.get(STREAM_HANDLER, (None, None))[0]
        return StackConfig(
            source=self.source,
            read_function=self.function(functions, READ_HANDLER),
            list_function=self.function(functions, LIST_HANDLER),
            write_function=self.function(functions, WRITE_HANDLER),
            invalidator=self.function(functions, STREAM_HANDLER) if invalidator_key else None,
            invalidator_batch_size=self.batch_size(invalidator_key),
            table=self.table(),
            api_cache=self.api_cache(),
            valkey=self.valkey(),
            dax=self.dax(),
        )

    def function(
        self, functions: dict[Any, tuple[str, dict[str, Any]]], handler: str
    ) -> FunctionConfig:
        if handler not in functions:
            raise InputError(
                FIELD,
                f"{self.source} has no AWS::Lambda::Function with Handler {handler!r} "
                "(is it a CachedProductService stack?)",
            )
        key, props = functions[handler]
        memory = self.integer(key, props, "MemorySize", default=LAMBDA_DEFAULT_MEMORY_MB)
        architectures = props.get("Architectures", ["x86_64"])
        if not isinstance(architectures, list) or architectures not in (["arm64"], ["x86_64"]):
            raise InputError(
                FIELD, f"Resources.{key}.Properties.Architectures is not arm64 or x86_64"
            )
        return FunctionConfig(memory_mb=memory, architecture=architectures[0])

    def batch_size(self, invalidator_key: str | None) -> int:
        for key, props in self.of_type("AWS::Lambda::EventSourceMapping"):
            target = props.get("FunctionName")
            if invalidator_key and target == {"Ref": invalidator_key}:
                return self.integer(key, props, "BatchSize", default=LAMBDA_DEFAULT_BATCH_SIZE)
        return LAMBDA_DEFAULT_BATCH_SIZE

    def table(self) -> TableConfig:
        tables = self.of_type("AWS::DynamoDB::Table")
        if not tables:
            raise InputError(FIELD, f"{self.source} has no AWS::DynamoDB::Table")
        # The product table is the one with a stream (the invalidator reads it).
        key, props = next(((k, p) for k, p in tables if p.get("StreamSpecification")), tables[0])
        if props.get("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST":
            return TableConfig(on_demand=True)
        throughput = props.get("ProvisionedThroughput") or {}
        return TableConfig(
            on_demand=False,
            read_capacity=self.integer(key, throughput, "ReadCapacityUnits", default=0),
            write_capacity=self.integer(key, throughput, "WriteCapacityUnits", default=0),
        )

    def api_cache(self) -> ApiCacheConfig | None:
        for key, props in self.of_type("AWS::ApiGateway::Stage"):
            if props.get("CacheClusterEnabled") is not True:
                continue
            size = props.get("CacheClusterSize")
            if not isinstance(size, str):
                raise InputError(FIELD, f"Resources.{key}.Properties.CacheClusterSize is missing")
            settings = props.get("MethodSettings") or []
            return ApiCacheConfig(
                size_gb=size,
                caches_items=_caching(settings, ITEM_RESOURCE_PATH),
                caches_lists=_caching(settings, LIST_RESOURCE_PATH),
            )
        return None

    def valkey(self) -> ServerlessCacheConfig | NodeCacheConfig | None:
        for key, props in self.of_type("AWS::ElastiCache::ServerlessCache"):
            limit = ((props.get("CacheUsageLimits") or {}).get("DataStorage") or {}).get("Maximum")
            return ServerlessCacheConfig(
                engine=self.string(key, props, "Engine").lower(),
                max_storage_gb=float(limit) if isinstance(limit, int | float) else None,
            )
        for key, props in self.of_type("AWS::ElastiCache::ReplicationGroup"):
            if "NumNodeGroups" in props or "ReplicasPerNodeGroup" in props:
                shards = self.integer(key, props, "NumNodeGroups", default=1)
                replicas = self.integer(key, props, "ReplicasPerNodeGroup", default=0)
                nodes = shards * (replicas + 1)
            else:
                nodes = self.integer(key, props, "NumCacheClusters", default=1)
            return NodeCacheConfig(
                # CloudFormation's default engine for a replication group is redis.
                engine=str(props.get("Engine", "redis")).lower(),
                node_type=self.string(key, props, "CacheNodeType"),
                nodes=nodes,
            )
        return None

    def dax(self) -> DaxConfig | None:
        for key, props in self.of_type("AWS::DAX::Cluster"):
            return DaxConfig(
                node_type=self.string(key, props, "NodeType"),
                nodes=self.integer(key, props, "ReplicationFactor", default=1),
            )
        return None

    @staticmethod
    def integer(key: str, props: dict[str, Any], name: str, *, default: int) -> int:
        value = props.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InputError(
                FIELD,
                f"Resources.{key}.Properties.{name} is not a number ({value!r}; an unresolved "
                "token?)",
            )
        return int(value)

    @staticmethod
    def string(key: str, props: dict[str, Any], name: str) -> str:
        value = props.get(name)
        if not isinstance(value, str) or not value:
            raise InputError(FIELD, f"Resources.{key}.Properties.{name} is missing or not a string")
        return value


def _caching(settings: list[Any], resource_path: str) -> bool:
    """Whether GET on `resource_path` is cached: its own method setting, else the stage-wide one."""
    specific = wildcard = None
    for setting in settings:
        if not isinstance(setting, dict):
            continue
        path, method = setting.get("ResourcePath"), setting.get("HttpMethod")
        if path == resource_path and method in ("GET", "*"):
            specific = setting.get("CachingEnabled") is True
        elif path == "/*" and method in ("GET", "*"):
            wildcard = setting.get("CachingEnabled") is True
    if specific is not None:
        return specific
    return bool(wildcard)
