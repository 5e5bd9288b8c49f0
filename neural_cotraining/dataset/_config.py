"""Shared helpers for the dataset builders: strict config keys, seed handling, argument checks."""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import numbers
from typing import Any, Callable, Sequence

import numpy as np
import torch

from neural_cotraining.registry import ConfigKeyError

__all__ = [
    "strict_builder",
    "plain_value",
    "check_seed",
    "derive_seed",
    "make_generator",
    "check_fraction",
    "check_positive_int",
    "as_pair",
]


def strict_builder(function: Callable) -> Callable:
    """Make a ``fn(seed, **config)`` builder refuse unknown config keys with a message listing the accepted ones.

    Python's own error for an unexpected keyword does not say which keywords *are* accepted; configs come from
    files and database rows, so the message has to. ``inspect.signature`` of the wrapper still shows the builder's
    explicit keywords and defaults (``functools.wraps`` sets ``__wrapped__``).
    """
    parameters = inspect.signature(function).parameters
    accepted = [name for name in parameters if name != "seed"]

    @functools.wraps(function)
    def wrapper(seed=None, **config):
        unknown = sorted(set(config) - set(accepted))
        if unknown:
            raise ConfigKeyError(
                f"{function.__name__} does not accept config key(s) {unknown}; accepted keys: {sorted(accepted)}"
            )
        return function(check_seed(seed, function.__name__), **{k: plain_value(v) for k, v in config.items()})

    return wrapper


def plain_value(value: Any) -> Any:
    """numpy scalars and arrays (as configs fetched from a database may hold) -> Python numbers and lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_value(item) for item in value)
    return value


def check_seed(seed: Any, where: str = "dataset builder") -> int:
    """The seed as a plain ``int`` (DataJoint hands out numpy integers); refuse anything else."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{where}: seed must be an integer, got {seed!r} ({type(seed).__name__})")
    return int(seed)


def derive_seed(seed: int, *names: Any) -> int:
    """A stable 63-bit seed for one consumer (a loader, a corruption, a session) derived from ``seed`` and names.

    Independent streams per consumer keep, e.g., the order of one session's batches unchanged when another
    session is added. Uses sha256 rather than ``hash`` because Python's string hash changes between processes.
    """
    text = json.dumps([int(seed), *[str(name) for name in names]])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & ((1 << 63) - 1)


def make_generator(seed: int, *names: Any) -> torch.Generator:
    """A fresh ``torch.Generator`` seeded from ``derive_seed(seed, *names)``."""
    return torch.Generator().manual_seed(derive_seed(seed, *names))


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
