"""Reading pickles that may only hold numpy arrays and plain containers.

Session pickles are named by paths stored in a database row that every user of the database can write, and
``pickle.load`` runs whatever a crafted file asks for (an import with side effects, ``os.system``, ...) on every
worker that trains the job. :func:`load_plain_pickle` resolves only the handful of globals that numpy arrays,
numpy scalars and dtypes need; any other global is refused *before* its module is imported, with the file named.
Plain containers (dict, list, tuple, str, bytes, numbers, None) need no globals at all.

Allowed globals are not enough: numpy applies a pickled dtype's state (fields, offsets, flags) unchecked, so a file
made only of allowed globals can still turn raw bytes into object pointers. So the BUILD opcode never reaches
``dtype.__setstate__``: a dtype's state is a description, checked and made anew (:mod:`.safe_dtype`); ``numpy.dtype``
takes only plain type codes, and ``ndarray`` serves only as ``_reconstruct``'s class, never as a constructor fed raw
buffers. This needs the pure-Python unpickler (the C one cannot intercept BUILD); a session file holds a few large
arrays, whose bytes it reads in one go.
"""

from __future__ import annotations

import importlib
import pickle
import struct
from pathlib import Path

import numpy as np
from numpy._core import multiarray

from .safe_dtype import UnsafeDtypeError, dtype_from_reduce, dtype_from_state

__all__ = ["ALLOWED_GLOBALS", "UnsafePickleError", "load_plain_pickle"]


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for a global outside :data:`ALLOWED_GLOBALS`; nothing of it was run."""


# numpy 2 writes numpy._core.*, numpy 1 wrote numpy.core.*: both names resolve to numpy._core's objects.
_NUMPY_HELPERS = {
    ("multiarray", "_reconstruct"),
    ("multiarray", "scalar"),
    ("numeric", "_frombuffer"),
}
ALLOWED_GLOBALS = frozenset(
    {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}  # _codecs.encode: bytes in protocol 2
    | {(f"numpy.{core}.{module}", name) for core in ("core", "_core") for module, name in _NUMPY_HELPERS}
    | {(builtins, name) for builtins in ("builtins", "__builtin__") for name in ("set", "frozenset", "complex")}
)


class _NdarrayClass:
    """What ``numpy.ndarray`` resolves to: accepted as ``_reconstruct``'s first argument, not callable."""


def _reconstruct(subtype, shape, typecode):
    if subtype is not _NdarrayClass:
        raise UnsafePickleError(f"_reconstruct of {subtype!r} (only numpy.ndarray is allowed)")
    return multiarray._reconstruct(np.ndarray, shape, typecode)


def _scalar(dtype, data=None):
    # str: Python 2 wrote a scalar's bytes as str (read back as latin1)
    if not isinstance(dtype, np.dtype) or (dtype.kind != "O" and not isinstance(data, (bytes, str))):
        raise UnsafePickleError("a numpy scalar that is not (dtype, bytes)")
    return multiarray.scalar(dtype, data)


_CHECKED = {("numpy", "ndarray"): _NdarrayClass, ("numpy", "dtype"): dtype_from_reduce,
            ("multiarray", "_reconstruct"): _reconstruct, ("multiarray", "scalar"): _scalar}


def _resolve(module: str, name: str):
    if module.startswith("numpy.core."):
        module = "numpy._core." + module[len("numpy.core."):]  # avoid numpy.core's deprecation shim
    if module == "__builtin__":
        module = "builtins"
    checked = _CHECKED.get((module.rsplit(".", 1)[-1] if module.startswith("numpy.") else module, name))
    return checked or getattr(importlib.import_module(module), name)


class _PlainUnpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, handle, source: str):
        # latin1: numpy arrays pickled by Python 2 hold their bytes as str
        super().__init__(handle, encoding="latin1")
        self.source = source

    def load_build(self):
        made = self.stack[-2]
        if not isinstance(made, np.dtype):
            return super().load_build()
        state = self.stack.pop()
        try:
            rebuilt = dtype_from_state(made, state)
        except UnsafeDtypeError as error:
            raise UnsafePickleError(f"{self.source}: refused: {error}") from None
        self.stack[-1] = rebuilt
        for key, value in self.memo.items():  # later references to the dtype get the rebuilt one
            if value is made:
                self.memo[key] = rebuilt

    dispatch[pickle.BUILD[0]] = load_build

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"{self.source}: refused to load {module}.{name}; a session pickle may hold only numpy arrays and "
                "plain containers (dict, list, tuple, str, numbers)"
            )
        return _resolve(module, name)

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.source}: refused a persistent reference {pid!r} in the pickle")


def load_plain_pickle(path: str | Path):
    """The object in the pickle file ``path``, if it is made only of numpy arrays and plain containers.

    Raises :class:`UnsafePickleError` (naming the file and the refused global) for anything else, ``ValueError``
    for a file that is not a readable pickle, ``FileNotFoundError`` for a missing one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        with open(path, "rb") as handle:
            return _PlainUnpickler(handle, str(path)).load()
    except UnsafePickleError as error:
        if not str(error).startswith(f"{path}:"):
            raise UnsafePickleError(f"{path}: refused: {error}") from None
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            OverflowError, struct.error, RecursionError) as error:
        raise ValueError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from error
