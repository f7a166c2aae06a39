"""Per-environment settings (cdk.json context ``environments``), parsed into typed props.

The context uses camelCase keys. Each section becomes the typed props object of one construct
(``valkey`` -> `ServerlessValkeyCacheProps` or `ReplicatedValkeyCacheProps`, ``dax`` ->
`DaxCacheProps`, ``api`` -> `CachedRestApiProps`, ``alarms`` -> `CacheAlarmsProps`), so a
setting in cdk.json is a prop of the same (snake_case) name, validated by the props class
itself. A key a props class does not have fails the synth with a ValueError naming its path
(``environments.dev.valkey.serverless.nodes``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aws_cdk import Duration

from cache_constructs import (
    CacheAlarmsProps,
    CachedRestApiProps,
    DaxCacheProps,
    ReplicatedValkeyCacheProps,
    ServerlessValkeyCacheProps,
    Thresholds,
)
from cache_constructs._props import prop_names, unknown_props_message
from cache_constructs.cache_alarms import ALARM_KINDS

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TOP_LEVEL = frozenset(
    {
        "stackName",
        "description",
        "natGateways",
        "pushInvalidation",
        "logRetentionDays",
        "removalPolicy",
        "alarmTopicArn",
        "valkey",
        "dax",
        "api",
        "functions",
        "alarms",
    }
)
_REMOVAL_POLICIES = ("retain", "destroy")
#: ``valkey`` holds exactly one of these keys: the variant, then its props.
VALKEY_VARIANTS: dict[str, type[ServerlessValkeyCacheProps | ReplicatedValkeyCacheProps]] = {
    "serverless": ServerlessValkeyCacheProps,
    "replicated": ReplicatedValkeyCacheProps,
}
_THRESHOLD_KINDS = {kind.prop: kind for kind in ALARM_KINDS}
_P = TypeVar("_P")


def snake_case(name: str) -> str:
    """``maxDataStorageGb`` -> ``max_data_storage_gb``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


@dataclass(frozen=True)
class FunctionSettings:
    """The ``functions`` section: CachedProductService's function props."""

    memory_size_mb: int = 512
    reserved_concurrent_executions: int | None = None


@dataclass(frozen=True)
class EnvironmentSettings:
    """What differs between dev and prod; everything else is a construct default."""

    name: str
    """The environment name (``dev``, ``prod``): selects the cdk.json entry."""
    stack_name: str
    description: str = "Product service with multi-layer caching"
    nat_gateways: int = 0
    """0 keeps the functions in isolated subnets (DynamoDB via the gateway endpoint)."""
    push_invalidation: bool = True
    """Push every change to browsers (AppSync Events, no NAT needed); False: pages poll."""
    log_retention_days: int = 30
    removal_policy: str = "retain"
    """``retain`` or ``destroy``: what happens to the table and logs with the stack."""
    alarm_topic_arn: str | None = None
    """An existing SNS topic for the alarms (default: CacheAlarms builds one)."""
    valkey: ServerlessValkeyCacheProps | ReplicatedValkeyCacheProps = field(
        default_factory=ServerlessValkeyCacheProps
    )
    dax: DaxCacheProps | None = field(default_factory=DaxCacheProps)
    """None: no DAX."""
    api: CachedRestApiProps = field(default_factory=CachedRestApiProps)
    functions: FunctionSettings = field(default_factory=FunctionSettings)
    alarms: CacheAlarmsProps = field(default_factory=CacheAlarmsProps)

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
        path = f"environments.{name}"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{path} must be an object")
        unknown = sorted(set(raw) - _TOP_LEVEL)
        if unknown:
            raise ValueError(f"{path} has unknown keys {unknown}; allowed: {sorted(_TOP_LEVEL)}")
        stack_name = raw.get("stackName")
        if not isinstance(stack_name, str) or not stack_name:
            raise ValueError(f"{path}.stackName must be a non-empty string")
        nat_gateways = raw.get("natGateways", 0)
        if isinstance(nat_gateways, bool) or not isinstance(nat_gateways, int):
            raise ValueError(f"{path}.natGateways must be an integer")
        if not 0 <= nat_gateways <= 2:
            raise ValueError(f"{path}.natGateways must be 0, 1 or 2")
        push = raw.get("pushInvalidation", True)
        if not isinstance(push, bool):
            raise ValueError(f"{path}.pushInvalidation must be true or false; got {push!r}")
        retention = raw.get("logRetentionDays", 30)
        if isinstance(retention, bool) or not isinstance(retention, int) or retention < 1:
            raise ValueError(f"{path}.logRetentionDays must be a positive integer")
        removal_policy = raw.get("removalPolicy", "retain")
        if removal_policy not in _REMOVAL_POLICIES:
            raise ValueError(
                f"{path}.removalPolicy must be one of {list(_REMOVAL_POLICIES)}; "
                f"got {removal_policy!r}"
            )
        topic_arn = raw.get("alarmTopicArn")
        if topic_arn is not None and (
            not isinstance(topic_arn, str) or not topic_arn.startswith("arn:")
        ):
            raise ValueError(f"{path}.alarmTopicArn must be an SNS topic ARN; got {topic_arn!r}")
        dax_raw = raw.get("dax", {})
        return cls(
            name=name,
            stack_name=stack_name,
            description=str(raw.get("description", cls.description)),
            nat_gateways=nat_gateways,
            push_invalidation=push,
            log_retention_days=retention,
            removal_policy=removal_policy,
            alarm_topic_arn=topic_arn,
            valkey=_valkey(f"{path}.valkey", raw.get("valkey", {"serverless": {}})),
            dax=None if dax_raw is None else props_from(DaxCacheProps, f"{path}.dax", dax_raw),
            api=props_from(CachedRestApiProps, f"{path}.api", raw.get("api", {})),
            functions=props_from(FunctionSettings, f"{path}.functions", raw.get("functions", {})),
            alarms=_alarms(f"{path}.alarms", raw.get("alarms", {})),
        )


