"""Shared helpers for the dataset builders: strict config keys, seeded generators, image sizes (the numbers' checks
are ``common.value_checks``)."""

from __future__ import annotations

import functools
import numbers
from typing import Any, Callable, Sequence

import torch

from ..common.config_keys import check_config_keys, keyword_names
from ..common.plain import plain_values
from ..common.seeds import check_seed, derive_data_seed
from ..common.value_checks import check_int
from ..registry import ConfigKeyError

__all__ = [
    "strict_builder",
    "make_generator",
    "batch_sizes",
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


def batch_sizes(batch_size: Any, eval_batch_size: Any) -> tuple[int, int]:
    """The training and the evaluation batch size, checked (the evaluation's defaults to the training's)."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return batch_size, check_int("eval_batch_size", eval_batch_size, minimum=1, allow_none=True) or batch_size


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
