"""``neural-cotraining worker`` and ``watch``: long-lived cluster workers and a live view of running jobs.

"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from .common import add_command, open_experiment
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


def _tables_and_keys(arguments: argparse.Namespace, reading: bool = False):
    """(tables, the experiment's labelled job keys, or None without a file: every job of --schema); ``reading``
    creates nothing."""
    from ..pipeline import activate

    if arguments.experiment is None:
        if not arguments.schema:
            raise ValueError("give an experiment file or --schema")
        return activate(arguments.schema, create=not reading), None
    opened = open_experiment(arguments, reading=reading)
    return opened.tables, opened.keys()


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

    tables, keys = _tables_and_keys(arguments)
    trained = tables.TrainedModel()
    if keys is not None:  # progress lines labelled as the file labels the jobs
        trained.job_labels = labels_by_job(keys)
    worker = LongLivedWorker(
        trained,
        restriction=None if keys is None else [job["key"] for job in keys],
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
    if summary.stopped:
        print(handed_back_line([labels_of_key(keys, key) for key in summary.handed_back]), file=sys.stderr)
        return STOPPED
    return 2 if summary.failed else 0


def _watch(arguments: argparse.Namespace) -> int:
    _check_seconds("--interval", arguments.interval, strict=True)
    from ..pipeline.experiments import schema_keys
    from ..pipeline.reports.status import job_status

    tables, keys = _tables_and_keys(arguments, reading=True)
    keys = schema_keys(tables) if keys is None else keys
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

    def command(name: str, handler, help_text: str, example: str) -> argparse.ArgumentParser:
        parser = add_command(commands, name, handler, help_text, example)
        parser.add_argument("experiment", nargs="?", help="experiment file (YAML); none: every job of --schema")
        parser.add_argument("--schema", help="database schema (default: the file's 'schema')")
        return parser

    worker = command("worker", _worker, "a long-lived worker: train jobs as they come, stop cleanly on SIGTERM",
                     "neural-cotraining worker configs/my_experiment.yaml --idle-exit 600")
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
                    "neural-cotraining watch configs/my_experiment.yaml --interval 10")
    watch.add_argument("--interval", type=float, default=5.0, metavar="SECONDS", help="seconds between refreshes")
    watch.add_argument("--times", type=int, default=None, help="refresh this many times, then exit (default: "
                                                              "until Ctrl-C)")
