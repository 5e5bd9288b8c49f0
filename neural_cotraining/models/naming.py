"""Map user-facing keys (task names, data_keys) to ``nn.ModuleDict`` names, which may not contain '.'."""

from __future__ import annotations

from collections.abc import Iterable


def module_names(keys: Iterable[str], what: str) -> dict[str, str]:
    """key -> module name with '.' replaced by '__'; raises if two keys collide (``what`` names them in the error)."""
    names = {str(key): str(key).replace(".", "__") for key in keys}
    if len(set(names.values())) != len(names):
        raise ValueError(f"{what} {sorted(names)} collide once '.' is replaced by '__'")
    if any(not key for key in names):
        raise ValueError(f"{what} must be non-empty strings, got {sorted(names)}")
    return names
