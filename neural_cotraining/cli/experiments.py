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
from .verbosity import configure_output
from .output import labels_of, progress_line

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


def _populate_worker(schema: str, experiment_path: str, reserve_jobs: bool, orphan_timeout: float | None,
                     threads: int | None = None, opened=None) -> list:
    """One worker: populating the experiment's jobs with ``threads`` torch threads (None: torch's default);
    ``[(labels, message)]`` of the jobs that failed. In the command's own process it uses the experiment the command
    ``opened``; as a process of its own it opens it (its own connection) and exits with status 2 when any failed."""
    from ..pipeline.opened import open_experiment as open_once

    configure_output(format="%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s")
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    opened = opened or open_once(experiment_path, schema)
    tables, jobs = opened.tables, opened.keys()
    trained = tables.TrainedModel()
    result = trained.populate([job["key"] for job in jobs], reserve_jobs=reserve_jobs, suppress_errors=True,
                              orphan_timeout=orphan_timeout if reserve_jobs else None,
                              display_progress=sys.stderr.isatty())  # a bar over jobs at a terminal
    failed = []
    for key, message in result["error_list"]:
        job = next((job for job in jobs if all(job["key"][name] == key[name] for name in job["key"])), None)
        failed.append((labels_of({**job["labels"], "seed": key["seed"]}) if job else str(key), one_line(message)))
        logger.error("job %s failed: %s", *failed[-1])
    logger.info("worker done: %d trained, %d failed", result["success_count"], len(result["error_list"]))
    if failed and multiprocessing.parent_process() is not None:
        sys.exit(2)
    return failed


def populate_command(arguments: argparse.Namespace) -> int:
    opened = open_experiment(arguments, adding=arguments.add)
    schema = opened.schema
    reserve = arguments.reserve_jobs or arguments.workers > 1
    threads = arguments.threads
    if threads is None and arguments.workers > 1:  # the cores shared out, not every worker on all of them
        threads = max(1, (os.cpu_count() or 1) // arguments.workers)
    if arguments.workers == 1:
        failed = _populate_worker(schema, arguments.experiment, reserve, arguments.orphan_timeout, threads, opened)
        if not reserve:  # with reserve_jobs the jobs table keeps the errors and the status lists them
            for labels, message in failed:
                print(f"  failed {labels}: {message}")
        status = status_command(arguments, opened=opened)
        return 2 if failed else status
    else:
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(
                target=_populate_worker,
                args=(schema, arguments.experiment, True, arguments.orphan_timeout, threads),
                name=f"worker-{index}",
            )
            for index in range(arguments.workers)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        status = status_command(arguments, opened=opened)
        return 2 if any(worker.exitcode != 0 for worker in workers) else status


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
    populate.add_argument("--orphan-timeout", type=float, default=None,
                          help="re-pend reservations not renewed for this many seconds (dead workers on other hosts)")
    add_experiment_command(commands, "status", status_command, "jobs done / pending / reserved / failed, with error messages")
