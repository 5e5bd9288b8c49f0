"""Job reservations: one trainer per job, and recovery of dead workers' jobs.

DataJoint 2.3's ``jobs.refresh(orphan_timeout=...)`` re-pends reserved jobs by *age* alone, so a live job that
trains (or loads its data) for longer than the timeout would be started a second time. Here:

- a worker renews its reservations itself, from a thread of its own with a connection of its own
  (:class:`ReservationKeeper`), every ``heartbeat_interval`` seconds whatever the trainer does, so a reservation's
  age is the silence of its worker, never the length of its job;
- a reservation is released (:func:`release_dead_reservations`) only when its worker is provably gone: on this host
  with its process gone (at once), or on any host (a dead node, a reused pid in a restarted container) silent for
  longer than ``orphan_timeout`` seconds, which must cover at least :data:`MIN_BEATS` heartbeats;
- everything a job writes (checkpoints, live progress, the result) is written only while the reservation is still
  this worker's (:meth:`Reservation.check_held`, in the same transaction); a worker that finds its reservation lost
  stops that job at once (:class:`ReservationLost`) and writes nothing more for it; completing, failing or handing
  back a job changes the job row only while it is still this worker's.

The rule for a dead worker on another host: its job is pending again at most ``orphan_timeout`` seconds (default
:data:`ORPHAN_TIMEOUT`) after its last heartbeat plus one poll of an idle worker (``--poll``, 5 s); a worker busy
training looks when it takes its next job.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import re
import threading
import traceback

from .stopping import TrainingStopped
from .._datajoint import (
    job_key, job_row_condition, keeps_completed_jobs, open_client_connection_like, open_connection_like,
)

__all__ = [
    "HEARTBEAT_INTERVAL", "ORPHAN_TIMEOUT", "MIN_BEATS", "MAX_WORKER_DEATHS", "Reservation", "ReservationKeeper", "ReservationLost",
    "check_orphan_timeout", "release_dead_reservations",
]

logger = logging.getLogger(__name__)

#: seconds between a worker's renewals of its reservations
HEARTBEAT_INTERVAL = 10.0
#: seconds of silence after which a reservation on another host (or under a reused pid) counts as a dead worker's
ORPHAN_TIMEOUT = 120.0
#: an orphan timeout must cover this many heartbeats, so that a live worker never reaches it
MIN_BEATS = 3


class ReservationLost(TrainingStopped):
    """This worker's reservation of the job was released and may be another worker's now: stop, write nothing."""


def check_orphan_timeout(seconds: float, heartbeat_interval: float = HEARTBEAT_INTERVAL) -> float:
    """``seconds`` as an orphan timeout, or ValueError in one line (not a number, infinite, or shorter than
    :data:`MIN_BEATS` heartbeats, which would release live workers' jobs)."""
    least = MIN_BEATS * heartbeat_interval
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"--orphan-timeout (orphan_timeout) must be a number of seconds, not {seconds!r}") from None
    if not math.isfinite(seconds) or seconds < least:
        raise ValueError(f"--orphan-timeout (orphan_timeout) must be a finite number of seconds, at least {least:g} "
                         f"({MIN_BEATS} heartbeats of {heartbeat_interval:g} s), not {seconds}")
    return seconds


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Reservation:
    """This process's reservation of one job in ``jobs``."""

    def __init__(self, jobs, key: dict):
        self.jobs = jobs
        self.key = job_key(jobs, key)
        self.host = platform.node()
        self.pid = os.getpid()
        self.lost = threading.Event()  # set by the keeper when a renewal finds the reservation gone
        # built here, in the worker's thread: the keeper's thread must not touch the main connection (a key's
        # condition may read the table's heading through it)
        self._condition = job_row_condition(jobs, self.key)

    def _ours(self) -> tuple[str, list]:
        quote = self.jobs.adapter.quote_identifier
        return f"{quote('status')}='reserved' AND {quote('host')}=%s AND {quote('pid')}=%s", [self.host, self.pid]

    def take(self) -> bool:
        return self.jobs.reserve(self.key)

    def renew(self, connection=None) -> bool:
        """Move the reservation's time on (through ``connection``, default the jobs table's); False if it is not
        this process's any more."""
        connection = connection or self.jobs.connection
        where, args = self._ours()
        condition = self._condition
        cursor = connection.query(
            f"UPDATE {self.jobs.full_table_name} SET {self.jobs.adapter.quote_identifier('reserved_time')}="
            f"CURRENT_TIMESTAMP(3) WHERE {condition} AND {where}", args=args)
        if cursor.rowcount == 1:
            return True
        held = connection.query(f"SELECT 1 FROM {self.jobs.full_table_name} WHERE {condition} AND {where}",
                                args=args).fetchone()  # unchanged within the same millisecond: still ours
        return held is not None

    def check_held(self) -> None:
        """Raise ReservationLost unless the job is still reserved by this process; inside a transaction the row
        stays locked until it ends, so nothing can release the job between this check and the commit."""
        if self.lost.is_set():
            raise ReservationLost(f"the reservation of {self.key} was lost")
        where, args = self._ours()
        lock = " FOR UPDATE" if self.jobs.connection.in_transaction else ""
        row = self.jobs.connection.query(
            f"SELECT 1 FROM {self.jobs.full_table_name} WHERE {self._condition} AND {where}"
            f"{lock}", args=args).fetchone()
        if row is None:
            self.lost.set()
            raise ReservationLost(f"the reservation of {self.key} was released: another worker may train it")

    def _update_if_ours(self, assignments: str, values: list, clock: tuple[str, ...] = (),
                        client_connection=None) -> bool:
        """One conditional UPDATE of the job's row, only while it is this worker's reservation (through the jobs
        table's connection, or ``client_connection``: a client connection of the database module's own)."""
        where, args = self._ours()
        quote = self.jobs.adapter.quote_identifier
        sets = ", ".join([assignments, *(f"{quote(name)}=CURRENT_TIMESTAMP(3)" for name in clock)])
        statement = f"UPDATE {self.jobs.full_table_name} SET {sets} WHERE {self._condition} AND {where}"
        if client_connection is None:
            return self.jobs.connection.query(statement, args=[*values, *args]).rowcount == 1
        cursor = client_connection.cursor()
        try:
            cursor.execute(statement, [*values, *args])
            return cursor.rowcount == 1
        finally:
            cursor.close()

    def complete(self) -> None:
        """The job is stored: its row goes (DataJoint's default; kept as 'success' with ``keep_completed``)."""
        if keeps_completed_jobs(self.jobs):
            self._update_if_ours(f"{self.jobs.adapter.quote_identifier('status')}=%s", ["success"],
                                 clock=("completed_time",))
            return
        where, args = self._ours()
        self.jobs.connection.query(
            f"DELETE FROM {self.jobs.full_table_name} WHERE {self._condition} AND {where}",
            args=args)

    def hand_back(self) -> bool:
        """Pending again (stopped on request): another worker resumes it from its newest checkpoint."""
        quote = self.jobs.adapter.quote_identifier
        return self._update_if_ours(f"{quote('status')}=%s", ["pending"])

    def hand_back_over_new_connection(self) -> bool | None:
        """:meth:`hand_back` over a connection of its own that waits at most the connect timeout for anything (the
        job's connection stopped answering; a path frozen for one connection, e.g. a lost NAT entry, may let a new
        one through). True: pending again; False: not this worker's any more; None: the database did not answer
        (the job stays reserved until the orphan rule releases it)."""
        try:
            connection = open_client_connection_like(self.jobs.connection)
        except Exception as error:  # anything: the job then waits for the orphan rule, as it would have anyway
            logger.warning("could not hand back %s over a new connection: %s", self.key, error)
            return None
        try:
            quote = self.jobs.adapter.quote_identifier
            return self._update_if_ours(f"{quote('status')}=%s", ["pending"], client_connection=connection)
        except Exception as error:
            logger.warning("could not hand back %s over a new connection: %s", self.key, error)
            return None
        finally:
            try:
                connection.close()
            except Exception:  # already closed by the failure
                pass

    def fail(self, error: BaseException) -> bool:
        """Record ``error`` for the job, only while it is still this worker's."""
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        quote = self.jobs.adapter.quote_identifier
        if not self._update_if_ours(f"{quote('status')}=%s, {quote('error_message')}=%s",
                                    ["error", message[:2000]], clock=("completed_time",)):
            return False
        stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self.jobs.update1({**self.key, "error_stack": stack})
        return True


