"""Checks of a config's numbers, as YAML, JSON or a database row deliver them: each returns the value as a plain
int or float, or raises ``ValueError`` naming the key (``name``) and the value it got.

``bool`` is never a number here, although Python counts ``True`` as 1: a config's ``true`` in a number's place is a
mistake. Numpy numbers pass (a config read back from a database holds them).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_int", "check_number", "check_fraction"]


def _or_none(allow_none: bool) -> str:
    return " or None" if allow_none else ""


def check_int(name: str, value: Any, minimum: int | None = None, allow_none: bool = False) -> int | None:
    """``value`` as an int (whole floats accepted, as YAML/JSON may deliver them) of at least ``minimum``."""
    if value is None and allow_none:
        return None
    whole = isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole:
        raise ValueError(f"{name} must be an int{_or_none(allow_none)}, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_number(name: str, value: Any, minimum: float | None = None, allow_none: bool = False,
                 strict: bool = False) -> float | None:
    """``value`` as a finite float of at least ``minimum`` (above it with ``strict``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number{_or_none(allow_none)}, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value}")
    return float(value)


def check_fraction(name: str, value: Any, allow_zero: bool = False) -> float:
    """``value`` as a float in (0, 1) (or [0, 1) with ``allow_zero``): a share of something, a dropout rate."""
    interval = "[0, 1)" if allow_zero else "(0, 1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        (value >= 0 if allow_zero else value > 0) and value < 1
    ):
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)
