"""``neural-cotraining errors`` and ``retry``: an experiment's failed jobs, and clearing them to train again."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_experiment_command, open_experiment
from .errors import CommandError, one_line
from .output import labels_of

__all__ = ["add_commands"]


def _failed(arguments: argparse.Namespace):
    from ..pipeline.reports.failures import failed_jobs

    opened = open_experiment(arguments, reading=True)
    return opened.tables, opened.keys(), failed_jobs(opened.tables, opened.keys())


def _errors(arguments: argparse.Namespace) -> int:
    _, keys, failed = _failed(arguments)
    if not failed:
        print(f"no failed jobs among the {len(keys)}")
        return 0
    for failure in failed:
        print(f"{labels_of(failure['labels'])}: {one_line(failure['message'])}")
        if arguments.traceback:
            print(failure["traceback"].rstrip() + "\n")
    target = arguments.experiment or f"--schema {arguments.schema}"
    print(f"{len(failed)} of {len(keys)} jobs failed; `neural-cotraining retry {target} --all` "
          "clears them for the next populate or worker")
    return 2


def _labels_without_a_file(arguments: argparse.Namespace) -> None:
    """``retry --schema S broken seed=2``: with --schema given, a first word that is no experiment file (not a file,
    no YAML suffix) is the first label, not the file."""
    word = arguments.experiment
    if word is not None and arguments.schema and not Path(word).is_file() and not word.endswith((".yaml", ".yml")):
        arguments.experiment, arguments.labels = None, [word, *arguments.labels]


def _retry(arguments: argparse.Namespace) -> int:
    from ..pipeline.reports.failures import retry_jobs, select_jobs

    _labels_without_a_file(arguments)
    if bool(arguments.all) == bool(arguments.labels):
        raise CommandError("name the failed jobs to retry by their labels (e.g. `broken seed=2`), or give --all")
    tables, keys, failed = _failed(arguments)
    chosen = failed if arguments.all else select_jobs(failed, arguments.labels, keys)
    cleared = retry_jobs(tables, chosen)
    for failure in chosen:
        print(f"retry {labels_of(failure['labels'])}")
    print(f"cleared {cleared} failed job(s); the next populate or worker trains them again")
    return 0


def add_commands(commands) -> None:
    """``errors`` and ``retry``."""
    errors = add_experiment_command(
        commands, "errors", _errors, "each failed job with its labels and the error's last line",
        example="neural-cotraining errors configs/my_experiment.yaml --traceback", file_optional=True)
    errors.add_argument("--traceback", action="store_true", help="print each failed job's full traceback")
    retry = add_experiment_command(
        commands, "retry", _retry, "clear failed jobs so that the next populate or worker trains them again",
        example="neural-cotraining retry configs/my_experiment.yaml broken seed=2", file_optional=True)
    retry.add_argument("labels", nargs="*", help="retry the failed jobs carrying all these labels (an entry's "
                                                 "label, or seed=N)")
    retry.add_argument("--all", action="store_true", help="retry every failed job of the experiment")
