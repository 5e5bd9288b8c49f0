"""Experiments as ``add`` recorded them: the jobs someone asked for and the builder modules those jobs may use.

``AddedExperiment`` holds one row per experiment (its name: the file's ``name:``, default the file's stem; its
builder modules; the file it came from; who added it and when), ``AddedJob`` one row per job it asks for, labelled
as the file labels its entries. ``add`` writes both in the transaction that inserts the entries. A worker without
the file (``neural-cotraining worker --schema S``) trains only these jobs, and ``TrainedModel.load_model`` in a
fresh process allows the builder modules recorded with the experiments that hold its job.

Recording an experiment again records what its file asks for now: new jobs are added, the jobs its file no longer
asks for leave the record (their trained models, queue rows and entries stay where they are), and its builder
modules are replaced. ``AddedJob`` is a table of its own, not a part: deleting an entry or a seed deletes its rows
there without touching the experiment.

nnfabrik's ``Experiments`` template (``templates.experiments``, the table ``experiments``) is another thing: a
named list of dataset/model/trainer restrictions (no seeds, no builder modules) that a lab declares itself and
restricts ``populate`` with. The pipeline neither writes nor reads it.

Builder modules read back from here are untrusted input: each is checked (``registry.check_recorded_module``) before
it is allowed.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from ..common.plain import from_numpy
from ..registry import allow_builder_modules, allowed_module_prefixes, check_recorded_module
from .entry_limits import COMMENT_LENGTH, check_experiment_record_fits

__all__ = ["AddedExperimentMethods", "JOB_KEY", "LABELLED_KINDS"]

logger = logging.getLogger(__name__)

JOB_KEY = ("dataset_fn", "dataset_hash", "model_fn", "model_hash", "trainer_fn", "trainer_hash", "seed")
LABELLED_KINDS = ("dataset", "model", "trainer")


@contextmanager
def _transaction(connection):
    """The connection's transaction, or the one it is in already (``add`` records inside its own)."""
    if connection.in_transaction:
        yield
    else:
        with connection.transaction:
            yield


def _job_row(name: str, job: dict, index: int) -> dict:
    missing = [attribute for attribute in JOB_KEY if attribute not in job]
    if missing:
        raise ValueError(f"jobs[{index}] lacks {', '.join(missing)}")
    row = {"experiment_name": name, **{attribute: from_numpy(job[attribute]) for attribute in JOB_KEY}}
    row["seed"] = int(row["seed"])
    row.update({f"{kind}_label": str(job.get(kind) or "") for kind in LABELLED_KINDS})
    return row


def _identity(row: dict) -> tuple:
    return tuple(int(row[a]) if a == "seed" else str(row[a]) for a in JOB_KEY)


