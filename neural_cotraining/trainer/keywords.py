"""Config-key checking for keyword builders: unknown keys are refused with the list of accepted ones."""

from __future__ import annotations

import functools
import inspect
import math

__all__ = ["reject_unknown_keys", "check_int", "check_number"]


def reject_unknown_keys(function):
    """Wrap a builder so that an unknown keyword raises ``TypeError`` naming it and every accepted key.

    ``inspect.signature`` of the wrapper still shows the builder's own explicit signature (via ``__wrapped__``).
    """
    signature = inspect.signature(function)
    accepted = [name for name, parameter in signature.parameters.items() if parameter.kind is not parameter.VAR_KEYWORD]

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise TypeError(f"{function.__name__}() got unknown config key(s) {unknown}; accepted keys: {accepted}")
        return function(*args, **kwargs)

    return wrapper


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
