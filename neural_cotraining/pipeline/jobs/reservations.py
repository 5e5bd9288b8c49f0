"""Job reservations that stay fresh while a worker lives, and recovery of dead workers' jobs.

DataJoint 2.3's ``jobs.refresh(orphan_timeout=...)`` re-pends reserved jobs by *age* alone, so a live job that
trains for hours would look orphaned. Here a live job's ``reserved_time`` is renewed from the trainer's heartbeat
(``cb()``), so age means silence; :func:`release_dead_reservations` re-pends reserved jobs whose worker is known to
be dead (same host, process gone) or has been silent longer than ``orphan_timeout``.
"""

from __future__ import annotations

import logging
import os
import platform
import time

from .._datajoint import job_key, update_row

__all__ = ["ReservationHeartbeat", "release_dead_reservations"]

logger = logging.getLogger(__name__)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ReservationHeartbeat:
    """Renews this process's reservation of ``key`` at most every ``interval`` seconds."""

    def __init__(self, jobs_table, key: dict, interval: float = 30.0):
        self._jobs = jobs_table
        self._key = dict(key)
        self._interval = interval
        self._last = time.monotonic()  # made when the job starts, just after its reservation
        self._declared: bool | None = None

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        if self._declared is None:
            self._declared = self._jobs.is_declared
        if not self._declared:  # populate without reserve_jobs: nothing to renew
            return
        quote = self._jobs.adapter.quote_identifier
        update_row(
            self._jobs, job_key(self._jobs, self._key), now=("reserved_time",), clock="CURRENT_TIMESTAMP(3)",
            where=f"{quote('status')}='reserved' AND {quote('host')}=%s AND {quote('pid')}=%s",
            args=[platform.node(), os.getpid()],
        )


def release_dead_reservations(target_table, orphan_timeout: float | None = None) -> int:
    """Re-pend reserved jobs of ``target_table`` whose worker is dead; returns how many.

    Dead means: reserved on this host by a process that no longer exists, or (any host) not renewed for more than
    ``orphan_timeout`` seconds. Live workers renew their reservations from the trainer's heartbeat.
    """
    jobs = target_table.jobs
    if not jobs.is_declared:
        return 0
    released = 0
    host = platform.node()
    quote = jobs.adapter.quote_identifier
    stale_condition = None
    if orphan_timeout is not None:
        interval = jobs.adapter.interval_expr(orphan_timeout, "second")
        stale_condition = f"{quote('reserved_time')} < CURRENT_TIMESTAMP(3) - {interval}"
    for row in jobs.reserved.to_dicts():
        key = {name: row[name] for name in jobs.primary_key}
        dead_here = row["host"] == host and not _process_alive(int(row["pid"]))
        silent = stale_condition is not None and bool(jobs & key & stale_condition)
        if dead_here or silent:
            (jobs & key).delete_quick()
            jobs.insert1({**key, "status": "pending", "priority": row["priority"]})
            released += 1
            logger.info("released the reservation of %s (worker %s:%s %s)", key, row["host"], row["pid"],
                        "gone" if dead_here else "silent")
    return released
