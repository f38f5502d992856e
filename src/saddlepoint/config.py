"""Helpers for frozen config dataclasses: validation with errors that name the field, and
loading from dictionaries that rejects unknown keys."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeVar

from saddlepoint.errors import InvalidInputError

T = TypeVar("T")


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> None:
    """Raise if ``value`` is not an integer > 0 (or >= 0 with ``allow_zero``)."""
    lowest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        bound = "a non-negative" if allow_zero else "a positive"
        raise InvalidInputError(f"{name} must be {bound} integer, got {value!r}")


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> None:
    """Raise if ``value`` is not a finite real > 0 (or >= 0 with ``allow_zero``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = "non-negative" if allow_zero else "positive"
        raise InvalidInputError(f"{name} must be a finite {bound} number, got {value!r}")


def check_choice(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> None:
    """Raise if ``value`` is not one of ``choices``."""
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build config ``cls`` from ``data``, rejecting keys that are not fields of ``cls``."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InvalidInputError(
            f"unknown {cls.__name__} key(s): {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}"
        )
    return cls(**data)


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-friendly dictionary of a config dataclass."""
    return dataclasses.asdict(config)