def props_from(props_class: type[_P], path: str, raw: Any, **converted: Any) -> _P:
    """``props_class`` from a camelCase section; ValueErrors name the setting's path."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path} must be an object; got {raw!r}")
    known = prop_names(props_class)
    values = {snake_case(key): value for key, value in raw.items()}
    unknown = [key for key, name in zip(raw, values, strict=True) if name not in known]
    if unknown:
        camel = [_camel(name) for name in known]
        raise ValueError(unknown_props_message(path, unknown, camel))
    try:
        return props_class(**{**values, **converted})
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _valkey(path: str, raw: Any) -> ServerlessValkeyCacheProps | ReplicatedValkeyCacheProps:
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in VALKEY_VARIANTS:
        raise ValueError(
            f"{path} must hold exactly one of {sorted(VALKEY_VARIANTS)} with that variant's "
            f'props (e.g. {{"serverless": {{"maxDataStorageGb": 5}}}}); got {raw!r}'
        )
    ((variant, props),) = raw.items()
    return props_from(VALKEY_VARIANTS[variant], f"{path}.{variant}", props)


def _alarms(path: str, raw: Any) -> CacheAlarmsProps:
    """CacheAlarmsProps; a kind's levels are ``{"warning": x, "critical": y}`` (or null).

    cdk.json cannot hold a Duration, so a duration kind takes seconds under its name plus
    ``Seconds``: ``"maxIteratorAgeSeconds": {"warning": 30, "critical": 120}``.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path} must be an object; got {raw!r}")
    plain: dict[str, Any] = {}
    thresholds: dict[str, Thresholds[Any] | None] = {}
    for key, value in raw.items():
        name = snake_case(key)
        seconds = name.endswith("_seconds")
        kind = _THRESHOLD_KINDS.get(name.removesuffix("_seconds") if seconds else name)
        if kind is None or kind.duration != seconds:
            plain[key] = value
            continue
        thresholds[kind.prop] = _thresholds(f"{path}.{key}", value, seconds=seconds)
    return props_from(CacheAlarmsProps, path, plain, **thresholds)


def _thresholds(path: str, raw: Any, *, seconds: bool) -> Thresholds[Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"warning", "critical"}:
        raise ValueError(
            f'{path} must be {{"warning": number|null, "critical": number|null}} or null; '
            f"got {raw!r}"
        )
    levels: dict[str, Any] = {}
    for level in ("warning", "critical"):
        value = raw.get(level)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{path}.{level} must be a number or null; got {value!r}")
        levels[level] = Duration.seconds(value) if seconds and value is not None else value
    return Thresholds(**levels)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
