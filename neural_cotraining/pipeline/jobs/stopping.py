"""Stopping a training job on request (SIGTERM / SIGINT from a scheduler or a user) without losing it.

A :class:`StopRequest` is set by a signal handler; the pipeline's training callback sees it and, at the end of the
epoch in progress, saves a checkpoint and raises :class:`TrainingStopped`, so the worker hands the job back to the
queue (another worker resumes it from that checkpoint). With ``at_once`` (or on a second signal) the callback raises
at the next optimiser step instead; the epoch in progress is then redone by whoever resumes, from the newest
checkpoint (every epoch is reseeded from (seed, epoch), so the result is the same either way).
"""

from __future__ import annotations

import contextlib
import logging
import signal

__all__ = ["StopRequest", "TrainingStopped"]

logger = logging.getLogger(__name__)


class TrainingStopped(Exception):
    """Raised out of a trainer when its worker was asked to stop; the job goes back to the queue, not to errors."""


class StopRequest:
    """Whether this process was asked to stop, and how soon."""

    def __init__(self, at_once: bool = False):
        self.at_once = bool(at_once)
        self.requested = False
        self.immediately = False

    def request(self, immediately: bool = False) -> None:
        # a second request (e.g. a second Ctrl-C) means: do not wait for the epoch to end
        self.immediately = immediately or self.at_once or self.requested
        self.requested = True

    def _handle(self, signum, _frame) -> None:
        self.request()
        when = "at once" if self.immediately else "at the end of the current epoch"
        logger.warning("%s received: stopping %s (the job goes back to the queue)", signal.Signals(signum).name, when)

    @contextlib.contextmanager
    def handling(self, signals=(signal.SIGTERM, signal.SIGINT)):
        """Route ``signals`` to this request while the block runs (main thread only); restores the old handlers."""
        previous = {number: signal.signal(number, self._handle) for number in signals}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
