"""Prop validation shared by the constructs: every failure is a ValueError naming the prop.

Values that are unresolved CDK tokens (parameters, references) cannot be checked at synth
time and are skipped, as the CDK's own constructs do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aws_cdk import Token
from aws_cdk import aws_ec2 as ec2


def is_unresolved(value: Any) -> bool:
    """True when `value` is a CDK token whose real value is only known at deploy time."""
    return value is not None and Token.is_unresolved(value)


def require_one_of(prop: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise unless `value` is one of `allowed` (tokens pass)."""
    if is_unresolved(value):
        return
    allowed_list = list(allowed)
    if value not in allowed_list:
        shown = ", ".join(repr(a) for a in allowed_list)
        raise ValueError(f"{prop} must be one of {shown}; got {value!r}")


def require_int_range(prop: str, value: Any, low: int, high: int | None = None) -> None:
    """Raise unless `value` is an int (not a bool) with low <= value (<= high) (tokens pass)."""
    if is_unresolved(value):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{prop} must be an integer; got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{prop} must be {bounds}; got {value}")


def require_number_range(prop: str, value: Any, low: float, high: float) -> None:
    """Raise unless `value` is a number (not a bool) with low <= value <= high."""
    if is_unresolved(value):
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{prop} must be a number; got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{prop} must be between {low} and {high}; got {value}")


def require_not_both(existing_prop: str, existing: Any, props_prop: str, props: Any) -> None:
    """A caller brings an existing resource OR the props to build one, never both."""
    if existing is not None and props is not None:
        raise ValueError(f"give either {existing_prop} or {props_prop}, not both")


def require_instance(
    prop: str, value: Any, expected: type | tuple[type, ...], hint: str = ""
) -> None:
    """Raise unless `value` is an instance of `expected` (None passes: "not given")."""
    if value is None or isinstance(value, expected):
        return
    types = expected if isinstance(expected, tuple) else (expected,)
    names = " or ".join(t.__name__ for t in types)
    raise ValueError(f"{prop} must be a {names}{hint}; got {type(value).__name__} {value!r}")


def require_pattern(prop: str, value: Any, pattern: re.Pattern[str], description: str) -> None:
    """Raise unless the string `value` matches `pattern` (None and tokens pass)."""
    if value is None or is_unresolved(value):
        return
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{prop} must be {description}; got {value!r}")


def select_private_subnet_ids(
    prop: str, vpc: ec2.IVpc, selection: ec2.SubnetSelection | None
) -> list[str]:
    """Subnet ids of `selection` in `vpc` (default: its private subnets); public ones refused."""
    selected = vpc.select_subnets(
        availability_zones=selection.availability_zones if selection else None,
        one_per_az=selection.one_per_az if selection else None,
        subnet_filters=selection.subnet_filters if selection else None,
        subnet_group_name=selection.subnet_group_name if selection else None,
        subnets=selection.subnets if selection else None,
        subnet_type=selection.subnet_type if selection else None,
    )
    if selected.has_public:
        raise ValueError(f"{prop} must select private subnets, not public ones")
    if not selected.subnet_ids:
        raise ValueError(f"{prop} selects no subnets")
    return list(selected.subnet_ids)
