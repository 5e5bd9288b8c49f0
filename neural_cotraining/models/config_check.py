"""Config checks shared by every model builder: strict config keys and the seed's type.

Kept apart from the builders so that builder modules in sub-packages (e.g. ``models.graph.builders``) can use them
without importing each other.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

__all__ = ["UnknownConfigKeyError", "check_seed", "strict_config"]


class UnknownConfigKeyError(TypeError, ValueError):
    """A builder got a config key it does not accept (a TypeError like Python's, and a ValueError: bad config)."""


def strict_config(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Reject config keys that ``builder`` does not name, listing the accepted ones; keeps the signature visible."""
    accepted = [
        name
        for name, p in inspect.signature(builder).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]

    @functools.wraps(builder)
    def checked(*args: Any, **config: Any) -> nn.Module:
        unknown = sorted(set(config) - set(accepted) - {"dataloaders", "seed"})
        if unknown:
            raise UnknownConfigKeyError(f"{builder.__name__} got unknown config keys {unknown}; accepted: {accepted}")
        return builder(*args, **config)

    checked.accepted_keys = tuple(accepted)  # type: ignore[attr-defined]
    return checked


def check_seed(seed: Any) -> int:
    """``seed`` as an int; numpy ints are fine (DataJoint returns those), bools and floats are not."""
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise TypeError(f"seed must be an int, got {seed!r}")
    return int(seed)