class ReservationKeeper:
    """A thread that renews this worker's held reservations every ``interval`` seconds through a connection of its
    own (made at the first renewal, so jobs shorter than one interval cost no connection), independently of the
    trainer; a renewal that finds a reservation gone marks it lost. :meth:`shared` gives one per process."""

    _shared: dict = {}  # (process id, id of the jobs' connection, interval) -> this process's keeper

    def __init__(self, interval: float = HEARTBEAT_INTERVAL):
        if not interval > 0:
            raise ValueError(f"the heartbeat interval must be more than 0 seconds, not {interval}")
        self.interval = interval
        self._held: list[Reservation] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection = None

    @classmethod
    def shared(cls, connection, interval: float = HEARTBEAT_INTERVAL) -> "ReservationKeeper":
        """This process's keeper of the reservations made through ``connection``, renewing every ``interval``
        seconds, started once: every worker and ``populate`` call of the process shares its thread and connection,
        so a ``populate`` per job (``keys=``, a loop over keys) does not start a thread and open a connection per
        job. (Keyed by process id too, so that a forked child starts its own.)"""
        key = (os.getpid(), id(connection), float(interval))
        keeper = cls._shared.get(key)
        if keeper is None:
            keeper = cls._shared[key] = cls(interval)
            keeper._source = connection  # held, so that its id is not reused by another connection
        return keeper

    def hold(self, reservation: Reservation) -> None:
        with self._lock:
            self._held.append(reservation)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="reservation-keeper", daemon=True)
            self._thread.start()

    def drop(self, reservation: Reservation) -> None:
        with self._lock:
            if reservation in self._held:
                self._held.remove(reservation)

    def _renew_all(self) -> None:
        with self._lock:
            held = list(self._held)
        for reservation in held:
            for attempt in (1, 2):  # a dropped connection: reconnect and try once more
                try:
                    if self._connection is None:
                        self._connection = open_connection_like(reservation.jobs.connection)
                    if not reservation.renew(self._connection):
                        reservation.lost.set()
                        logger.error("the reservation of %s was released by another worker: stopping that job",
                                     reservation.key)
                    break
                except Exception as error:  # the next beat tries again; the reservation stands until proved lost
                    self._close()
                    if attempt == 2:
                        logger.warning("could not renew the reservation of %s: %s", reservation.key, error)

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already gone
                pass

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            if self._wake.is_set():
                self._close()
                return
            self._renew_all()

    def close(self) -> None:
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _deaths(message: str | None) -> int:
    """How many workers the job has killed, from the note a release leaves in its row (see _DEATH_NOTE)."""
    match = re.match(r"worker died: (\d+) of ", message or "")
    return int(match.group(1)) if match else 0


