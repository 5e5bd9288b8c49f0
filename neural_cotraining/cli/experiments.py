"""``neural-cotraining add``, ``populate`` and ``status``: an experiment file's entries, training and queue."""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys

from .common import add_experiment_command, checked_experiment, open_experiment
from .errors import one_line
from .job_lines import job_lines
from .output import labels_of, progress_line
from .verbosity import configure_output

__all__ = ["add_commands", "populate_command", "status_command"]

logger = logging.getLogger("neural_cotraining")


def _add(arguments: argparse.Namespace) -> int:
    from ..pipeline.experiments import experiment_keys

    if arguments.dry_run:  # the file checked as add checks it; no database touched
        experiment = checked_experiment(arguments)
        jobs = experiment_keys(None, experiment)
    else:
        jobs = open_experiment(arguments, adding=True).keys()
    for job in jobs:
        print(json.dumps({**job["labels"], **job["key"]}))
    if arguments.dry_run:
        logger.info("%d jobs; nothing written (--dry-run)", len(jobs))
    return 0


#: a worker process's exit status when a signal stopped it (its jobs were handed back), as a shell reports SIGINT
STOPPED = 130
WORKER_FORMAT = "%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s"


def labels_of_key(jobs: list[dict] | None, key: dict) -> str:
    """The labels of ``key``'s job among the labelled ``jobs`` (without: the key itself)."""
    job = next((job for job in jobs or [] if all(job["key"][name] == key[name] for name in job["key"])), None)
    return labels_of({**job["labels"], "seed": key["seed"]}) if job else str(key)


def _populate_worker(schema: str, experiment_path: str, reserve_jobs: bool, orphan_timeout: float | None,
                     threads: int | None = None, shared_stop=None, reports=None,
                     opened=None, log_queue=None) -> tuple[list, list, list, bool]:
    """One worker, training the experiment's jobs with ``threads`` torch threads (None: torch's default) until they
    are done or a signal stops it (the running job checkpoints and is handed back); ``([(labels, message)] failed,
    [labels] handed back, [labels] left reserved (the database did not answer), stopped)``. In the command's own
    process it uses the experiment the command ``opened``; as a process of its own (``reports``, a queue, given) it
    opens it (its own connection), puts that tuple into ``reports`` and exits with :data:`STOPPED` when stopped, 2
    when any job failed; its log records go to ``log_queue`` where the command draws them on a terminal
    (:mod:`.job_lines`)."""
    from ..pipeline.jobs.epoch_log import labels_by_job
    from ..pipeline.jobs.long_lived_worker import LongLivedWorker
    from ..pipeline.jobs.stopping import StopRequest
    from ..pipeline.opened import open_experiment as open_once

    if reports is not None:  # a process of its own
        configure_output(format=WORKER_FORMAT, parent_queue=log_queue)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    opened = opened or open_once(experiment_path, schema)
    tables, jobs = opened.tables, opened.keys()
    # a worker process follows its parent's stop count and does not announce the signals it gets itself
    stop = StopRequest(shared=shared_stop, announce=shared_stop is None)
    trained = tables.TrainedModel()
    trained.job_labels = labels_by_job(jobs)  # progress lines labelled as the file labels the jobs
    summary = LongLivedWorker(
        trained, restriction=[job["key"] for job in jobs], idle_exit=0, stop=stop,
        orphan_timeout=orphan_timeout if reserve_jobs else None, reserve_jobs=reserve_jobs,
    ).run()
    failed = [(labels_of_key(jobs, key), one_line(message)) for key, message in summary.failed]  # logged already
    handed_back = [labels_of_key(jobs, key) for key in summary.handed_back]
    stranded = [labels_of_key(jobs, key) for key in summary.stranded]
    if reports is None:
        return failed, handed_back, stranded, summary.stopped
    reports.put((failed, handed_back, stranded, summary.stopped))
    sys.exit(STOPPED if summary.stopped else 2 if failed else 0)


def handed_back_line(handed_back: list[str], stranded: list[str] = (), orphan_timeout: float | None = None) -> str:
    """The one line a stopped command ends with: the jobs handed back, and those the database did not answer for."""
    def count(labels) -> str:
        return f"{len(labels)} {'job' if len(labels) == 1 else 'jobs'}"

    parts = []
    if handed_back:
        parts.append(f"{count(handed_back)} handed back to the queue, to resume from the newest checkpoint: "
                     + "; ".join(handed_back))
    if stranded:
        from ..pipeline.connection_timeouts import configured_timeouts
        from ..pipeline.jobs.reservations import ORPHAN_TIMEOUT

        orphan = ORPHAN_TIMEOUT if orphan_timeout is None else orphan_timeout
        parts.append(f"{count(stranded)} could not be handed back, the database did not answer a new connection "
                     f"within {configured_timeouts().connect:g} s: " + "; ".join(stranded)
                     + f"; the orphan rule releases {'it' if len(stranded) == 1 else 'them'} "
                     f"{orphan:g} s after the last heartbeat (a worker on this host: at once, this process having "
                     "ended)")
    return "interrupted: " + (" | ".join(parts) if parts else "no job was running; nothing handed back")


