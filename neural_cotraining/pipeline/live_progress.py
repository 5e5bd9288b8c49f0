"""Live progress of running jobs: per-epoch metrics readable while a job trains.

``TrainedModel`` stores a job's per-epoch metrics in one transaction at the end (nothing half-written). A job that
trains for hours is visible meanwhile through two tables written outside that transaction, after every epoch:
``LiveJob`` (one row per job: last epoch, best score so far, worker, last heartbeat) and ``LiveEpochMetric`` (the
epoch rows so far). The final transaction that stores the trained model deletes the job's live rows, so a finished
job appears only in ``TrainedModel``. An interrupted job keeps its rows until it is resumed and finishes.
"""

from __future__ import annotations

import logging
import os
import platform
import time

import datajoint as dj

__all__ = ["declare_live_tables", "LiveProgress"]

logger = logging.getLogger(__name__)

_JOB_KEY = """
    -> Model
    -> Dataset
    -> Trainer
    -> Seed
"""


def declare_live_tables(schema: dj.Schema, context: dict) -> None:
    """Declare ``LiveJob`` and ``LiveEpochMetric`` in ``schema`` (into ``context``)."""

    class LiveJob(dj.Manual):
        definition = f"""
        # a job training now (or interrupted and waiting to resume); removed when its model is stored
        {_JOB_KEY}
        ---
        epoch = 0: int32                # the last epoch reported
        best_score = null: float64      # the trainer's score at its best epoch so far, if it reports one
        worker: varchar(160)            # host:pid of the worker process
        started_ts = CURRENT_TIMESTAMP: datetime
        heartbeat_ts = CURRENT_TIMESTAMP: datetime  # the worker's last sign of life
        """

    context["LiveJob"] = schema(LiveJob, context=context)

    class LiveEpochMetric(dj.Manual):
        definition = """
        # the per-epoch metrics of a live job so far (as TrainedModel.EpochMetric, before the job ends)
        -> LiveJob
        epoch: int32
        split: varchar(32)
        task: varchar(48)
        metric: varchar(96)
        ---
        value = null: float64
        """

    context["LiveEpochMetric"] = schema(LiveEpochMetric, context=context)


def _set(table, key: dict, values: dict, now: tuple[str, ...] = ()) -> None:
    """UPDATE the row ``key`` of ``table``: ``values`` from Python, the ``now`` columns to the server's clock."""
    from datajoint.condition import make_condition

    quote = table.adapter.quote_identifier
    assignments = [f"{quote(name)}=%s" for name in values] + [f"{quote(name)}=CURRENT_TIMESTAMP" for name in now]
    where = make_condition(table, {name: key[name] for name in table.primary_key}, set())
    table.connection.query(
        f"UPDATE {table.full_table_name} SET {', '.join(assignments)} WHERE {where}", args=list(values.values())
    )


class LiveProgress:
    """Writes one job's live rows; every write is its own statement, outside any transaction."""

    def __init__(self, job_table: type, epoch_table: type, key: dict, heartbeat_interval: float = 30.0):
        self._jobs = job_table
        self._epochs = epoch_table
        self._key = dict(key)
        self._interval = heartbeat_interval
        self._last_beat = float("-inf")

    def start(self, resumed_epoch: int = 0) -> None:
        """Mark the job as running in this process; forget epochs after ``resumed_epoch`` (an earlier attempt's
        epochs that its checkpoint does not cover are trained again)."""
        (self._epochs() & self._key & f"epoch > {int(resumed_epoch)}").delete_quick()
        jobs = self._jobs()
        worker = f"{platform.node()}:{os.getpid()}"
        if jobs & self._key:
            _set(jobs, self._key, {"epoch": int(resumed_epoch), "worker": worker}, now=("started_ts", "heartbeat_ts"))
        else:
            jobs.insert1({**self._key, "epoch": int(resumed_epoch), "worker": worker})
        self._last_beat = time.monotonic()

    def epoch(self, epoch: int, rows: list[dict], score: float | None) -> None:
        """Store one epoch's metric rows and move the job's epoch, best score and heartbeat on."""
        epochs = self._epochs()
        (epochs & self._key & {"epoch": int(epoch)}).delete_quick()
        epochs.insert([{**self._key, **row} for row in rows])
        values = {"epoch": int(epoch)}
        if score is not None:
            values["best_score"] = score if score == score and abs(score) != float("inf") else None
        _set(self._jobs(), self._key, values, now=("heartbeat_ts",))
        self._last_beat = time.monotonic()

    def heartbeat(self) -> None:
        """Renew the heartbeat at most every ``heartbeat_interval`` seconds."""
        now = time.monotonic()
        if now - self._last_beat >= self._interval:
            self._last_beat = now
            _set(self._jobs(), self._key, {}, now=("heartbeat_ts",))

    def clear(self) -> None:
        """Delete the job's live rows (inside the transaction that stores the trained model)."""
        (self._epochs() & self._key).delete_quick()
        (self._jobs() & self._key).delete_quick()
