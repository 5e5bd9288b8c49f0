"""Seeds: the one check of a seed argument, and the two seed-derivation formulas.

The two formulas differ and both stay: each one's outputs seed results already stored (which images are held
out, which batches an epoch sees), so changing either would change what a stored config means. Both hash with
SHA-256, never Python's ``hash`` (its string hash changes between processes).
"""

from __future__ import annotations

import hashlib
import json
import numbers
from typing import Any

__all__ = ["check_seed", "derive_data_seed", "derive_training_seed"]

_MASK_63_BITS = (1 << 63) - 1


def check_seed(seed: Any, where: str = "builder") -> int:
    """The seed as a plain ``int`` (DataJoint hands out numpy integers); bools, floats and the rest are refused."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{where}: seed must be an integer, got {seed!r} ({type(seed).__name__})")
    return int(seed)


def derive_data_seed(seed: int, *names: Any) -> int:
    """The dataset builders' formula: a 63-bit seed for one consumer (a loader, a split, a session) from ``seed``
    and names, SHA-256 of the JSON list ``[seed, str(name), ...]``.

    Independent streams per consumer keep, e.g., the order of one session's batches unchanged when another session
    is added.
    """
    text = json.dumps([int(seed), *[str(name) for name in names]])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & _MASK_63_BITS


def derive_training_seed(*parts: Any) -> int:
    """The trainer's formula: a 63-bit seed from any parts (ints, strings, None), SHA-256 of their ``repr`` joined
    by ``/`` (integers, numpy ones and bools too, as ``repr(int(part))``)."""
    text = "/".join(repr(int(p)) if isinstance(p, numbers.Integral) else repr(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little") & _MASK_63_BITS
