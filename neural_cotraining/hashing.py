"""Canonical, process-independent hashes of builder configs.

A config is hashed by first writing it as a canonical string, then taking its MD5 (32 hex digits, as nnfabrik's
``*_hash`` attributes). The canonical form makes the hash independent of things that do not change a config's
meaning and sensitive to everything that does:

- dict key order, list vs. tuple, numpy scalars and arrays vs. the same Python values: the same hash;
- ``1`` vs. ``1.0`` vs. ``"1"`` vs. ``True`` vs. ``None``: different hashes (each value carries its type);
- anything that has no canonical form (objects, functions, sets, bytes, NaN/inf) raises :class:`UnhashableConfigError`
  naming where in the config it sits.

Python's ``hash()`` is never used, so ``PYTHONHASHSEED`` has no effect.

:func:`nnfabrik_make_hash` is nnfabrik's own scheme, for schemas that must agree with an nnfabrik database
(``activate(..., hash="nnfabrik")``): the same hex digits as nnfabrik's ``make_hash``, its collisions included.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

from .common.plain import from_numpy, plain_values

__all__ = ["make_hash", "nnfabrik_make_hash", "HASH_SCHEMES", "canonical_form", "plain_config",
           "UnhashableConfigError"]


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


def nnfabrik_make_hash(config: Any) -> str:
    """nnfabrik's ``make_hash`` (``nnfabrik.utility.dj_helpers``), bit for bit: an MD5 fed, for a mapping, each
    key's ``str`` followed by its value's hash (keys sorted by their ``str``; an ``OrderedDict`` in its own order),
    for any other iterable each item's hash in order, and ``str(value)`` for everything else (a string as itself).

    Types are lost on the way: ``1`` and ``"1"``, ``1.0`` and ``"1.0"``, ``True`` and ``"True"``, a list and a
    tuple hash the same. Use it only to agree with tables that nnfabrik filled; :func:`make_hash` is the default.
    """
    digest = hashlib.md5()
    if isinstance(config, str):
        digest.update(config.encode())
    elif isinstance(config, Mapping):
        keys = list(config) if isinstance(config, OrderedDict) else sorted(config, key=str)
        for key in keys:
            digest.update(str(key).encode())
            digest.update(nnfabrik_make_hash(config[key]).encode())
    elif isinstance(config, Iterable):
        for item in config:
            digest.update(nnfabrik_make_hash(item).encode())
    else:
        digest.update(str(config).encode())
    return digest.hexdigest()


# a schema's config hash, by the name recorded in it ("typed" for schemas made before the choice existed)
HASH_SCHEMES = {"typed": make_hash, "nnfabrik": nnfabrik_make_hash}
