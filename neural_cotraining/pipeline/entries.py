"""Entry tables: ``Fabrikant`` (who adds entries) and ``Dataset``, ``Model``, ``Trainer`` (builder name + config,
keyed by the config's hash), with nnfabrik's methods under nnfabrik's names.

``add_entry`` takes both our short argument names (``fn, config, comment, fabrikant``) and nnfabrik's
(``dataset_fn=, dataset_config=, dataset_comment=, dataset_fabrikant=``, likewise for model and trainer), in the same
positional order, plus nnfabrik's ``skip_duplicates`` and ``return_pk_only``. Two deliberate differences: a builder
that does not resolve or a config that does not fit raises (nnfabrik warns and returns None), and an entry that
exists already is returned quietly unless ``skip_duplicates=False`` is given explicitly (then it raises, as
nnfabrik's default does), so adding an experiment twice is harmless.
"""

from __future__ import annotations

import getpass
import logging
import warnings
from typing import Any, Callable

from ..nnfabrik_compat import get_data, get_model, get_trainer
from ..registry import builder_name, check_entry, resolve_builder, stored_names
from ..hashing import make_hash, plain_config
from .entry_limits import check_entry_fits

__all__ = ["ConfigEntries", "DatasetEntries", "ModelEntries", "TrainerEntries", "FabrikantEntries"]

logger = logging.getLogger(__name__)


def _existing(table, key: dict, skip_duplicates: bool | None, return_pk_only: bool) -> dict:
    """The existing entry ``key`` names, as nnfabrik hands it back (see the module docstring for the default)."""
    row = (table & key).to_dicts()[0]
    if skip_duplicates is False:
        raise ValueError(f"Corresponding entry already exists: {key}")
    if skip_duplicates:
        warnings.warn("Corresponding entry found. Skipping...", stacklevel=3)
    else:
        logger.info("%s entry %s exists already", table.table_name, key)
    return key if return_pk_only else row


