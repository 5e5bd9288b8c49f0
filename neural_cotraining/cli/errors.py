"""How the ``neural-cotraining`` command reports a user's mistake and keeps stdout for results.

A user error (a bad experiment file, a builder or config that cannot be used, a database that does not answer, a
schema that is not ours) is printed as one line on stderr, ``error: <file>: <entry>: <problem>``, optionally
followed by one ``hint:`` line, and the command exits with status 1. Logs, DataJoint's connection messages included,
go to stderr too, so stdout holds only results (JSON lines, tables, paths).
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

from ..registry import BuilderError
from ..configs import ExperimentFileError
from ..hashing import UnhashableConfigError

__all__ = ["CommandError", "USER_ERRORS", "fail", "report", "one_line", "logs_to_stderr", "writing_to"]

# DataJoint logs to stdout unless told otherwise; it reads this when it is first imported
_DATAJOINT_LOG_STREAM = "DJ_LOG_STREAM"


class CommandError(Exception):
    """A user error found by the command itself; ``hint`` says what to do about it."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


# UnhashableConfigError is a TypeError: listed on its own so that other TypeErrors (bugs) still show a traceback
USER_ERRORS = (CommandError, ExperimentFileError, BuilderError, UnhashableConfigError, ValueError, ConnectionError,
               RuntimeError)


@contextmanager
def writing_to(path):
    """Writes to ``path`` (a file or folder the user named) whose failure is the user's to fix: one line naming it."""
    try:
        yield
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from error


def one_line(text: str) -> str:
    """``text`` on one line: its lines joined, runs of whitespace collapsed."""
    return " ".join(str(text).split())


def report(error: BaseException, stream=None) -> int:
    """Print ``error`` as one line (and its hint, if any) on stderr; the exit status, 1."""
    stream = stream or sys.stderr
    print(f"error: {one_line(error)}", file=stream)
    hint = getattr(error, "hint", None)
    if hint:
        print(f"hint: {one_line(hint)}", file=stream)
    return 1


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the time of writing (it may be replaced after the handler is set)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def logs_to_stderr() -> None:
    """Send DataJoint's log lines ("connected to ...") to stderr, whether or not it is imported yet."""
    os.environ.setdefault(_DATAJOINT_LOG_STREAM, "stderr")
    for handler in logging.getLogger("datajoint").handlers:
        if type(handler) is logging.StreamHandler and not isinstance(handler.stream, _CurrentStderr):
            # a StreamHandler exactly (a FileHandler stays); assigned, not setStream(), which flushes the old stream
            handler.stream = _CurrentStderr()


def fail(message: str, hint: str | None = None) -> int:
    """Report a user error (one line, optionally a hint) and return the command's exit status."""
    return report(CommandError(message, hint))
