"""Value checks for the trainer's config keys (ints and numbers as YAML/JSON deliver them)."""

from __future__ import annotations

import math

__all__ = ["check_int", "check_number"]


def check_int(name: str, value, minimum: int | None = None, allow_none: bool = False):
    """``value`` as an int (whole floats accepted, as YAML/JSON may deliver them), else ValueError naming ``name``."""
    if value is None and allow_none:
        return None
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole:
        raise ValueError(f"{name} must be an int{' or None' if allow_none else ''}, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_number(name: str, value, minimum: float | None = None, allow_none: bool = False, strict: bool = False):
    """``value`` as a finite float, else ValueError naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number{' or None' if allow_none else ''}, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value}")
    return float(value)
