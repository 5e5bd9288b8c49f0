"""Live progress of running jobs: per-epoch metrics readable while a job trains.

``TrainedModel`` stores a job's per-epoch metrics in one transaction at the end (nothing half-written). A job that
trains for hours is visible meanwhile through two tables written outside that transaction: ``LiveJob`` (one row per
job: last epoch, best score so far, worker, last heartbeat) and ``LiveEpochMetric`` (the epoch rows so far). The
first epoch is written at once; later ones at most every ``write_interval`` seconds (default 5), the epochs
reported meanwhile together in one commit: each commit waits for the server's disk, and a commit per sub-second
epoch cost more than the rest of the pipeline together. A job stopped or failed writes what it holds
(:meth:`LiveProgress.flush`). The final transaction that stores the trained model deletes the job's live rows, so a
finished job appears only in ``TrainedModel``. An interrupted job keeps its rows until it is resumed and finishes.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import time

from typing import Any, Callable

from .._datajoint import is_deadlock, is_lost_connection, update_row
from ..row_writes import insert_rows
from .stopping import StoppedWithoutConnection, TrainingStopped

__all__ = ["LiveProgress", "never_fatal"]

logger = logging.getLogger(__name__)

def _set(table, key: dict, values: dict, now: tuple[str, ...] = ()) -> None:
    """UPDATE the row ``key`` of ``table``: ``values`` from Python, the ``now`` columns to the server's clock."""
    update_row(table, {name: key[name] for name in table.primary_key}, values, now=now)


def never_fatal(write: Callable, what: str, stop=None) -> Callable:
    """``write`` (a progress or checkpoint write) that survives a dropped connection or a deadlock with another
    worker's write: DataJoint reconnects (or the server rolled back), the write is tried once more, and a second
    failure (of any kind) is logged, never raised, since training can go on without it. A lost reservation
    (TrainingStopped) is not a failed write: it stops the job. Once ``stop`` (a StopRequest) is requested, a lost
    connection stops the job at once (StoppedWithoutConnection): a stopping worker does not wait for a frozen path
    twice, and hands the job back over a new connection."""

    def tolerant(*arguments: Any) -> None:
        for attempt in (1, 2):
            try:
                write(*arguments)
                return
            except TrainingStopped:
                raise
            except Exception as error:
                if stop is not None and stop.requested and is_lost_connection(error):
                    raise StoppedWithoutConnection(f"stopped on request; {what} lost the database connection "
                                                   f"({error})") from error
                if attempt == 1 and is_lost_connection(error):
                    logger.warning("%s: the connection was lost (%s); trying once more", what, error)
                    continue
                if attempt == 1 and is_deadlock(error):  # another worker's write at the same moment: redo it
                    logger.info("%s: %s; trying once more", what, error)
                    continue
                logger.warning("%s failed, training goes on: %s: %s", what, type(error).__name__, error)
                return

    return tolerant


class LiveProgress:
    """Writes one job's live rows, outside ``TrainedModel``'s transaction; each write (the epochs reported since the
    last one and the job's row) is one short transaction of its own.

    The job's row is written with its first epoch (or first heartbeat), not when the job starts: until then the
    queue's reservation (host, pid, time) shows the job as running, and a short job costs one commit less.
    """

    def __init__(self, job_table: type, epoch_table: type, key: dict, heartbeat_interval: float = 30.0,
                 guard=None, write_interval: float = 5.0):
        self._jobs = job_table
        self._epochs = epoch_table
        self._key = dict(key)
        self._interval = heartbeat_interval
        self._write_interval = write_interval
        self._guard = guard  # called first inside each write's transaction: raises if the job is not ours any more
        self._last_beat = time.monotonic()
        self._resumed_epoch: int | None = None  # set by start(); the job's row is written on the first report
        self._started = False
        self._reported: set[int] = set()
        self._pending: dict[int, list[dict]] = {}  # epoch -> its rows, reported and not written yet
        self._values: dict = {}  # the job row's epoch and best score, as of the newest report

    def start(self, resumed_epoch: int | None = None) -> None:
        """The job starts (again) in this process, after ``resumed_epoch`` (None: from scratch)."""
        self._resumed_epoch = None if resumed_epoch is None else int(resumed_epoch)
        self._started = False
        self._pending.clear()
        self._values = {}
        self._last_beat = time.monotonic()

    def _write_start(self, values: dict) -> None:
        """The job's row for this run, holding ``values`` (epoch, best score); an earlier attempt's epochs after the
        resumed one are forgotten (they are trained again). Runs inside the caller's transaction."""
        jobs = self._jobs()
        values = {"best_score": None, **values, "worker": f"{platform.node()}:{os.getpid()}"}
        if jobs & self._key:  # an earlier attempt's row (epoch rows need it, so there are none without it)
            earlier = self._epochs() & self._key
            if self._resumed_epoch is not None:
                earlier &= f"epoch > {self._resumed_epoch}"
            earlier.delete_quick()
            _set(jobs, self._key, values, now=("started_ts", "heartbeat_ts"))
        else:
            jobs.insert1({**self._key, **values})

    def epoch(self, epoch: int, rows: list[dict], score: float | None) -> None:
        """One epoch's metric rows, the job's epoch and best score: written now if this is the first report or
        ``write_interval`` seconds have passed since the last write, else with a later one."""
        epoch = int(epoch)
        self._pending[epoch] = rows  # an epoch reported twice in one run: the newer rows count
        self._values["epoch"] = epoch
        if score is not None:
            self._values["best_score"] = score if math.isfinite(score) else None
        if not self._started or time.monotonic() - self._last_beat >= self._write_interval:
            self.flush()

    def flush(self) -> None:
        """Write the epochs reported since the last write and move the job's epoch, best score and heartbeat on
        (one commit; nothing to write: nothing done)."""
        if not self._pending:
            return
        epochs = sorted(self._pending)
        with self._jobs().connection.transaction:
            if self._guard is not None:
                self._guard()
            first = not self._started
            if first:
                self._write_start(self._values)
            resumed = self._resumed_epoch
            again = [e for e in epochs if e in self._reported or (resumed is not None and e <= resumed)]
            if again:  # reported before (in this run, or by the run it resumes): the newer values count
                (self._epochs() & self._key & [{"epoch": e} for e in again]).delete_quick()
            insert_rows(self._epochs(), [{**self._key, **row} for e in epochs for row in self._pending[e]])
            if not first:
                _set(self._jobs(), self._key, self._values, now=("heartbeat_ts",))
        # only once committed: a write lost with its connection is redone whole
        self._reported.update(epochs)
        self._pending.clear()
        self._started = True
        self._last_beat = time.monotonic()

    def heartbeat(self) -> None:
        """Renew the heartbeat at most every ``heartbeat_interval`` seconds (writing any epochs held meanwhile)."""
        now = time.monotonic()
        if now - self._last_beat < self._interval:
            return
        if self._pending:
            self.flush()
            return
        self._last_beat = now
        with self._jobs().connection.transaction:
            if self._guard is not None:
                self._guard()
            if self._started:
                _set(self._jobs(), self._key, {}, now=("heartbeat_ts",))
            else:  # a long first epoch: show the job before its first report
                self._write_start({"epoch": self._resumed_epoch or 0})
        self._started = True

    def clear(self) -> None:
        """Delete the job's live rows (inside the transaction that stores the trained model)."""
        self._pending.clear()
        (self._epochs() & self._key).delete_quick()
        (self._jobs() & self._key).delete_quick()
