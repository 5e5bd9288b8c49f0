"""Plain Python values from what a database or a data file hands back (numpy scalars and arrays)."""

from __future__ import annotations

from typing import Any

__all__ = ["from_numpy", "plain_values"]


def from_numpy(value: Any) -> Any:
    """A numpy scalar or array as the equivalent Python number or list; anything else unchanged.

    Duck-typed on the type's module, so that callers which never see numpy do not import it.
    """
    module = type(value).__module__
    if (module == "numpy" or module.startswith("numpy.")) and hasattr(value, "tolist"):
        return value.tolist()
    return value


def plain_values(value: Any, tuples_as_lists: bool = False) -> Any:
    """``value`` with every numpy scalar and array inside dicts, lists and tuples made plain Python.

    Tuples stay tuples unless ``tuples_as_lists`` (how a config is stored: JSON has no tuples).
    """
    value = from_numpy(value)
    if isinstance(value, dict):
        return {key: plain_values(item, tuples_as_lists) for key, item in value.items()}
    if isinstance(value, list) or (tuples_as_lists and isinstance(value, tuple)):
        return [plain_values(item, tuples_as_lists) for item in value]
    if isinstance(value, tuple):
        return type(value)(plain_values(item) for item in value)
    return value