#: the note a release leaves in a pending job's ``error_message`` (unused while a job is pending), counting the
#: workers that died holding it; a job that has killed MAX_WORKER_DEATHS workers is recorded as failed instead
_DEATH_NOTE = "worker died: {deaths} of {limit} allowed ({host}:{pid}, {how})"
MAX_WORKER_DEATHS = 2


def release_dead_reservations(target_table, orphan_timeout: float | None = ORPHAN_TIMEOUT,
                              max_deaths: int = MAX_WORKER_DEATHS) -> int:
    """Make the reserved jobs of ``target_table`` whose worker is provably gone pending again; returns how many.

    Gone means: reserved on this host by a process that does not exist any more, or (any host; also a reused pid)
    not renewed for more than ``orphan_timeout`` seconds (None: only the first rule). Each release is one
    conditional UPDATE of the row as it was seen, so a renewal or another worker's release in between wins.
    A job whose worker died ``max_deaths`` times (its data crashes the process: SIGSEGV, the OOM killer's SIGKILL)
    is recorded as failed with the reason instead, and no further worker takes it.
    """
    jobs = target_table.jobs
    if not jobs.is_declared:
        return 0
    quote = jobs.adapter.quote_identifier
    host = platform.node()
    stale = None
    if orphan_timeout is not None:
        stale = f"{quote('reserved_time')} < CURRENT_TIMESTAMP(3) - {jobs.adapter.interval_expr(orphan_timeout, 'second')}"
    released = 0
    for row in jobs.reserved.proj("host", "pid", "error_message").to_dicts():
        key = {name: row[name] for name in jobs.primary_key}
        gone_here = row["host"] == host and not _process_alive(int(row["pid"]))
        if not gone_here and stale is None:
            continue
        where = f"{quote('status')}='reserved' AND {quote('host')}=%s AND {quote('pid')}=%s"
        if not gone_here:
            where += f" AND {stale}"
        how = "process gone" if gone_here else f"silent for more than {orphan_timeout:g} s"
        deaths = _deaths(row["error_message"]) + 1
        note = _DEATH_NOTE.format(deaths=deaths, limit=max_deaths, host=row["host"], pid=row["pid"], how=how)
        if deaths >= max_deaths:
            status, note = "error", (f"{note}: the job killed {deaths} workers (a crash of its process, e.g. "
                                     f"SIGSEGV or the OOM killer's SIGKILL); not handed to another")
        else:
            status = "pending"
        cursor = jobs.connection.query(
            f"UPDATE {jobs.full_table_name} SET {quote('status')}=%s, {quote('error_message')}=%s"
            f"{', ' + quote('completed_time') + '=CURRENT_TIMESTAMP(3)' if status == 'error' else ''} "
            f"WHERE {job_row_condition(jobs, key)} AND {where}", args=[status, note, row["host"], row["pid"]])
        if cursor.rowcount == 1:
            released += status == "pending"
            log = logger.error if status == "error" else logger.info
            log("released the reservation of %s (worker %s:%s %s)%s", key, row["host"], row["pid"], how,
                f"; failed: it killed {deaths} workers" if status == "error" else "")
    return released
