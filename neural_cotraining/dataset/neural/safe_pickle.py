"""Reading pickles that may only hold numpy arrays and plain containers.

Session pickles are named by paths stored in a database row that every user of the database can write, and
``pickle.load`` runs whatever a crafted file asks for (an import with side effects, ``os.system``, ...) on every
worker that trains the job. :func:`load_plain_pickle` resolves only the handful of globals that numpy arrays,
numpy scalars and dtypes need; any other global is refused *before* its module is imported, with the file named.
Plain containers (dict, list, tuple, str, bytes, numbers, None) need no globals at all.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path

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


def _resolve(module: str, name: str):
    if module.startswith("numpy.core."):
        module = "numpy._core." + module[len("numpy.core."):]  # avoid numpy.core's deprecation shim
    if module == "__builtin__":
        module = "builtins"
    return getattr(importlib.import_module(module), name)


class _PlainUnpickler(pickle.Unpickler):
    def __init__(self, handle, source: str):
        # latin1: numpy arrays pickled by Python 2 hold their bytes as str
        super().__init__(handle, encoding="latin1")
        self.source = source

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
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError) as error:
        raise ValueError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from error
