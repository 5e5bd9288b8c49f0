"""A long-lived worker: reserves and trains jobs, waits for new ones when the queue is empty, stops cleanly.

For cluster workers started before their jobs exist (a SLURM array, ``docker compose --scale worker=N``): the
worker polls the queue (adding the jobs of new entries) and exits after ``idle_exit`` idle seconds (None: never).
On SIGTERM or SIGINT it finishes the epoch in progress, saves a checkpoint, puts the job back into the queue as
pending and returns, so another worker resumes the job from there (see :mod:`.stopping`). When the job's database
connection fails while it stops (a frozen path), the worker does not wait on that path again: after one failed
reconnect it hands the job back over a new connection that waits at most the connect timeout, or, if none answers,
leaves the job reserved for the orphan rule and says so (:attr:`WorkerSummary.stranded`).

Each job is reserved here (:class:`.reservations.Reservation`, kept fresh by a thread), made through DataJoint's
own single-job step without its jobs table (``_populate1``: the tripartite make in its transaction), and then
completed, failed or handed back here only while the reservation is still this worker's; ``populate()`` is not
used because ``populate(reserve_jobs=True)`` replaces the SIGTERM handler with one that fails the running job. The
worker re-fetches the queue only when its list of candidate keys runs out.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Callable

from .._datajoint import has_single_job_step, is_lost_connection, populate_one
from ..connection_timeouts import one_reconnect_while
from .reservations import (
    HEARTBEAT_INTERVAL, ORPHAN_TIMEOUT, Reservation, ReservationKeeper, ReservationLost, check_orphan_timeout,
    release_dead_reservations,
)
from .stopping import StopRequest, StoppedWithoutConnection, TrainingStopped, quiet_stopped_jobs

__all__ = ["LongLivedWorker", "WorkerSummary"]

logger = logging.getLogger(__name__)

#: failed reservations in a row after which the candidate list counts as stale and is fetched again; one miss
#: (another worker was faster) leaves the rest of a list of 100 keys valid, and a reservation attempt costs less
#: than fetching the list
STALE_AFTER_MISSES = 3


@dataclass
class WorkerSummary:
    trained: int = 0
    failed: list = field(default_factory=list)  # (key, error message)
    errors: list = field(default_factory=list)  # the exceptions of the failed jobs, in the same order
    handed_back: list = field(default_factory=list)  # keys stopped on request and returned to the queue
    stranded: list = field(default_factory=list)  # keys it could not hand back: the database did not answer
    missed: int = 0  # jobs another worker reserved first (each costs a refill of the candidate list)
    stopped: bool = False  # by a signal (else: idle for idle_exit seconds)


class LongLivedWorker:
    """Trains the jobs of ``trained`` (a ``TrainedModel`` instance) within ``restriction`` until stopped or idle.
    ``read_restriction`` (instead of ``restriction``): a function returning it, called at the start and again
    whenever the worker looks for new jobs (the jobs recorded in the database, which grow while a worker waits)."""

    def __init__(
        self,
        trained,
        restriction: list[dict] | None = None,
        idle_exit: float | None = None,
        poll_interval: float = 5.0,
        orphan_timeout: float | None = None,
        stop: StopRequest | None = None,
        batch: int = 100,
        reserve_jobs: bool = True,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        max_jobs: int | None = None,
        read_restriction: Callable[[], list[dict]] | None = None,
    ):
        if idle_exit is not None and idle_exit < 0:
            raise ValueError(f"idle_exit must be at least 0 seconds, not {idle_exit}")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, not {poll_interval}")
        if not has_single_job_step(trained):
            raise RuntimeError("this DataJoint version has no single-job populate step (_populate1); use populate")
        self.trained = trained
        self._read_restriction = read_restriction
        self.restriction = read_restriction() if read_restriction is not None else restriction
        self.idle_exit = idle_exit
        self.poll_interval = poll_interval
        # None: the default; a reservation silent for this long is a dead worker's
        self.orphan_timeout = check_orphan_timeout(ORPHAN_TIMEOUT if orphan_timeout is None else orphan_timeout,
                                                   heartbeat_interval)
        self.heartbeat_interval = heartbeat_interval
        self.stop = stop or StopRequest()
        self.batch = batch
        self.reserve_jobs = reserve_jobs
        self.max_jobs = max_jobs  # stop after this many jobs trained or failed (DataJoint's max_calls); None: no limit
        self._tried: list[dict] = []  # without reservations: the jobs this worker took (each is taken once)
        self._candidates: list[dict] = []
        self._missed_in_a_row = 0
        self._random = random.Random()  # each worker its own order: workers rarely race for the same job
        self._refreshed = False  # whether this worker has added the jobs of new entries to the queue yet

    # ---- the queue ----
    def _pending(self):
        pending = self.trained.jobs.pending & "scheduled_time <= CURRENT_TIMESTAMP(3)"
        return pending & self.restriction if self.restriction is not None else pending

    def _refill(self, refresh: bool) -> None:
        if refresh and self._read_restriction is not None:
            self.restriction = self._read_restriction()
        if not self.reserve_jobs:
            self._refill_direct()
            return
        jobs = self.trained.jobs
        if refresh:
            # adds the jobs of entries inserted since; a populate (idle_exit 0) takes the jobs there are when it
            # starts, as DataJoint's own does: one look at the key source, not a second one after its last job
            if not (self.idle_exit == 0 and self._refreshed):
                restrictions = (self.restriction,) if self.restriction is not None else ()
                jobs.refresh(*restrictions, delay=-1)
                self._refreshed = True
            release_dead_reservations(self.trained, orphan_timeout=self.orphan_timeout)
        # the keys and priority only: the rest of a job row (user, host, ...) costs time to read and is not needed
        rows = self._pending().proj("priority", "scheduled_time").to_dicts(
            order_by="priority ASC, scheduled_time ASC", limit=self.batch
        )
        names = self.trained.jobs.primary_key
        # most urgent priority first; within one priority a random order, so that N workers that fetched the same
        # list do not all try the same first job (a failed reservation costs a round trip and a refill)
        self._candidates = []
        for _, group in itertools.groupby(rows, key=lambda row: row["priority"]):
            keys = [{name: row[name] for name in names} for row in group]
            self._random.shuffle(keys)
            self._candidates.extend(keys)

    def _refill_direct(self) -> None:
        """Without reservations (one process, no queue): the jobs not trained yet that this worker has not tried."""
        todo = self.trained.key_source - self.trained.proj()
        if self.restriction is not None:
            todo &= self.restriction
        if self._tried:
            todo -= self._tried
        self._candidates = todo.keys(order_by="KEY", limit=self.batch)

    def _next_key(self) -> dict | None:
        if not self._candidates:
            self._refill(refresh=False)
        if not self._candidates:
            self._refill(refresh=True)
        return self._candidates.pop(0) if self._candidates else None

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stop.requested and time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def _label(self, key: dict) -> str:
        """The job as the experiment file labels it, for log lines; its key where no file does (no query: the
        database may be what failed)."""
        return self.trained.job_label(key, read=False) or str(key)

    # ---- the loop ----
    def run(self) -> WorkerSummary:
        """Work until a signal (SIGTERM/SIGINT) or ``idle_exit`` idle seconds; returns what was done."""
        summary = WorkerSummary()
        self.trained.stop_request = self.stop
        if self.reserve_jobs and not self.trained.jobs.is_declared:
            self.trained.jobs.declare()
        self._keeper = (ReservationKeeper.shared(self.trained.jobs.connection, self.heartbeat_interval)
                        if self.reserve_jobs else None)
        # once stopping, a failed reconnect is not repeated: a frozen path costs one connect timeout, not many
        with self.stop.handling(), quiet_stopped_jobs(), one_reconnect_while(lambda: self.stop.requested):
            self._loop(summary)
        summary.stopped = self.stop.requested
        # the callers report the summary themselves (populate's status line, the worker command's own line)
        logger.debug("worker done: %d trained, %d failed, %d handed back%s", summary.trained, len(summary.failed),
                     len(summary.handed_back), f", {len(summary.stranded)} left reserved" if summary.stranded else "")
        return summary

    def _loop(self, summary: WorkerSummary) -> None:
        idle_since = None
        while not self.stop.requested:
            if self.max_jobs is not None and summary.trained + len(summary.failed) >= self.max_jobs:
                break
            key = self._next_key()
            if key is None:
                now = time.monotonic()
                idle_since = now if idle_since is None else idle_since
                if self.idle_exit is not None and now - idle_since >= self.idle_exit:
                    logger.log(logging.INFO if self.idle_exit else logging.DEBUG,  # populate: no news
                               "no jobs for %.0f s: worker exits", now - idle_since)
                    break
                left = self.poll_interval if self.idle_exit is None else self.idle_exit - (now - idle_since)
                self._wait(min(self.poll_interval, left))
                continue
            idle_since = None
            self._work_on(key, summary)

    def _work_on(self, key: dict, summary: WorkerSummary) -> None:
        reservation = None
        if self.reserve_jobs:
            reservation = Reservation(self.trained.jobs, key)
            if not reservation.take():  # another worker was faster since the list was fetched (or it is done)
                summary.missed += 1
                self._missed_in_a_row += 1
                if self._missed_in_a_row >= STALE_AFTER_MISSES:  # the list has gone stale: fetch a fresh one
                    self._candidates = []
                return
            self._keeper.hold(reservation)
        else:
            self._tried.append(key)
        self._missed_in_a_row = 0
        self.trained.reservation = reservation
        try:
            result = populate_one(self.trained, key, None, suppress_errors=True, return_exception_objects=True)
        except Exception as error:  # DataJoint's own cleanup (cancelling the transaction) lost the connection too
            if not is_lost_connection(error):
                raise
            result = (key, error)
        finally:
            self.trained.reservation = None
            if reservation is not None:
                self._keeper.drop(reservation)
        try:
            self._settle(key, reservation, result, summary)
        except Exception as error:
            if not is_lost_connection(error):
                raise
            if reservation is not None and isinstance(result, tuple) and (
                    isinstance(result[1], TrainingStopped) or is_lost_connection(result[1])):
                self._hand_back_over_new_connection(key, reservation, summary)
                return
            # the job row keeps this worker's reservation; it is released once its heartbeat is older than the
            # orphan timeout (or at once, from this host, after this process ends)
            logger.error("job %s: the database could not be reached to record its end (%s)", self._label(key), error)

    def _hand_back_over_new_connection(self, key: dict, reservation: Reservation, summary: WorkerSummary) -> None:
        handed = reservation.hand_back_over_new_connection()
        if handed:
            summary.handed_back.append(key)
            logger.info("job %s handed back to the queue over a new connection", self._label(key))
        elif handed is None:
            summary.stranded.append(key)
            logger.error("job %s could not be handed back: the database did not answer; it stays reserved until the "
                         "orphan rule releases it", self._label(key))

    def _settle(self, key: dict, reservation: Reservation | None, result, summary: WorkerSummary) -> None:
        """Complete, hand back or fail the job ``result`` says, while its reservation is still this worker's."""
        if not isinstance(result, tuple):  # True: stored; False: it was stored already
            summary.trained += result is True
            if reservation is not None:
                reservation.complete()
            return
        _, error = result
        label = self._label(key)
        if isinstance(error, ReservationLost):
            logger.error("job %s stopped: %s; nothing of it was stored by this worker", label, error)
        elif isinstance(error, TrainingStopped) or is_lost_connection(error):
            if not isinstance(error, TrainingStopped):  # not the job's fault: another worker (or this) resumes it
                logger.warning("job %s lost its database connection (%s): handing it back", label, error)
            if reservation is not None and self.stop.requested and (
                    isinstance(error, StoppedWithoutConnection) or is_lost_connection(error)):
                # the job's connection failed while stopping: not waited for again, a new one gets a short try
                self._hand_back_over_new_connection(key, reservation, summary)
            elif reservation is None or reservation.hand_back():
                summary.handed_back.append(key)
                logger.info("job %s handed back to the queue: %s", label, error)
        else:
            if reservation is None or reservation.fail(error):
                summary.failed.append((key, f"{type(error).__name__}: {error}"))
                summary.errors.append(error)
                logger.error("job %s failed: %s: %s", label, type(error).__name__, " ".join(str(error).split()))
