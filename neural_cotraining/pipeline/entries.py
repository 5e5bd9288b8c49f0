"""Config tables (``Dataset``, ``Model``, ``Trainer``): builder name + config, keyed by the config's hash."""

from __future__ import annotations

import getpass
import logging
from typing import Any, Callable

from ..builders import builder_name, check_entry, resolve_builder
from ..hashing import make_hash, plain_config

__all__ = ["ConfigEntries", "FabrikantEntries"]

logger = logging.getLogger(__name__)


class FabrikantEntries:
    """Methods of the ``Fabrikant`` table (who adds entries)."""

    @classmethod
    def default_name(cls) -> str:
        try:
            return getpass.getuser()[:32]
        except (KeyError, OSError):
            return "unknown"

    def ensure(self, fabrikant_name: str | None = None, **details: str) -> str:
        """Insert the fabrikant if missing; returns its name (the OS user by default)."""
        name = fabrikant_name or self.default_name()
        if not (self & {"fabrikant_name": name}):
            row = {"fabrikant_name": name, "email": "", "affiliation": "", **details}
            self.insert1(row, skip_duplicates=True)
        return name


class ConfigEntries:
    """Methods shared by ``Dataset``, ``Model`` and ``Trainer``; ``kind`` names the attribute prefix."""

    kind = ""  # "dataset", "model" or "trainer"; set by each table
    fabrikant_table: type  # the Fabrikant table of the same schema; set by each table

    @property
    def _fn(self) -> str:
        return f"{self.kind}_fn"

    @property
    def _hash(self) -> str:
        return f"{self.kind}_hash"

    def add_entry(
        self,
        fn: str | Callable,
        config: dict | None = None,
        comment: str = "",
        fabrikant: str | None = None,
    ) -> dict:
        """Insert (builder, config) unless the same builder and config hash are there; returns the primary key.

        ``fn`` is a builder function or its dotted name; either way it must resolve through the allow-list, and
        the config must fit its signature. Nothing is inserted when either check fails.
        """
        name = fn if isinstance(fn, str) else builder_name(fn)
        if not isinstance(fn, str) and resolve_builder(name) is not fn:
            raise ValueError(f"{name} does not resolve to the function given (is it defined at module level?)")
        config = {} if config is None else config
        check_entry(name, config, self.kind)
        key = {self._fn: name, self._hash: make_hash(config)}
        if self & key:
            logger.info("%s entry %s exists already", self.kind, key)
            return key
        fabrikant_name = self.fabrikant_table().ensure(fabrikant)
        row = {
            **key,
            f"{self.kind}_config": plain_config(config),
            f"{self.kind}_comment": comment,
            f"{self.kind}_fabrikant": fabrikant_name,
        }
        self.insert1(row, skip_duplicates=True)  # another worker may have added the same entry meanwhile
        return key

    def builder_and_config(self, key: dict) -> tuple[Callable, dict]:
        """The builder function (resolved through the allow-list) and config of the entry ``key`` names."""
        rows = (self & key).to_dicts()
        if len(rows) != 1:
            raise KeyError(f"{self.kind} entry {key} matches {len(rows)} rows, not one")
        row = rows[0]
        return resolve_builder(row[self._fn]), row[f"{self.kind}_config"]
