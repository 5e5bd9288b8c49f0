"""Registries of named parts that configs refer to by name (loss weightings, losses, cyclers, optimisers and LR
schedulers, graph layer types, neural data formats): each part registers itself with a decorator where it is defined
(torch's optimisers and schedulers by a call, ``register_optimizer("adam", torch.optim.Adam)``), and every lookup
goes through :meth:`Registry.lookup`, so a stored config's name always meets the same check and the same message.

The builders that go into DataJoint tables are registered elsewhere (``neural_cotraining.registry``): their names
are primary keys and come with an allow-list.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["Registry"]

logger = logging.getLogger(__name__)

Entry = TypeVar("Entry")


class Registry(Mapping[str, Entry], Generic[Entry]):
    """Names -> entries, read like a dict (``name in registry``, ``registry[name]``, ``sorted(registry)``).

    ``kind`` names the entries in messages (``"loss_weighting"``, ``"cycler"``). With ``stamp_name`` the entry's
    ``name`` attribute is set to the registered name, so a class states its name once, in its decorator.
    """

    def __init__(self, kind: str, stamp_name: bool = False):
        self.kind = kind
        self._stamp_name = stamp_name
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, entry: Entry | None = None, *, replace: bool = False) -> Any:
        """Add ``entry`` under ``name``; without ``entry``, a decorator: ``@registry.register("name")``.

        A taken name raises ValueError unless ``replace=True``, so a typo never shadows a shipped part.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} name must be a non-empty string, got {name!r}")

        def add(item: Entry) -> Entry:
            if not callable(item):
                raise TypeError(f"the {self.kind} {name!r} must be callable, got {item!r}")
            if name in self._entries and not replace:
                raise ValueError(f"{self.kind} {name!r} is already registered; pass replace=True to replace it")
            if self._stamp_name:
                item.name = name  # type: ignore[attr-defined]
            self._entries[name] = item
            logger.debug("registered %s %r", self.kind, name)
            return item

        return add if entry is None else add(entry)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (e.g. one a test registered)."""
        if name not in self._entries:
            raise KeyError(f"{self.kind} {name!r} is not registered; registered: {self.names()}")
        del self._entries[name]

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def lookup(self, name: Any) -> Entry:
        """The entry registered as ``name``; ValueError naming every registered one otherwise."""
        if not isinstance(name, str) or name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of {self.names()}")
        return self._entries[name]

    def __getitem__(self, name: str) -> Entry:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


