"""``neural-cotraining worker`` and ``watch``: long-lived cluster workers and a live view of running jobs.

Without an experiment file a worker trains only the jobs that ``add`` recorded in the schema (every added
experiment's), with the builder modules recorded with them; ``watch`` shows those and the schema's other trained
models (``pipeline.experiments.schema_jobs``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from .common import WITHOUT_A_FILE, add_command, open_experiment
from .errors import CommandError
from .experiments import STOPPED, handed_back_line, labels_of_key
from .job_lines import job_lines
from .output import best_of, epoch_of, print_table

# the defaults of pipeline.jobs.reservations, spelled out here so that building the parser imports no datajoint
HEARTBEAT_INTERVAL, MIN_BEATS, ORPHAN_TIMEOUT = 10.0, 3, 120.0

__all__ = ["add_commands"]

logger = logging.getLogger("neural_cotraining")

LIVE_COLUMNS = ["dataset", "model", "trainer", "seed", "state", "epoch", "best score", "time/epoch", "left", "heartbeat",
                "worker"]


def _live_row(job: dict) -> dict:
    """A live job as ``watch`` shows it: epoch n/N, best score so far (epoch), time per epoch and left."""
    per_epoch, left = job.get("seconds_per_epoch"), job.get("seconds_left")
    return {**job, "epoch": epoch_of(job), "best score": best_of(job),
            "time/epoch": "" if per_epoch is None else f"{per_epoch:.1f} s",
            "left": "" if left is None else f"~{left:.0f} s"}


def _check_seconds(name: str, value: float | None, strict: bool = False) -> None:
    if value is not None and (value != value or value < 0 or (strict and value == 0)):
        raise ValueError(f"{name} must be {'more than' if strict else 'at least'} 0 seconds, not {value}")


class RecordedJobs:
    """A worker's jobs without a file: those the schema's added experiments recorded, read again whenever the worker
    looks for new jobs (experiments added meanwhile count), their recorded builder modules checked and allowed
    first. ``jobs``: the labelled jobs of the last reading; ``trained`` (a TrainedModel, if set) gets their labels
    for its progress lines."""

    def __init__(self, tables, schema: str):
        self.tables, self.schema, self.jobs = tables, schema, []
        self.trained = None

    def __call__(self) -> list[dict]:
        from ..pipeline.experiments import recorded_jobs

        jobs = recorded_jobs(self.tables)
        if jobs is None:
            raise CommandError(
                f"schema {self.schema} has no experiment added with `neural-cotraining add`, so a worker without a "
                "file does not know which of its jobs were asked for",
                hint="give the experiment file (`neural-cotraining worker FILE`), or `neural-cotraining add FILE` "
                     "first")
        self.tables.AddedExperiment().allow_recorded_modules()
        self.jobs = jobs
        if self.trained is not None:
            from ..pipeline.jobs.epoch_log import labels_by_job

            self.trained.job_labels = labels_by_job(jobs)
        return [job["key"] for job in jobs]


def _worker_jobs(arguments: argparse.Namespace):
    """(tables, the file's labelled job keys or None, a RecordedJobs without a file)."""
    from ..pipeline import activate

    if arguments.experiment is None:
        if not arguments.schema:
            raise CommandError("give an experiment file or --schema")
        # read first: a schema nothing was added to is refused before anything is created in it
        RecordedJobs(activate(arguments.schema, create=False), arguments.schema)()
        tables = activate(arguments.schema)
        return tables, None, RecordedJobs(tables, arguments.schema)
    opened = open_experiment(arguments)
    return opened.tables, opened.keys(), None


def _worker(arguments: argparse.Namespace) -> int:
    _check_seconds("--idle-exit", arguments.idle_exit)
    _check_seconds("--poll", arguments.poll, strict=True)
    _check_seconds("--heartbeat", arguments.heartbeat, strict=True)
    from ..pipeline.jobs.long_lived_worker import LongLivedWorker
    from ..pipeline.jobs.reservations import check_orphan_timeout

    if arguments.orphan_timeout is not None:
        check_orphan_timeout(arguments.orphan_timeout, arguments.heartbeat)
    from ..pipeline.jobs.epoch_log import labels_by_job
    from ..pipeline.jobs.stopping import StopRequest

    tables, keys, recorded = _worker_jobs(arguments)
    trained = tables.TrainedModel()
    if keys is not None:  # progress lines labelled as the file labels the jobs
        trained.job_labels = labels_by_job(keys)
    else:  # as the adds recorded them, read again with the jobs
        recorded.trained = trained
    worker = LongLivedWorker(
        trained,
        restriction=None if keys is None else [job["key"] for job in keys],
        read_restriction=recorded,
        idle_exit=arguments.idle_exit,
        poll_interval=arguments.poll,
        orphan_timeout=arguments.orphan_timeout,
        heartbeat_interval=arguments.heartbeat,
        stop=StopRequest(at_once=arguments.stop_at_once),
    )
    with job_lines():
        summary = worker.run()
    print(f"worker: {summary.trained} trained, {len(summary.failed)} failed, {len(summary.handed_back)} handed back"
          + (" (stopped by a signal)" if summary.stopped else ""))
    keys = recorded.jobs if recorded is not None else keys
    if summary.stopped:
        print(handed_back_line([labels_of_key(keys, key) for key in summary.handed_back],
                               [labels_of_key(keys, key) for key in summary.stranded], worker.orphan_timeout),
              file=sys.stderr)
        return STOPPED
    return 2 if summary.failed else 0


def _watch(arguments: argparse.Namespace) -> int:
    _check_seconds("--interval", arguments.interval, strict=True)
    from ..pipeline.reports.status import job_status

    opened = open_experiment(arguments, reading=True)
    tables, keys = opened.tables, opened.keys()
    refreshes = 0
    clear = sys.stdout.isatty()
    try:
        while arguments.times is None or refreshes < arguments.times:
            if refreshes:
                time.sleep(arguments.interval)
            status = job_status(tables, keys)
            if clear:
                print("\033[H\033[J", end="")
            print(f"{time.strftime('%H:%M:%S')}  jobs: {status['total']} | done {status['done']} | "
                  f"running/reserved {status['reserved']} | pending {status['pending']} | errors {status['error']}")
            if status["live"]:
                print_table([_live_row(job) for job in status["live"]], LIVE_COLUMNS)
            else:
                print("no job is training")
            sys.stdout.flush()
            refreshes += 1
    except KeyboardInterrupt:
        pass
    return 0


def add_commands(commands) -> None:
    """Add ``worker`` and ``watch`` to the ``neural-cotraining`` subcommands."""

    def command(name: str, handler, help_text: str, example: str, without_a_file: str) -> argparse.ArgumentParser:
        parser = add_command(commands, name, handler, help_text, example)
        parser.add_argument("experiment", nargs="?", help=f"experiment file (YAML); {without_a_file}")
        parser.add_argument("--schema", help="database schema (default: the file's 'schema')")
        return parser

    worker = command("worker", _worker, "a long-lived worker: train jobs as they come, stop cleanly on SIGTERM",
                     "neural-cotraining worker configs/my_experiment.yaml --idle-exit 600",
                     "none: the jobs `add` recorded in --schema")
    worker.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                        help="exit after this many seconds without a job (default: wait for work forever)")
    worker.add_argument("--poll", type=float, default=5.0, metavar="SECONDS",
                        help="seconds between looks at an empty queue")
    worker.add_argument("--stop-at-once", action="store_true",
                        help="on SIGTERM/SIGINT stop at once (the job resumes from its newest checkpoint) instead of "
                             "at the end of the epoch in progress")
    worker.add_argument("--orphan-timeout", type=float, default=None, metavar="SECONDS",
                        help=f"re-pend reservations whose heartbeat is older than this (dead workers on other hosts, "
                             f"reused pids; default {ORPHAN_TIMEOUT:g}; at least {MIN_BEATS} heartbeats)")
    worker.add_argument("--heartbeat", type=float, default=HEARTBEAT_INTERVAL, metavar="SECONDS",
                        help="seconds between the renewals of this worker's reservation (a thread of its own)")
    watch = command("watch", _watch, "a live table of the running jobs: epoch, best score, time left, worker",
                    "neural-cotraining watch configs/my_experiment.yaml --interval 10", WITHOUT_A_FILE)
    watch.add_argument("--interval", type=float, default=5.0, metavar="SECONDS", help="seconds between refreshes")
    watch.add_argument("--times", type=int, default=None, help="refresh this many times, then exit (default: "
                                                              "until Ctrl-C)")
