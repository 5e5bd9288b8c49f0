"""An experiment file's entries in the database, its jobs and its results."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from ..common.plain import from_numpy
from ..hashing import HASH_SCHEMES
from ..registry import allow_builder_modules, check_entry, stored_names
from ..configs.experiment import Experiment
from .entry_limits import check_entry_fits, check_seeds_fit

__all__ = [
    "add_experiment", "check_experiment", "experiment_keys", "job_states", "job_status", "results_table", "epoch_table",
    "live_table", "live_epoch_table", "schema_keys",
]

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
    """Insert the experiment's entries and seeds; returns one labelled key per job to train.

    Every entry is checked (allow-list, config keys, hashability, what fits the columns; trained models that configs
    name exist and fit) before anything is inserted, and everything is inserted in one transaction: all of it or
    nothing.
    """
    with tables.TrainedModel().trained_networks():
        check_experiment(experiment)
        with tables.schema.connection.transaction:
            keys = _add_entries(tables, experiment)
            tables.Seed().insert([{"seed": int(seed)} for seed in experiment.seeds], skip_duplicates=True)
    return _labelled_keys(experiment, keys)


def check_experiment(experiment: Experiment) -> None:
    """Refuse an experiment with a disallowed builder, a config key the builder does not take, an unhashable
    config, or a value that does not fit its column; names the entry and key. Touches no database."""
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


def schema_keys(tables: SimpleNamespace) -> list[dict]:
    """Every job of the schema (all combinations of its entries and seeds), labelled by the entries' comments
    (their hash's first 8 characters where a comment is empty)."""
    labels = {}
    for kind, table_name in _KIND_TABLES.items():
        for row in getattr(tables, table_name)().to_dicts():
            labels[kind, row[f"{kind}_hash"]] = row[f"{kind}_comment"] or row[f"{kind}_hash"][:8]
    return [
        {"labels": {kind: labels[kind, key[f"{kind}_hash"]] for kind in _KIND_TABLES},
         "key": {name: from_numpy(value) for name, value in key.items()}}
        for key in tables.TrainedModel().key_source.keys()
    ]


def _rows_per_job(table, keys: list[dict], order_by: str | None = None) -> list[tuple[dict, list[dict]]]:
    """``[(job, its rows of table)]`` in the order of ``keys``, read with one query."""
    if not keys:
        return []
    names = sorted(keys[0]["key"])
    grouped: dict = {}
    for row in (table & [job["key"] for job in keys]).to_dicts(order_by=order_by):
        grouped.setdefault(tuple(from_numpy(row[name]) for name in names), []).append(row)
    return [(job, grouped.get(tuple(job["key"][name] for name in names), [])) for job in keys]


def job_states(tables: SimpleNamespace, keys: list[dict]) -> list[tuple[dict, str, dict]]:
    """``[(job, state, its row in the jobs table or {})]`` for ``keys``, each job once: ``done`` (trained, whatever
    stale queue row it has), else its queue status (``reserved``, ``pending``, ``error``), else ``not_started``."""
    trained = tables.TrainedModel()
    done = {id(job) for job, rows in _rows_per_job(trained.proj(), keys) if rows}
    queue = _queue_rows(tables, keys)
    states = []
    for job in keys:
        row = queue.get(id(job), {})
        if id(job) in done:
            state = "done"
        else:
            state = row.get("status") if row.get("status") in ("reserved", "pending", "error") else "not_started"
        states.append((job, state, row))
    return states


def job_status(tables: SimpleNamespace, keys: list[dict]) -> dict:
    """Counts of done / pending / reserved / error / not started jobs among ``keys`` (each job counted once, so they
    sum to the total), with the failed jobs' error messages, and the latest checkpoint epoch of each job that has
    one (in progress, or interrupted and waiting to resume)."""
    status = dict.fromkeys(("done", "pending", "reserved", "error", "not_started"), 0)
    errors = []
    for job, state, row in job_states(tables, keys):
        status[state] += 1
        if state == "error":
            errors.append({**job["labels"], "seed": job["key"]["seed"], "error": row["error_message"]})
    status["total"] = len(keys)
    running = []
    for job, rows in _rows_per_job(tables.Checkpoint().proj(), keys):  # in progress or interrupted: how far
        if rows:
            epoch = max(int(row["epoch"]) for row in rows)
            running.append({**job["labels"], "seed": job["key"]["seed"], "checkpoint_epoch": epoch})
    status["checkpointed"] = running
    status["live"] = live_table(tables, keys)
    status["errors"] = errors
    return status


def _flatten_final(output: dict) -> dict:
    flat = {}
    final = output.get("final", {}) if isinstance(output, dict) else {}
    for split, tasks in final.items():
        for task, metrics in tasks.items():
            for metric, value in metrics.items():
                flat[f"{split}/{task}/{metric}"] = value
    return flat


def results_table(tables: SimpleNamespace, keys: list[dict]) -> list[dict]:
    """One row per trained model among ``keys``: labels, seed, score and the final metrics per split."""
    rows = []
    for job, found in _rows_per_job(tables.TrainedModel(), keys):
        for row in found:
            output = row["output"] if isinstance(row["output"], dict) else {}
            rows.append(
                {
                    **job["labels"],
                    "seed": int(row["seed"]),
                    "score": float(row["score"]),
                    "best_epoch": output.get("best_epoch"),
                    **_flatten_final(output),
                }
            )
    return rows


def epoch_table(tables: SimpleNamespace, keys: list[dict]) -> list[dict]:
    """Per-epoch metric rows of the trained models among ``keys``, labelled."""
    columns = ("epoch", "split", "task", "metric", "value")
    return [
        {**job["labels"], "seed": int(row["seed"]), **{column: row[column] for column in columns}}
        for job, found in _rows_per_job(tables.TrainedModel.EpochMetric(), keys, order_by="epoch")
        for row in found
    ]


_QUEUE_STATES = {"reserved": "running", "pending": "waiting to resume", "error": "failed"}


def _queue_rows(tables: SimpleNamespace, keys: list[dict]) -> dict:
    """{id(job): its row in the jobs table} for the jobs among ``keys`` that have a queue entry."""
    jobs = tables.TrainedModel().jobs
    return {id(job): rows[0] for job, rows in _rows_per_job(jobs, keys) if rows} if jobs.is_declared else {}


def live_table(tables: SimpleNamespace, keys: list[dict]) -> list[dict]:
    """One labelled row per live job among ``keys``: training now (reserved in the queue; epoch 0 until its first
    epoch is reported) or interrupted (live rows left, waiting to resume or failed), with state, epoch of
    ``max_epochs``, the best score so far and its epoch, time per epoch and left (:mod:`.progress`), the latest
    validation metrics, last heartbeat and worker."""
    from .progress import live_progress

    queue = _queue_rows(tables, keys)
    live = {id(job): rows[0] for job, rows in _rows_per_job(tables.LiveJob(), keys) if rows}
    # a stored job is done, whatever a (stale) live or queue row says
    done = {id(job) for job, rows in _rows_per_job(tables.TrainedModel().proj(), keys) if rows}
    progress = live_progress(tables, [(job, live[id(job)]) for job in keys if id(job) in live], _rows_per_job)
    table = []
    for job in keys:
        if id(job) in done:
            continue
        row, queued = live.get(id(job)), queue.get(id(job), {})
        status = queued.get("status")
        if row is None and status != "reserved":
            continue
        table.append({
            **job["labels"], "seed": job["key"]["seed"],
            "state": _QUEUE_STATES.get(status, "stopped"),
            "epoch": int(row["epoch"]) if row else 0,
            **progress.get(id(job), {"best_score": None}),
            "heartbeat": str(row["heartbeat_ts"] if row else queued["reserved_time"]),
            "worker": row["worker"] if row else f"{queued['host']}:{queued['pid']}",
        })
    return table


def live_epoch_table(tables: SimpleNamespace, keys: list[dict]) -> list[dict]:
    """Per-epoch metric rows so far of the unfinished jobs among ``keys`` (training, or waiting to resume; not
    failed ones), labelled as ``epoch_table``'s, plus ``running: True``."""
    columns = ("epoch", "split", "task", "metric", "value")
    queue = _queue_rows(tables, keys)
    return [
        {**job["labels"], "seed": int(row["seed"]), **{column: row[column] for column in columns}, "running": True}
        for job, found in _rows_per_job(tables.LiveEpochMetric(), keys, order_by="epoch")
        if queue.get(id(job), {}).get("status") != "error"
        for row in found
    ]
