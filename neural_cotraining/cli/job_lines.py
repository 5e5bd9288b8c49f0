"""Training progress on a terminal: one line per running job, rewritten in place, below everything else.

While jobs train (``populate``, ``worker``) and stderr is a terminal, :func:`job_lines` hands the command's log
records to :class:`JobLines`: a job's progress record (``pipeline.jobs.epoch_log``, marked ``progress``) replaces
that job's line (``\\r``, cursor up, erase, redraw: a few lines at the bottom of the terminal), its final record is
printed for good and frees the line, and every other record or line of stderr text is printed above the job lines,
never into one. Workers of ``populate --workers N`` send their records and stderr text to the command's process
through a queue (:func:`send_to_parent`), which draws them all. Elsewhere (a file, a pipe, CI) nothing changes: one
log line per epoch. The stderr seen by the training code is not a terminal meanwhile, so the co-trainer draws no
progress bars of its own into the job lines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import sys
import threading
from typing import Callable, Iterator

__all__ = ["JobLines", "job_lines", "send_to_parent"]


class JobLines(logging.Handler):
    """Draws the running jobs' lines at the bottom of the terminal ``stream``; see the module docstring."""

    def __init__(self, stream, formatter: logging.Formatter | None = None):
        super().__init__()
        self.setFormatter(formatter or logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._stream = stream
        self._lines: dict[str, str] = {}  # job -> its line, in the order the jobs started
        self._drawn = 0  # terminal rows the job lines take now

    def emit(self, record: logging.LogRecord) -> None:
        try:
            progress = getattr(record, "progress", None)
            if progress is None:
                self._write_above(self.format(record))
            elif progress.get("final"):
                self._lines.pop(progress["job"], None)
                self._write_above(record.getMessage())
            else:
                self._lines[progress["job"]] = record.getMessage()
                self._write_above(None)
        except Exception:
            self.handleError(record)

    def text(self, line: str) -> None:
        """A line something else wrote to stderr: above the job lines."""
        with self.lock:
            self._write_above(line)

    def finish(self) -> None:
        """Leave the job lines drawn as they are (jobs that never ended) and stop tracking them."""
        with self.lock:
            self._lines.clear()
            self._drawn = 0

    def _write_above(self, text: str | None) -> None:
        erase = f"\r\x1b[{self._drawn}A\x1b[J" if self._drawn else "\r\x1b[J"
        width = self._width()
        lines = [line if len(line) < width else line[: width - 4] + "..." for line in self._lines.values()]
        self._stream.write(erase + ("" if text is None else text + "\n") + "".join(f"{line}\n" for line in lines))
        self._stream.flush()
        self._drawn = len(lines)

    def _width(self) -> int:
        # a line as wide as the terminal would wrap, and the cursor would not find the job lines' top again
        try:
            return os.get_terminal_size(self._stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 80


class _LinesTo(io.TextIOBase):
    """A stderr that hands each complete line to ``sink``; not a terminal."""

    def __init__(self, sink: Callable[[str], None]):
        self._sink = sink
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._sink(line)
        return len(text)

    def close_line(self) -> None:
        if self._partial:
            self._sink(self._partial)
            self._partial = ""

    def isatty(self) -> bool:
        return False


class _Display:
    """The active terminal display: the handler, and (``populate --workers N``) the queue workers send to."""

    def __init__(self, lines: JobLines):
        self.lines = lines
        self._queue = None
        self._listener: threading.Thread | None = None

    def queue_for_workers(self, context):
        """A ``context.Queue()`` for worker processes (:func:`send_to_parent`), drawn from a thread of this one."""
        if self._queue is None:
            self._queue = context.Queue()
            self._listener = threading.Thread(target=self._listen, name="job-lines", daemon=True)
            self._listener.start()
        return self._queue

    def _listen(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, logging.LogRecord):
                self.lines.handle(item)
            else:
                self.lines.text(item)

    def close(self) -> None:
        if self._queue is not None:
            self._queue.put(None)  # after every worker's records: the workers have ended
            self._listener.join(timeout=10)


@contextlib.contextmanager
def job_lines(enabled: bool = True) -> Iterator[_Display | None]:
    """While the block runs, draw training progress as job lines when stderr is a terminal and progress is logged
    (not ``-q``); yields the display (None: plain log lines)."""
    stream = sys.stderr
    root = logging.getLogger()
    if not (enabled and stream.isatty() and root.isEnabledFor(logging.INFO)):
        yield None
        return
    # the handlers that print to this terminal step aside; the job lines take their formatter and filters
    replaced = [handler for handler in root.handlers
                if type(handler) is logging.StreamHandler and handler.stream is stream]
    lines = JobLines(stream, replaced[0].formatter if replaced else None)
    for handler in replaced:
        for one in handler.filters:
            lines.addFilter(one)
        root.removeHandler(handler)
    root.addHandler(lines)
    sys.stderr = forwarder = _LinesTo(lines.text)
    display = _Display(lines)
    try:
        yield display
    finally:
        display.close()
        forwarder.close_line()
        sys.stderr = stream
        root.removeHandler(lines)
        for handler in replaced:
            root.addHandler(handler)
        lines.finish()


def send_to_parent(queue) -> logging.Handler:
    """In a worker process whose parent draws the job lines: its log records and its stderr text go to ``queue``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = logging.handlers.QueueHandler(queue)
    root.addHandler(handler)
    sys.stderr = _LinesTo(queue.put)
    return handler
