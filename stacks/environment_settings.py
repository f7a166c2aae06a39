"""Per-environment settings (cdk.json context ``environments``), parsed and validated.

The context uses camelCase keys; each section maps onto the keyword props of one construct
(``valkey`` -> ValkeyCache, ``dax`` -> DaxCache, ``api`` -> CachedRestApi, ``alarms`` ->
CacheAlarms), so a setting in cdk.json is a construct prop of the same (snake_case) name.
A key a construct does not take fails the synth with a ValueError naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SECTIONS = ("valkey", "dax", "api", "functions", "alarms")
_TOP_LEVEL = frozenset(
    {"stackName", "description", "natGateways", "logRetentionDays", "removalPolicy", *_SECTIONS}
)
_REMOVAL_POLICIES = ("retain", "destroy")


def snake_case(name: str) -> str:
    """``maxDataStorageGb`` -> ``max_data_storage_gb``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def _section(env: str, raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"environments.{env}.{name} must be an object; got {value!r}")
    return {snake_case(key): item for key, item in value.items()}


@dataclass(frozen=True)
class EnvironmentSettings:
    """What differs between dev and prod; everything else is a construct default."""

    name: str
    """The environment name (``dev``, ``prod``): selects the cdk.json entry."""
    stack_name: str
    description: str = "Product service with multi-layer caching"
    nat_gateways: int = 0
    """0 keeps the functions in isolated subnets (DynamoDB via the gateway endpoint)."""
    log_retention_days: int = 30
    removal_policy: str = "retain"
    """``retain`` or ``destroy``: what happens to the table and logs with the stack."""
    valkey: dict[str, Any] = field(default_factory=dict)
    """ValkeyCache props (``mode``, ``node_type``, ``replicas_per_shard``, ...)."""
    dax: dict[str, Any] | None = field(default_factory=dict)
    """DaxCache props (``replication_factor``, ``node_type``, ...); None: no DAX."""
    api: dict[str, Any] = field(default_factory=dict)
    """CachedRestApi props (throttling, cache cluster size, ...)."""
    functions: dict[str, Any] = field(default_factory=dict)
    """CachedProductService function props (``memory_size_mb``, ...)."""
    alarms: dict[str, Any] = field(default_factory=dict)
    """CacheAlarms thresholds."""

    @classmethod
    def from_context(cls, name: str, environments: Any) -> EnvironmentSettings:
        """The settings of environment ``name`` from the ``environments`` context value."""
        if not isinstance(environments, Mapping) or not environments:
            raise ValueError("cdk.json context 'environments' must be a non-empty object")
        if name not in environments:
            raise ValueError(
                f"env must be one of {sorted(environments)} (cdk.json 'environments'); got {name!r}"
            )
        raw = environments[name]
        if not isinstance(raw, Mapping):
            raise ValueError(f"environments.{name} must be an object")
        unknown = sorted(set(raw) - _TOP_LEVEL)
        if unknown:
            raise ValueError(
                f"environments.{name} has unknown keys {unknown}; allowed: {sorted(_TOP_LEVEL)}"
            )
        stack_name = raw.get("stackName")
        if not isinstance(stack_name, str) or not stack_name:
            raise ValueError(f"environments.{name}.stackName must be a non-empty string")
        nat_gateways = raw.get("natGateways", 0)
        if isinstance(nat_gateways, bool) or not isinstance(nat_gateways, int):
            raise ValueError(f"environments.{name}.natGateways must be an integer")
        if not 0 <= nat_gateways <= 2:
            raise ValueError(f"environments.{name}.natGateways must be 0, 1 or 2")
        retention = raw.get("logRetentionDays", 30)
        if isinstance(retention, bool) or not isinstance(retention, int) or retention < 1:
            raise ValueError(f"environments.{name}.logRetentionDays must be a positive integer")
        removal_policy = raw.get("removalPolicy", "retain")
        if removal_policy not in _REMOVAL_POLICIES:
            raise ValueError(
                f"environments.{name}.removalPolicy must be one of {list(_REMOVAL_POLICIES)}; "
                f"got {removal_policy!r}"
            )
        dax_raw = raw.get("dax", {})
        return cls(
            name=name,
            stack_name=stack_name,
            description=str(raw.get("description", cls.description)),
            nat_gateways=nat_gateways,
            log_retention_days=retention,
            removal_policy=removal_policy,
            valkey=_section(name, raw, "valkey"),
            dax=None if dax_raw is None else _section(name, raw, "dax"),
            api=_section(name, raw, "api"),
            functions=_section(name, raw, "functions"),
            alarms=_section(name, raw, "alarms"),
        )