def _run_worker_processes(arguments: argparse.Namespace, schema: str, threads: int | None,
                          display=None) -> tuple[list, list, list, bool]:
    """``--workers N`` processes; a signal to this process (or to its process group, as Ctrl-C at a terminal
    sends) stops them all the same way; on a terminal (``display``) they send their log records here to be drawn.
    (failed, handed back, left reserved, stopped)."""
    from ..pipeline.jobs.stopping import StopRequest, ignoring_signals

    context = multiprocessing.get_context("spawn")
    shared_stop, reports = context.Value("i", 0), context.SimpleQueue()
    log_queue = display.queue_for_workers(context) if display is not None else None
    workers = [
        context.Process(
            target=_populate_worker,
            args=(schema, arguments.experiment, True, arguments.orphan_timeout, threads, shared_stop, reports, None,
                  log_queue),
            name=f"worker-{index}",
        )
        for index in range(arguments.workers)
    ]
    # started with SIGINT/SIGTERM ignored (inherited through exec), so a Ctrl-C while a worker imports is no
    # traceback: it counts in this process, and each worker installs its own handlers once it runs
    with ignoring_signals():
        for worker in workers:
            worker.start()
    failed, handed_back, stranded, stopped = [], [], [], False
    stop = StopRequest(shared=shared_stop)
    with stop.handling():
        while any(worker.is_alive() for worker in workers) or not reports.empty():
            while not reports.empty():
                worker_failed, worker_handed_back, worker_stranded, worker_stopped = reports.get()
                failed += worker_failed
                handed_back += worker_handed_back
                stranded += worker_stranded
                stopped |= worker_stopped
            for worker in workers:
                worker.join(timeout=0.1)
    lost = [worker for worker in workers if worker.exitcode not in (0, 2, STOPPED)]
    for worker in lost:
        failed.append((worker.name, f"the worker process ended with status {worker.exitcode}"))
    return failed, handed_back, stranded, stopped or stop.requested


def populate_command(arguments: argparse.Namespace) -> int:
    if arguments.orphan_timeout is not None:  # one line, before anything connects
        from ..pipeline.jobs.reservations import check_orphan_timeout

        check_orphan_timeout(arguments.orphan_timeout)
    opened = open_experiment(arguments, adding=arguments.add)
    schema = opened.schema
    reserve = arguments.reserve_jobs or arguments.workers > 1
    threads = arguments.threads
    if threads is None and arguments.workers > 1:  # the cores shared out, not every worker on all of them
        threads = max(1, (os.cpu_count() or 1) // arguments.workers)
    with job_lines() as display:
        if arguments.workers == 1:
            failed, handed_back, stranded, stopped = _populate_worker(schema, arguments.experiment, reserve,
                                                                      arguments.orphan_timeout, threads, opened=opened)
        else:
            failed, handed_back, stranded, stopped = _run_worker_processes(arguments, schema, threads, display)
    if stopped:
        print(handed_back_line(handed_back, stranded, arguments.orphan_timeout), file=sys.stderr)
        return STOPPED
    if not reserve:  # with reserve_jobs the jobs table keeps the errors and the status lists them
        for labels, message in failed:
            print(f"  failed {labels}: {message}")
    status = status_command(arguments, opened=opened)
    return 2 if failed else status


def status_command(arguments: argparse.Namespace, opened=None) -> int:
    """``status``; ``opened``: the experiment a command (populate) opened already."""
    status = (opened or open_experiment(arguments, reading=True)).status()
    print(
        f"jobs: {status['total']} | done {status['done']} | pending {status['pending']} | "
        f"reserved {status['reserved']} | errors {status['error']} | not started {status['not_started']}"
    )
    for error in status["errors"]:
        print(f"  error in {labels_of(error)}: {one_line(error['error'])}")
    for job in status["checkpointed"]:
        print(f"  checkpoint of {labels_of(job)} at epoch {job['checkpoint_epoch']}")
    for job in status["live"]:
        print(f"  {job['state']}: {progress_line(job)}  (last heartbeat {job['heartbeat']}, worker {job['worker']})")
    return 0 if status["error"] == 0 else 2


def add_commands(commands) -> None:
    """``add``, ``populate`` and ``status``."""
    add = add_experiment_command(commands, "add", _add,
                                 "insert an experiment file's entries and seeds; print the job keys",
                                 example="neural-cotraining add configs/my_experiment.yaml --dry-run")
    add.add_argument("--dry-run", action="store_true",
                     help="check the file and print the jobs it would create; write nothing")
    populate = add_experiment_command(commands, "populate", populate_command, "train the experiment's missing models")
    populate.add_argument("--reserve-jobs", action="store_true", help="coordinate with other workers via the jobs table")
    populate.add_argument("--add", action="store_true", help="insert the file's entries first (as `add` does)")
    populate.add_argument("--workers", type=int, default=1, help="local worker processes (implies --reserve-jobs)")
    populate.add_argument("--threads", type=int, default=None,
                          help="torch threads per worker (default: the cores shared among the workers; one worker: "
                               "torch's default)")
    populate.add_argument("--orphan-timeout", type=float, default=None, metavar="SECONDS",
                          help="re-pend reservations whose heartbeat is older than this (dead workers on other hosts, "
                               "reused pids; default 120, at least 3 heartbeats of 10 s)")
    add_experiment_command(commands, "status", status_command, "jobs done / pending / reserved / failed, with error messages",
                           file_optional=True)
