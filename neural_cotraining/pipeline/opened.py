"""One experiment, opened once for a command: its file, schema, tables and allowed builder modules.

A command that takes an experiment file opens it here once and passes the object down; its job keys are computed
once and the file's builder modules registered once, instead of every step (status, keys, results) reloading the
file, reconnecting and registering again. A command given a schema without a file opens the schema alone
(:func:`open_schema`): its jobs are those read from the schema (``experiments.schema_jobs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from ..configs.experiment import Experiment
from ..registry import allow_builder_modules
from .experiments import add_experiment, experiment_keys, schema_jobs
from .reports.results import results_table
from .reports.status import job_status

__all__ = ["OpenedExperiment", "open_experiment", "open_schema"]


@dataclass
class OpenedExperiment:
    experiment: Experiment | None  # None: a schema opened without its file
    schema: str
    tables: SimpleNamespace
    path: str | None = None
    _keys: list[dict] | None = field(default=None, repr=False)

    def keys(self) -> list[dict]:
        """The labelled job keys (``experiments.experiment_keys``; without a file ``experiments.schema_jobs``),
        computed once."""
        if self._keys is None:
            self._keys = (schema_jobs(self.tables) if self.experiment is None
                          else experiment_keys(self.tables, self.experiment))
        return self._keys

    def status(self) -> dict:
        return job_status(self.tables, self.keys())

    def results(self) -> list[dict]:
        return results_table(self.tables, self.keys())


def open_experiment(experiment: Experiment | str | Path, schema: str | None = None, *, create: bool = True,
                    adding: bool = False) -> OpenedExperiment:
    """Open ``experiment`` (a loaded ``Experiment`` or its file) on ``schema`` (default: the file's): its builder
    modules allowed, its schema's tables (``create=False``: nothing created, a missing schema refused); ``adding``
    inserts its entries and seeds first (checked before anything is written)."""
    from ..configs import load_experiment
    from .schema import activate

    path = None
    if isinstance(experiment, (str, Path)):
        path, experiment = str(experiment), load_experiment(experiment)
    name = schema or experiment.schema
    if not name:
        raise ValueError(f"{path or 'the experiment'} names no schema; give one")
    allow_builder_modules(*experiment.builder_modules)
    tables = activate(name, create=create, hash=experiment.hash)
    opened = OpenedExperiment(experiment, name, tables, path)
    if adding:
        opened._keys = add_experiment(tables, experiment)
    return opened


def open_schema(schema: str, *, create: bool = False) -> OpenedExperiment:
    """Open ``schema`` without an experiment file (``create=False``: nothing created, a missing schema refused)."""
    from .schema import activate

    return OpenedExperiment(None, schema, activate(schema, create=create))
