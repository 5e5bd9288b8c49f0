"""``neural-cotraining search FILE``: run (or resume) the hyperparameter search an experiment file describes.

Registered by :func:`add_commands` from ``cli.main.build_parser``. The search's trials are ordinary jobs, so
``neural-cotraining worker --schema ...`` processes elsewhere train them alongside (with ``parallel_trials`` > 1),
and running the command again after a crash carries on from what the database holds.
"""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_experiment_command
from .errors import CommandError
from .output import print_table

__all__ = ["add_commands"]


def _search(arguments: argparse.Namespace) -> int:
    from ..pipeline import activate
    from ..search.search_file import load_search_file, make_search

    search_file = load_search_file(arguments.experiment)
    schema = arguments.schema or search_file.schema
    if not schema:
        raise CommandError(f"{arguments.experiment} names no schema", hint="add 'schema:' to the file or pass --schema")
    if arguments.trials is not None and arguments.trials < 1:
        raise CommandError(f"--trials must be at least 1, not {arguments.trials}")
    tables = activate(schema, hash=search_file.hash)
    search = make_search(search_file, tables.TrainedModel, total_trials=arguments.trials)
    try:
        best, values, trials, _ = search.run()
    except KeyboardInterrupt as interrupt:  # not a failure: what was done is in the database
        print(f"search: {interrupt or 'stopped by a signal'}", file=sys.stderr)
        return 0
    rows = [{"trial": trial.trial_id, "state": trial.state, "score": trial.score,
             "params": json.dumps(trial.params, sort_keys=True)} for trial in trials]
    print_table(rows, ["trial", "state", "score", "params"])
    print(f"best score {next(iter(values[0].values())):.4f}: {json.dumps(best, sort_keys=True)}")
    return 0


def add_commands(commands) -> None:
    """Add ``search`` to the ``neural-cotraining`` subcommands."""
    search = add_experiment_command(commands, "search", _search,
                                    "run or resume the hyperparameter search of an experiment file",
                                    example="neural-cotraining search configs/my_search.yaml --trials 20",
                                    description="The file's 'search:' section names the builders, their fixed "
                                                "configs and the parameters to search (docs/search.md).")
    search.add_argument("--trials", type=int, default=None, help="the search's total trials (default: the file's)")
