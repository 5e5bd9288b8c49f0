"""Writes the crafted session pickles next to this file (kept as test data; rerun only to remake them).

Each is made only of globals a numpy pickle needs (numpy.dtype, numpy's _reconstruct and scalar, ndarray), yet
numpy's own unpickling turns it into memory corruption: a BUILD calls ``dtype.__setstate__`` with a field layout
that numpy's dtype constructor would refuse (an object field with its flags cleared, a field far past the item),
and raw bytes are then read through that layout.
"""

import pickle
from pathlib import Path

import numpy as np
from numpy._core import multiarray


class _Reduce:
    """Pickles as the given ``__reduce__`` value: how the opcodes are written without hand-assembling them."""

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        return self.value


def _void_dtype(itemsize: int, fields: dict) -> _Reduce:
    flags = 0  # the object field's NPY_ITEM_HASOBJECT / NPY_LIST_PICKLE left out on purpose
    state = (3, "|", None, tuple(fields), fields, itemsize, 1, flags)
    return _Reduce((np.dtype, (f"V{itemsize}", False, True), state))


def crafted() -> dict[str, object]:
    object_field = _void_dtype(8, {"a": (np.dtype("O"), 0)})
    far_field = _void_dtype(8, {"a": (np.dtype("i8"), 2**30)})
    fake_pointer = b"\x41" * 8
    array = _Reduce((multiarray._reconstruct, (np.ndarray, (0,), b"b"), (1, (1,), object_field, False, fake_pointer)))
    return {
        "object_field_scalar.pickle": {"responses": _Reduce((multiarray.scalar, (object_field, fake_pointer)))},
        "object_field_array.pickle": {"responses": array},
        "field_outside_item.pickle": {"responses": _Reduce((multiarray.scalar, (far_field, b"\0" * 8)))},
    }


if __name__ == "__main__":
    for name, content in crafted().items():
        (Path(__file__).parent / name).write_bytes(pickle.dumps(content, protocol=2))
