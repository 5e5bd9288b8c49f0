"""An experiment file's entries in the database and its jobs (their keys, labelled as the file labels them); a
schema's jobs read without a file (those its added experiments recorded, see :mod:`.added_experiments`)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from ..common.plain import from_numpy
from ..hashing import HASH_SCHEMES
from ..registry import allow_builder_modules, check_entry, check_recorded_module, stored_names
from ..configs.experiment import Experiment
from .added_experiments import JOB_KEY
from .entry_limits import COMMENT_LENGTH, check_entry_fits, check_experiment_record_fits, check_seeds_fit

__all__ = ["add_experiment", "check_experiment", "experiment_keys", "recorded_jobs", "schema_jobs", "schema_keys"]

logger = logging.getLogger(__name__)

_KIND_TABLES = {"dataset": "Dataset", "model": "Model", "trainer": "Trainer"}


def _add_entries(tables: SimpleNamespace, experiment: Experiment) -> dict:
    """{kind: {label: primary key}} after inserting every entry (existing ones are found by hash)."""
    keys = {}
    for kind, table_name in _KIND_TABLES.items():
        table = getattr(tables, table_name)()
        keys[kind] = {
            label: table.add_entry(entry.fn, entry.config, comment=entry.comment or label)
            for label, entry in getattr(experiment, kind + "s").items()
        }
    return keys


def add_experiment(tables: SimpleNamespace, experiment: Experiment) -> list[dict]:
    """Insert the experiment's entries and seeds and record it (``AddedExperiment``: its name, builder modules and
    jobs); returns one labelled key per job to train.

    Every entry is checked (allow-list, config keys, hashability, what fits the columns; trained models that configs
    name exist and fit) before anything is inserted, and everything is inserted in one transaction: all of it or
    nothing. Adding the same file again writes nothing new; an edited file's record follows the file (new jobs
    added, jobs it no longer asks for dropped from the record, builder modules replaced).
    """
    with tables.TrainedModel().trained_networks():
        check_experiment(experiment)
        with tables.schema.connection.transaction:
            keys = _add_entries(tables, experiment)
            tables.Seed().insert([{"seed": int(seed)} for seed in experiment.seeds], skip_duplicates=True)
            jobs = _labelled_keys(experiment, keys)
            added, dropped = tables.AddedExperiment().record(
                experiment.name, [{**job["labels"], **job["key"]} for job in jobs], experiment.builder_modules,
                comment=experiment.source[-COMMENT_LENGTH:])  # the end of a long path names the file
    logger.info("experiment %r recorded in schema %s: %d jobs, %d new", experiment.name, tables.schema.database,
                len(jobs), added)
    if dropped:
        logger.warning("experiment %r: %d job(s) recorded before are not in %s any more and left its record (their "
                       "trained models stay); two files of that name? give each its own `name:`", experiment.name,
                       dropped, experiment.source or "it")
    return jobs


def check_experiment(experiment: Experiment) -> None:
    """Refuse an experiment with a disallowed builder, a config key the builder does not take, an unhashable
    config, a builder module a worker would refuse to read back, or a value that does not fit its column; names
    the entry and key. Touches no database."""
    for index, module in enumerate(experiment.builder_modules):
        check_recorded_module(module, f"builder_modules[{index}]")
    allow_builder_modules(*experiment.builder_modules)
    check_seeds_fit(experiment.seeds)
    for kind in _KIND_TABLES:
        for label, entry in getattr(experiment, kind + "s").items():
            where = f"{kind}s.{label}"
            # the label is the comment when there is none
            check_entry_fits(entry.fn, entry.comment or label, where, "comment" if entry.comment else "label")
            try:
                check_entry(entry.fn, entry.config, kind, f"{where}.config")
            except (ValueError, TypeError) as error:
                if str(error).startswith(where):  # a hash error names the place itself
                    raise
                raise type(error)(f"{where}: {error}") from error
    labels = [(f"{kind}s.{label}", label) for kind in _KIND_TABLES for label in getattr(experiment, kind + "s")]
    check_experiment_record_fits(experiment.name, experiment.builder_modules, labels,
                                 "name" if experiment.name_given else "name (the file's stem; `name:` sets another)")


def _labelled_keys(experiment: Experiment, keys: dict) -> list[dict]:
    jobs = []
    for combination in experiment.label_combinations():
        for seed in experiment.seeds:
            key = {"seed": int(seed)}
            for kind, label in combination.items():
                key.update(keys[kind][label])
            jobs.append({"labels": dict(combination), "key": key})
    return jobs


def experiment_keys(tables: SimpleNamespace | None, experiment: Experiment) -> list[dict]:
    """The labelled job keys of an experiment whose entries are in the database (nothing is inserted). Without
    ``tables`` (a dry run) the keys its entries would get in a new schema of the file's hash scheme."""
    allow_builder_modules(*experiment.builder_modules)
    keys = {
        kind: {label: _entry_key(tables, kind, table_name, entry, experiment.hash)
               for label, entry in getattr(experiment, kind + "s").items()}
        for kind, table_name in _KIND_TABLES.items()
    }
    return _labelled_keys(experiment, keys)


