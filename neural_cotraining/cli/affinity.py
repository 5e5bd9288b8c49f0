"""``neural-cotraining affinity``: a task-affinity study from its experiment file."""

from __future__ import annotations

import argparse
import sys

from .common import add_experiment_command
from .errors import CommandError
from .output import print_table

__all__ = ["add_commands"]


def _affinity(arguments: argparse.Namespace) -> int:
    from ..registry import allow_builder_modules
    from ..affinity.plan import load_affinity_file
    from ..pipeline import activate
    from ..affinity.runs import run_affinity_study

    experiment, study, output = load_affinity_file(arguments.experiment)
    allow_builder_modules(*experiment.builder_modules)
    schema = arguments.schema or experiment.schema
    if not schema:
        raise CommandError(f"{arguments.experiment} names no schema", hint="add 'schema:' to the file or pass --schema")
    output = arguments.output or output or "results/affinity"
    result = run_affinity_study(activate(schema), study, output, reserve_jobs=arguments.reserve_jobs)
    value = study.heatmap_value
    spread = value.replace("_mean", "_std")
    print_table(result.pairs, ["task", "partner", "metric", "split", "n_seeds", "single_mean", "grouped_mean", value,
                               spread])
    for path in result.files.values():
        print(path)
    if result.missing:
        print(f"{len(result.missing)} of {len(result.jobs)} jobs have no trained model (failed, or running elsewhere); "
              "errors are logged above", file=sys.stderr)
        return 2
    return 0


def add_commands(commands) -> None:
    """``affinity``."""
    affinity = add_experiment_command(commands, "affinity", _affinity,
                                  "task-affinity study: train every single task and pair, summarise the gains")
    affinity.add_argument("--output", help="folder for the CSVs and heatmap (default: the file's affinity.output, "
                                           "else results/affinity)")
    affinity.add_argument("--reserve-jobs", action="store_true",
                          help="coordinate with other workers via the jobs table")
