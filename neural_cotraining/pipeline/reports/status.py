"""Where an experiment's jobs stand: done, queued, running or failed, each job counted once, and the live ones'
progress."""

from __future__ import annotations

from types import SimpleNamespace

from .._datajoint import queue_exists
from .progress import live_progress
from .rows import rows_per_job

__all__ = ["job_states", "job_status", "live_table", "live_epoch_table"]


def job_states(tables: SimpleNamespace, keys: list[dict]) -> list[tuple[dict, str, dict]]:
    """``[(job, state, its row in the jobs table or {})]`` for ``keys``, each job once: ``done`` (trained, whatever
    stale queue row it has), else its queue status (``reserved``, ``pending``, ``error``), else ``not_started``."""
    trained = tables.TrainedModel()
    done = {id(job) for job, rows in rows_per_job(trained.proj(), keys) if rows}
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
    for job, rows in rows_per_job(tables.Checkpoint().proj(), keys):  # in progress or interrupted: how far
        if rows:
            epoch = max(int(row["epoch"]) for row in rows)
            running.append({**job["labels"], "seed": job["key"]["seed"], "checkpoint_epoch": epoch})
    status["checkpointed"] = running
    status["live"] = live_table(tables, keys)
    status["errors"] = errors
    return status


_QUEUE_STATES = {"reserved": "running", "pending": "waiting to resume", "error": "failed"}


def _queue_rows(tables: SimpleNamespace, keys: list[dict]) -> dict:
    """{id(job): its row in the jobs table} for the jobs among ``keys`` that have a queue entry."""
    trained = tables.TrainedModel()
    if not queue_exists(trained):  # nothing was ever queued (and reading must not declare the jobs table)
        return {}
    return {id(job): rows[0] for job, rows in rows_per_job(trained.jobs, keys) if rows}


def live_table(tables: SimpleNamespace, keys: list[dict]) -> list[dict]:
    """One labelled row per live job among ``keys``: training now (reserved in the queue; epoch 0 until its first
    epoch is reported) or interrupted (live rows left, waiting to resume or failed), with state, epoch of
    ``max_epochs``, the best score so far and its epoch, time per epoch and left (:mod:`.progress`), the latest
    validation metrics, last heartbeat and worker."""
    queue = _queue_rows(tables, keys)
    live = {id(job): rows[0] for job, rows in rows_per_job(tables.LiveJob(), keys) if rows}
    # a stored job is done, whatever a (stale) live or queue row says
    done = {id(job) for job, rows in rows_per_job(tables.TrainedModel().proj(), keys) if rows}
    progress = live_progress(tables, [(job, live[id(job)]) for job in keys if id(job) in live], rows_per_job)
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
        for job, found in rows_per_job(tables.LiveEpochMetric(), keys, order_by="epoch")
        if queue.get(id(job), {}).get("status") != "error"
        for row in found
    ]