class AddedExperimentMethods:
    """Methods of ``AddedExperiment``; ``job_table`` (``AddedJob``) and ``fabrikant_table`` are set by tables.py."""

    job_table: type
    fabrikant_table: type

    def record(self, name: str, jobs: list[dict], builder_modules=(), comment: str = "",
               fabrikant: str | None = None, keep_others: bool = False) -> tuple[int, int]:
        """Record experiment ``name`` as asking for exactly ``jobs`` (job keys, optionally with ``dataset``,
        ``model`` and ``trainer`` labels: what ``add`` prints) and allowing ``builder_modules``; the entries and
        seeds must exist. ``keep_others``: the jobs recorded before stay (a search adds its trials one by one).
        All or nothing, in the transaction the connection is in (else one of its own); the same record twice
        writes nothing. Returns (jobs added, jobs dropped from the record)."""
        builder_modules = list(builder_modules)
        rows = {}
        for index, job in enumerate(jobs):
            row = _job_row(name, job, index)
            rows.setdefault(_identity(row), row)  # one job under two labels: the first labels it
        labels = [(f"jobs[{index}].{kind}", row[f"{kind}_label"]) for index, row in enumerate(rows.values())
                  for kind in LABELLED_KINDS]
        check_experiment_record_fits(name, builder_modules, labels)
        for index, module in enumerate(builder_modules):
            check_recorded_module(module, f"builder_modules[{index}]")
        if len(comment) > COMMENT_LENGTH:
            raise ValueError(f"the comment is {len(comment)} characters long; the database column holds at most "
                             f"{COMMENT_LENGTH}")
        with _transaction(self.connection):
            self._record_experiment(name, ",".join(builder_modules), comment, fabrikant)
            return self._record_jobs(name, rows, keep_others)

    def _record_experiment(self, name: str, modules: str, comment: str, fabrikant: str | None) -> None:
        key = {"experiment_name": name}
        wanted = {"builder_modules": modules, "experiment_comment": comment}
        found = (self & key).to_dicts()
        if not found:  # another process adding the same file at the same time may insert it first: the same row
            self.insert1({**key, **wanted, "experiment_fabrikant": self.fabrikant_table().ensure(fabrikant)},
                         skip_duplicates=True)
        elif any(found[0][attribute] != value for attribute, value in wanted.items()):
            self.update1({**key, **wanted})

    def _record_jobs(self, name: str, wanted: dict, keep_others: bool) -> tuple[int, int]:
        table = self.job_table()
        present = {}
        recorded = table & {"experiment_name": name}
        if keep_others:  # only the jobs given are compared (and relabelled); the others stay as they are
            recorded &= [{attribute: row[attribute] for attribute in JOB_KEY} for row in wanted.values()]
        for row in recorded.to_dicts():
            row = {attribute: from_numpy(value) for attribute, value in row.items()}
            present[_identity(row)] = row
        # a job whose labels changed is written again; one the file no longer asks for leaves the record
        stale = [row for identity, row in present.items() if wanted.get(identity) != row]
        if stale:
            (table & [{a: row[a] for a in ("experiment_name", *JOB_KEY)} for row in stale]).delete_quick()
        table.insert([row for identity, row in wanted.items() if present.get(identity) != row], skip_duplicates=True)
        return len(wanted.keys() - present.keys()), len(present.keys() - wanted.keys())

    # ---- reading back ----
    def has_records(self) -> bool:
        """Whether any experiment was added (False too where the table is missing: a schema read, never written,
        since this version)."""
        return self.is_declared and len(self) > 0

    def recorded_jobs(self) -> list[dict] | None:
        """Every job the added experiments ask for, once (labelled by the first experiment, by name, that holds
        it: ``{"labels": {kind: label or ""}, "key": job key}``); None where no experiment was added."""
        if not self.has_records():
            return None
        jobs = {}
        for row in self.job_table().to_dicts(order_by=["experiment_name", *JOB_KEY]):
            row = {attribute: from_numpy(value) for attribute, value in row.items()}
            jobs.setdefault(_identity(row), {
                "labels": {kind: row[f"{kind}_label"] for kind in LABELLED_KINDS},
                "key": {attribute: row[attribute] for attribute in JOB_KEY},
            })
        return list(jobs.values())

    def recorded_modules(self, key: dict | None = None) -> dict[str, list[str]]:
        """``{experiment: its builder modules}`` of every added experiment, or of those that hold the job ``key``;
        each module checked as untrusted input (one line naming schema, experiment and module otherwise)."""
        if not self.is_declared:
            return {}
        experiments = self if key is None else self & (self.job_table() & {a: key[a] for a in JOB_KEY})
        recorded = {}
        for row in experiments.to_dicts(order_by="experiment_name"):
            where = f"schema {self.database}, experiment {row['experiment_name']!r}, builder_modules"
            recorded[row["experiment_name"]] = [check_recorded_module(module.strip(), where)
                                                for module in row["builder_modules"].split(",") if module.strip()]
        return recorded

    def allow_recorded_modules(self, key: dict | None = None) -> list[str]:
        """Allow the builder modules :meth:`recorded_modules` returns (all checked before any is allowed) for the
        rest of this process; logs those not allowed before, and returns them all."""
        recorded = self.recorded_modules(key)
        modules = list(dict.fromkeys(module for found in recorded.values() for module in found))
        new = [module for module in modules if module not in allowed_module_prefixes()]
        if new:
            allow_builder_modules(*new)
            logger.info("allowing builder modules %s, recorded with experiment(s) %s of schema %s", ", ".join(new),
                        ", ".join(name for name, found in recorded.items() if set(found) & set(new)), self.database)
        return modules
