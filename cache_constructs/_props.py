"""Typed construct props: frozen, keyword-only data classes that mypy checks.

`@construct_props` turns a class with annotated fields into a frozen, keyword-only dataclass
(mypy sees it as one, through ``dataclass_transform``) and makes an unknown keyword a
``ValueError`` naming the props class and the key (with the closest known prop as a hint),
instead of the ``TypeError`` a plain dataclass raises. Each props class validates its own
values in ``__post_init__``, so a bad value fails where it is written, naming
``<PropsClass>.<field>``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(
    kw_only_default=True, frozen_default=True, field_specifiers=(dataclasses.field,)
)
def construct_props(cls: type[_T]) -> type[_T]:
    """Make ``cls`` a frozen keyword-only dataclass whose unknown keys are a ValueError."""
    data_class = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
    known = tuple(field.name for field in dataclasses.fields(data_class))  # type: ignore[arg-type,unused-ignore]
    generated: Callable[..., None] = data_class.__init__  # type: ignore[misc,unused-ignore]

    @functools.wraps(generated)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            raise ValueError(f"{cls.__name__} takes keyword props only; got {len(args)} positional")
        unknown = [key for key in kwargs if key not in known]
        if unknown:
            raise ValueError(unknown_props_message(cls.__name__, unknown, known))
        generated(self, **kwargs)

    data_class.__init__ = __init__  # type: ignore[method-assign,misc,unused-ignore]
    return data_class


def unknown_props_message(owner: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """``"<owner>.<key> is not a prop (did you mean <close>?); allowed: ..."``."""
    known = sorted(known)
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"{owner}.{key} is not a prop{hint}")
    return f"{'; '.join(parts)}; allowed: {', '.join(known)}"


def prop_names(props_class: type) -> tuple[str, ...]:
    """The field names of a props class, in declaration order."""
    return tuple(field.name for field in dataclasses.fields(props_class))
