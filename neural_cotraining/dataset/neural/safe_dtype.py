"""numpy dtypes from a pickle, rebuilt through numpy's checked constructor instead of ``dtype.__setstate__``.

A pickled dtype is ``numpy.dtype("V16")`` followed by a BUILD whose state describes byte order, fields, offsets,
item size and flags. numpy applies that state without checking it: an object field whose flags say "no objects",
or a field that lies past the item, is taken as given, and raw bytes read through such a dtype become ``PyObject*``
pointers or reads outside the buffer (memory corruption from a file made only of allowed globals). Here the state
is read as a *description*: every part is checked, the dtype is made anew by ``numpy.dtype(...)`` (which recomputes
the flags and refuses overlapping or out-of-item fields itself), and fields holding Python objects are refused.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["UnsafeDtypeError", "dtype_from_reduce", "dtype_from_state"]

_TYPE_CODE = re.compile(r"[a-zA-Z?][0-9]{0,9}")
_DATETIME_UNIT = re.compile(r"[a-zA-Z]{1,7}")
_ALIGNED_STRUCT = 0x80  # NPY_ALIGNED_STRUCT in the state's flags: the only flag taken from the file


class UnsafeDtypeError(ValueError):
    """A pickled dtype description that numpy's constructor would not make, or one with object fields."""


def dtype_from_reduce(code, align=False, copy=True) -> np.dtype:
    """``numpy.dtype(code)`` for the plain type codes numpy's pickles write ("f8", "V16", "U3", "O8", ...)."""
    if not isinstance(code, str) or not _TYPE_CODE.fullmatch(code):
        raise UnsafeDtypeError(f"a dtype is made from {code!r}, not a plain type code")
    try:
        # a fresh object each time (numpy caches the builtin ones): the BUILD that follows replaces exactly this one
        return np.dtype(code, copy=True)
    except TypeError as error:
        raise UnsafeDtypeError(f"a dtype is made from the unknown type code {code!r}") from error


def dtype_from_state(made: np.dtype, state) -> np.dtype:
    """The dtype that ``made.__setstate__(state)`` would describe, made anew and checked; ``made`` is untouched."""
    if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
        raise UnsafeDtypeError("a dtype's pickled state is not numpy's (version 3 or 4, 8 or 9 parts)")
    _, endian, subarray, names, fields, item_size, _, flags = state[:8]
    if endian not in ("<", ">", "|", "=") or not isinstance(item_size, int) or not isinstance(flags, int):
        raise UnsafeDtypeError("a dtype's pickled byte order, item size or flags are not numpy's")
    if (subarray is not None or names is not None) and made.kind != "V":
        raise UnsafeDtypeError(f"a {made} dtype is given fields or a sub-array")
    if subarray is not None:
        rebuilt = _subarray(subarray)
    elif names is not None:
        rebuilt = _structure(names, fields, item_size, bool(flags & _ALIGNED_STRUCT))
    elif made.kind in "mM":
        rebuilt = _datetime(made, endian, state[8] if len(state) == 9 else None)
    else:
        rebuilt = made.newbyteorder(endian) if endian in "<>" and made.byteorder != "|" else made
    if (made.kind == "V" and rebuilt.itemsize != made.itemsize) or item_size not in (-1, rebuilt.itemsize):
        raise UnsafeDtypeError(f"a dtype's pickled item size {item_size} does not match its fields ({rebuilt.itemsize})")
    if rebuilt.hasobject and made.kind != "O":
        raise UnsafeDtypeError("a structured or sub-array dtype holds Python objects (raw bytes would be "
                               "read as object pointers)")
    return rebuilt


def _subarray(subarray) -> np.dtype:
    if not (isinstance(subarray, tuple) and len(subarray) == 2 and isinstance(subarray[0], np.dtype)
            and isinstance(subarray[1], tuple) and all(type(n) is int and n >= 0 for n in subarray[1])):
        raise UnsafeDtypeError("a dtype's pickled sub-array is not (dtype, shape)")
    return _checked(lambda: np.dtype(subarray))


def _structure(names, fields, item_size: int, aligned: bool) -> np.dtype:
    if not (isinstance(names, tuple) and names and all(isinstance(name, str) for name in names)
            and isinstance(fields, dict) and all(name in fields for name in names)):
        raise UnsafeDtypeError("a dtype's pickled field names and fields do not match")
    formats, offsets, titles = [], [], []
    for name in names:
        field = fields[name]
        if not (isinstance(field, tuple) and len(field) in (2, 3) and isinstance(field[0], np.dtype)
                and type(field[1]) is int):
            raise UnsafeDtypeError(f"a dtype's pickled field {name!r} is not (dtype, offset[, title])")
        dtype, offset = field[:2]
        if offset < 0 or offset + dtype.itemsize > item_size:
            raise UnsafeDtypeError(f"a dtype's field {name!r} at offset {offset} lies outside its {item_size}-byte item")
        formats.append(dtype)
        offsets.append(offset)
        titles.append(field[2] if len(field) == 3 else None)
    description = {"names": list(names), "formats": formats, "offsets": offsets, "itemsize": item_size}
    if any(title is not None for title in titles):
        description["titles"] = titles
    return _checked(lambda: np.dtype(description, align=aligned))


def _datetime(made: np.dtype, endian: str, metadata) -> np.dtype:
    unit = metadata[1] if isinstance(metadata, tuple) and len(metadata) == 2 else None
    if not (isinstance(unit, tuple) and len(unit) == 4):
        raise UnsafeDtypeError("a datetime dtype's pickled unit is not numpy's")
    # bytes, or str in a pickle Python 2 wrote (read back as latin1)
    name = unit[0].decode("latin1") if isinstance(unit[0], bytes) else unit[0]
    if not (isinstance(name, str) and _DATETIME_UNIT.fullmatch(name) and type(unit[1]) is int and 0 < unit[1] < 2**31):
        raise UnsafeDtypeError("a datetime dtype's pickled unit is not numpy's")
    byte_order = endian if endian in "<>" else "="
    return _checked(lambda: np.dtype(f"{byte_order}{made.char}8[{unit[1]}{name}]"))


def _checked(make) -> np.dtype:
    try:
        return make()
    except (TypeError, ValueError) as error:
        raise UnsafeDtypeError(f"numpy refuses the pickled dtype description: {error}") from error
