"""Shared helpers for the dataset builders: strict config keys, seeded generators, argument checks."""

from __future__ import annotations

import functools
import numbers
from typing import Any, Callable, Sequence

import torch

from ..common.config_keys import check_config_keys, keyword_names
from ..common.plain import plain_values
from ..common.seeds import check_seed, derive_data_seed
from ..registry import ConfigKeyError

__all__ = [
    "strict_builder",
    "make_generator",
    "check_fraction",
    "check_positive_int",
    "as_pair",
]


def strict_builder(function: Callable) -> Callable:
    """Make a ``fn(seed, **config)`` builder refuse unknown config keys (the one check of ``common.config_keys``,
    raising the registry's ConfigKeyError), check its seed and hand it plain values (configs fetched from a
    database hold numpy ones). ``inspect.signature`` of the wrapper still shows the builder's own keywords.
    """
    accepted = keyword_names(function, leave_out=("seed",))

    @functools.wraps(function)
    def wrapper(seed=None, **config):
        check_config_keys(function.__name__, config, accepted, ConfigKeyError)
        return function(check_seed(seed, function.__name__), **plain_values(config))

    return wrapper


def make_generator(seed: int, *names: Any) -> torch.Generator:
    """A fresh ``torch.Generator`` seeded from ``derive_data_seed(seed, *names)``."""
    return torch.Generator().manual_seed(derive_data_seed(seed, *names))


def check_fraction(value: Any, name: str, allow_zero: bool = False) -> float:
    """``value`` as a float in (0, 1) (or [0, 1) with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return float(value)


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def as_pair(value: Any, name: str) -> tuple[int, int] | None:
    """``None``, an int ``n`` or a pair ``[h, w]`` as ``(h, w)``."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value)
    ):
        raise ValueError(f"{name} must be a positive int or a pair [height, width] of them, got {value!r}")
    return int(value[0]), int(value[1])
