"""Stopping a training job on request (SIGTERM / SIGINT from a scheduler or a user) without losing it.

A :class:`StopRequest` is set by a signal handler; the pipeline's training callback sees it and, at the end of the
epoch in progress, saves a checkpoint and raises :class:`TrainingStopped`, so the worker hands the job back to the
queue (another worker resumes it from that checkpoint). With ``at_once`` (or on a second signal) the callback raises
at the next optimiser step instead; the epoch in progress is then redone by whoever resumes, from the newest
checkpoint (every epoch is reseeded from (seed, epoch), so the result is the same either way).

A stopping job whose database write finds the connection lost (a frozen path) ends at once with
:class:`StoppedWithoutConnection`: it writes nothing more over that connection, and the worker hands the job back
over a new one (see ``long_lived_worker``).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

__all__ = ["StopRequest", "TrainingStopped", "StoppedWithoutConnection", "ignoring_signals", "quiet_stopped_jobs"]

logger = logging.getLogger(__name__)


class TrainingStopped(Exception):
    """Raised out of a trainer when its worker was asked to stop; the job goes back to the queue, not to errors."""


class StoppedWithoutConnection(TrainingStopped):
    """A job asked to stop lost its database connection: no checkpoint or progress of it is written any more; the
    worker hands it back over a new connection, or leaves it to the orphan rule when none answers."""


class StopRequest:
    """Whether this process was asked to stop, and how soon.

    ``shared`` (a ``multiprocessing.Value('i')``) is a request count shared with the process that started this one
    (``populate --workers N``): the parent counts the signals it gets and every worker follows. The count that
    holds is the larger of the shared and this process's own, so a Ctrl-C that reaches both the parent and its
    workers (a terminal signals its whole foreground process group) counts once, not twice.
    """

    def __init__(self, at_once: bool = False, shared=None, announce: bool = True):
        self.at_once = bool(at_once)
        self.announce = announce  # log each signal as a warning (a worker that follows its parent's count: not)
        self._shared = shared
        self._own = 0

    @property
    def count(self) -> int:
        return max(self._own, self._shared.value if self._shared is not None else 0)

    @property
    def requested(self) -> bool:
        return self.count >= 1

    @property
    def immediately(self) -> bool:
        # a second request (e.g. a second Ctrl-C) means: do not wait for the epoch to end
        return self.count >= 2 or (self.at_once and self.requested)

    def request(self, immediately: bool = False) -> None:
        # this process's own count: a signal that reached both this process and its parent counts once
        self._own = max(self._own + 1, 2 if immediately else 1)
        if self._shared is not None:
            with self._shared.get_lock():
                self._shared.value = max(self._shared.value, self._own)

    def _handle(self, signum, _frame) -> None:
        self.request()
        when = "at once" if self.immediately else "at the end of the current epoch"
        logger.log(logging.WARNING if self.announce else logging.DEBUG,
                   "%s received: stopping %s (the job goes back to the queue)", signal.Signals(signum).name, when)

    @contextlib.contextmanager
    def handling(self, signals=(signal.SIGTERM, signal.SIGINT)):
        """Route ``signals`` to this request while the block runs (the main thread only: elsewhere, e.g. a
        notebook's worker thread, signals stay as they are); restores the old handlers."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {number: signal.signal(number, self._handle) for number in signals}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


class _DropStoppedJobErrors(logging.Filter):
    """DataJoint's single-job step logs every exception out of a make as an error; a stopped job is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not isinstance(record.msg, TrainingStopped)


@contextlib.contextmanager
def quiet_stopped_jobs():
    """While the block runs, a job stopped on request is not logged as an error by DataJoint."""
    datajoint_logger, dropped = logging.getLogger("datajoint"), _DropStoppedJobErrors()
    datajoint_logger.addFilter(dropped)
    try:
        yield
    finally:
        datajoint_logger.removeFilter(dropped)


@contextlib.contextmanager
def ignoring_signals(signals=(signal.SIGTERM, signal.SIGINT)):
    """Ignore ``signals`` while the block runs; processes started meanwhile inherit the ignoring through exec (and
    Python keeps an ignored SIGINT ignored), until they install handlers of their own."""
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