class FabrikantEntries:
    """Methods of the ``Fabrikant`` table (who adds entries)."""

    @classmethod
    def default_name(cls) -> str:
        try:
            return getpass.getuser()[:32]
        except (KeyError, OSError):
            return "unknown"

    @classmethod
    def get_current_user(cls) -> str | None:
        """nnfabrik's lookup: the ``fabrikant_name`` whose ``dj_username`` is the database user, else None."""
        username = cls.connection.get_user().split("@")[0]
        rows = (cls() & {"dj_username": username}).to_dicts(limit=1)
        return rows[0]["fabrikant_name"] if rows else None

    def ensure(self, fabrikant_name: str | None = None, **details: str) -> str:
        """The fabrikant's name, inserting the row if missing: the one given, else the one registered for the
        database user (``get_current_user``), else the OS user."""
        name = fabrikant_name or self.get_current_user() or self.default_name()
        if not (self & {"fabrikant_name": name}):
            self.insert1({"fabrikant_name": name, **details}, skip_duplicates=True)
        return name

    def add_entry(
        self,
        name: str,
        email: str,
        affiliation: str,
        full_name: str = "",
        dj_username: str | None = None,
        skip_duplicates: bool = False,
        return_pk_only: bool = True,
    ) -> dict:
        """nnfabrik's ``Fabrikant.add_entry``: a person, keyed by ``name``; ``dj_username`` defaults to the
        database user. An existing entry with the same name or database user raises unless ``skip_duplicates``."""
        if dj_username is None:
            dj_username = self.connection.get_user().split("@")[0]
        row = {"fabrikant_name": name, "full_name": full_name, "email": email, "affiliation": affiliation,
               "dj_username": dj_username}
        existing = (self & {"fabrikant_name": name}).to_dicts() or (self & {"dj_username": dj_username}).to_dicts()
        if existing:
            row = existing[0]
            if not skip_duplicates:
                raise ValueError(f"Corresponding entry already exists: {row}")
            warnings.warn("Corresponding entry found. Skipping...", stacklevel=2)
        else:
            self.insert1(row)
        return {"fabrikant_name": row["fabrikant_name"]} if return_pk_only else row


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

    def _arguments(self, given: dict, named: dict) -> dict:
        """Merge our short argument names with nnfabrik's ``{kind}_...`` ones; refuses a name given twice."""
        for name, value in named.items():
            short = name[len(self.kind) + 1:] if name.startswith(self.kind + "_") else None
            if short not in given:
                raise TypeError(f"add_entry() got an unexpected keyword argument {name!r}")
            if given[short] is not None:
                raise TypeError(f"add_entry() got {short!r} twice (as {short} and as {name})")
            given[short] = value
        return given

    def add_entry(
        self,
        fn: str | Callable | None = None,
        config: dict | None = None,
        comment: str | None = None,
        fabrikant: str | None = None,
        skip_duplicates: bool | None = None,
        return_pk_only: bool = True,
        **nnfabrik_names: Any,
    ) -> dict:
        """Insert (builder, config) unless the same builder and config hash are there; returns the primary key
        (the whole row with ``return_pk_only=False``).

        ``fn`` is a builder function or its dotted name; either way it must resolve through the allow-list, and
        the config must fit its signature. Nothing is inserted when either check fails.
        """
        given = self._arguments({"fn": fn, "config": config, "comment": comment, "fabrikant": fabrikant},
                                nnfabrik_names)
        fn, config = given["fn"], {} if given["config"] is None else given["config"]
        if fn is None:
            raise TypeError(f"add_entry() needs the builder: fn (or {self.kind}_fn)")
        name = fn if isinstance(fn, str) else builder_name(fn)
        if not isinstance(fn, str) and resolve_builder(name) is not fn:
            raise ValueError(f"{name} does not resolve to the function given (is it defined at module level?)")
        check_entry_fits(name, given["comment"] or "", f"{self.kind} entry")
        check_entry(name, config, self.kind)
        config_hash = make_hash(config)
        names = stored_names(name)  # a shipped builder: its canonical name first, then the names it had before
        for stored in names:
            if self & {self._fn: stored, self._hash: config_hash}:
                return _existing(self, {self._fn: stored, self._hash: config_hash}, skip_duplicates, return_pk_only)
        key = {self._fn: names[0], self._hash: config_hash}
        row = {
            **key,
            f"{self.kind}_config": plain_config(config),
            f"{self.kind}_comment": given["comment"] or "",
            f"{self.kind}_fabrikant": self.fabrikant_table().ensure(given["fabrikant"]),
        }
        self.insert1(row, skip_duplicates=True)  # another worker may have added the same entry meanwhile
        return key if return_pk_only else (self & key).to_dicts()[0]

    @property
    def fn_config(self) -> tuple[str, dict]:
        """nnfabrik's ``(fn, config)`` of the one entry this table is restricted to."""
        rows = self.to_dicts()
        if len(rows) != 1:
            raise KeyError(f"{self.kind} entries restricted to {len(rows)} rows, not one")
        return rows[0][self._fn], plain_config(rows[0][f"{self.kind}_config"])

    @staticmethod
    def resolve_fn(fn_name: str) -> Callable:
        """The builder named ``fn_name``, resolved through the allow-list (nnfabrik: ``eval``/import)."""
        return resolve_builder(fn_name)


class DatasetEntries(ConfigEntries):
    def get_dataloader(self, seed: int | None = None, key: dict | None = None) -> Any:
        """nnfabrik's: the dataloaders of the one entry ``key`` (or the restriction) names, built with ``seed``."""
        fn, config = (self & (key or {})).fn_config
        if seed is not None:
            config["seed"] = int(seed)
        return get_data(fn, config)


class ModelEntries(ConfigEntries):
    def build_model(self, dataloaders: Any = None, seed: int | None = None, key: dict | None = None,
                    data_info: Any = None) -> Any:
        """nnfabrik's: the untrained model of the one entry ``key`` names, built from ``dataloaders`` (or
        ``data_info`` for builders that take it)."""
        if dataloaders is None and data_info is None:
            raise ValueError("dataloaders and data_info can not both be None: the model's shape comes from one of them")
        fn, config = (self & (key or {})).fn_config
        return get_model(fn, config, dataloaders=dataloaders, seed=seed, data_info=data_info)


class TrainerEntries(ConfigEntries):
    def get_trainer(self, key: dict | None = None, build_partial: bool = True) -> Any:
        """nnfabrik's: the trainer with its config bound (``build_partial``), else ``(trainer, config)``."""
        fn, config = (self & (key or {})).fn_config
        return get_trainer(fn, config) if build_partial else (get_trainer(fn), config)