def _entry_key(tables: SimpleNamespace | None, kind: str, table_name: str, entry, hash_scheme: str | None) -> dict:
    """An entry's key as ``add_entry`` stores it: a shipped builder under its canonical name, or under an older
    name where the entry was stored before that name changed."""
    names = stored_names(entry.fn)
    if tables is None:
        return {f"{kind}_fn": names[0], f"{kind}_hash": HASH_SCHEMES[hash_scheme or "typed"](entry.config)}
    table = getattr(tables, table_name)
    config_hash = table.config_hash(entry.config)
    for name in names[1:]:
        if table() & {f"{kind}_fn": name, f"{kind}_hash": config_hash}:
            return {f"{kind}_fn": name, f"{kind}_hash": config_hash}
    return {f"{kind}_fn": names[0], f"{kind}_hash": config_hash}


def _comment_labels(tables: SimpleNamespace) -> dict:
    """{(kind, hash): the entry's comment, or its hash's first 8 characters where the comment is empty}."""
    labels = {}
    for kind, table_name in _KIND_TABLES.items():
        for row in getattr(tables, table_name)().proj(f"{kind}_comment").to_dicts():
            labels[kind, row[f"{kind}_hash"]] = row[f"{kind}_comment"] or row[f"{kind}_hash"][:8]
    return labels


def _labelled(keys, labels: dict) -> list[dict]:
    return [
        {"labels": {kind: labels[kind, key[f"{kind}_hash"]] for kind in _KIND_TABLES},
         "key": {name: from_numpy(value) for name, value in key.items()}}
        for key in keys
    ]


def schema_keys(tables: SimpleNamespace) -> list[dict]:
    """Every job of the schema (all combinations of its entries and seeds), labelled by the entries' comments
    (their hash's first 8 characters where a comment is empty)."""
    return _labelled(tables.TrainedModel().key_source.keys(), _comment_labels(tables))


def recorded_jobs(tables: SimpleNamespace) -> list[dict] | None:
    """The jobs the schema's added experiments ask for, each once, labelled as their files label the entries (an
    entry's comment where a job was recorded without labels); None where no experiment was added."""
    jobs = tables.AddedExperiment().recorded_jobs() if hasattr(tables, "AddedExperiment") else None
    if jobs is None:
        return None
    comments = None
    for job in jobs:
        if not all(job["labels"].values()):
            comments = comments if comments is not None else _comment_labels(tables)
            job["labels"] = {kind: label or comments[kind, job["key"][f"{kind}_hash"]]
                             for kind, label in job["labels"].items()}
    return jobs


def schema_jobs(tables: SimpleNamespace) -> list[dict]:
    """The jobs of a schema read without its file: those its added experiments ask for, then its trained models
    that none of them asks for (so nothing stored disappears from a report); a schema no experiment was added to
    (filled from Python): every combination of its entries and seeds (:func:`schema_keys`)."""
    jobs = recorded_jobs(tables)
    if jobs is None:
        return schema_keys(tables)
    asked = {tuple(job["key"][name] for name in JOB_KEY) for job in jobs}
    trained = [key for key in tables.TrainedModel().proj().keys()
               if tuple(from_numpy(key[name]) for name in JOB_KEY) not in asked]
    return jobs + (_labelled(trained, _comment_labels(tables)) if trained else [])
