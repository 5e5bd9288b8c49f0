"""Canonical, process-independent hashes of builder configs.

A config is hashed by first writing it as a canonical string, then taking its MD5 (32 hex digits, as nnfabrik's
``*_hash`` attributes). The canonical form makes the hash independent of things that do not change a config's
meaning and sensitive to everything that does:

- dict key order, list vs. tuple, numpy scalars and arrays vs. the same Python values: the same hash;
- ``1`` vs. ``1.0`` vs. ``"1"`` vs. ``True`` vs. ``None``: different hashes (each value carries its type);
- anything that has no canonical form (objects, functions, sets, bytes, NaN/inf) raises :class:`UnhashableConfigError`
  naming where in the config it sits.

Python's ``hash()`` is never used, so ``PYTHONHASHSEED`` has no effect.
"""

from __future__ import annotations

import hashlib
import json
import math
from numbers import Integral, Real
from typing import Any

from .common.plain import from_numpy, plain_values

__all__ = ["make_hash", "canonical_form", "plain_config", "UnhashableConfigError"]


class UnhashableConfigError(TypeError):
    """A config holds a value that has no canonical, JSON-like form."""


def plain_config(value: Any) -> Any:
    """``value`` as plain Python (numpy converted, tuples as lists): how a config is stored and handed back."""
    return plain_values(value, tuples_as_lists=True)


def canonical_form(value: Any, path: str = "config") -> str:
    """The canonical string of ``value``; ``path`` names the position for error messages."""
    value = from_numpy(value)
    if value is None:
        return "n"
    if isinstance(value, bool):
        return "b:1" if value else "b:0"
    if isinstance(value, Integral):
        return f"i:{int(value)}"
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            raise UnhashableConfigError(f"{path} is {number!r}: configs must hold finite numbers")
        return f"f:{number!r}"
    if isinstance(value, str):
        return "s:" + json.dumps(value, ensure_ascii=True)
    if isinstance(value, (list, tuple)):
        items = (canonical_form(item, f"{path}[{index}]") for index, item in enumerate(value))
        return "[" + ",".join(items) + "]"
    if isinstance(value, dict):
        entries, key_forms = [], set()
        for key, item in value.items():
            key_form = canonical_form(key, f"{path} key {key!r}")
            if key_form[0] not in "sib":
                raise UnhashableConfigError(
                    f"{path} has key {key!r} of type {type(key).__name__}: keys must be strings, integers or booleans"
                )
            if key_form in key_forms:
                raise UnhashableConfigError(f"{path} has two keys equal to {key!r} once converted from numpy")
            key_forms.add(key_form)
            entries.append(key_form + "=" + canonical_form(item, f"{path}[{key!r}]"))
        return "{" + ",".join(sorted(entries)) + "}"
    raise UnhashableConfigError(
        f"{path} is a {type(value).__name__} ({value!r:.80}); configs may hold only None, bools, numbers, "
        "strings, lists/tuples and dicts (numpy scalars and arrays are converted)"
    )


def make_hash(config: Any) -> str:
    """MD5 hex digest of the canonical form of ``config`` (stable across processes, machines and versions)."""
    return hashlib.md5(canonical_form(config).encode("ascii")).hexdigest()
