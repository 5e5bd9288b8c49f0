"""``neural-cotraining demo``: the demo experiment end to end through the other commands, then its summary."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .common import add_command
from .experiments import populate_command
from .results import plot_command, results_command

__all__ = ["add_commands"]


def _demo(arguments: argparse.Namespace) -> int:
    """The demo end to end through ``populate``, ``results`` and ``plot``, then its summary (``demo.write_summary``)."""
    from ..configs import load_experiment
    from ..demo.report import DEMO_EXPERIMENT, write_summary
    from ..pipeline import database_settings, ensure_server
    from ..pipeline.opened import open_experiment

    started = time.monotonic()
    settings = database_settings()
    print(f"database: {settings.describe_with_origin()}: {ensure_server(settings)}")
    path = str(arguments.experiment or DEMO_EXPERIMENT)
    experiment = load_experiment(path)
    opened = open_experiment(experiment, arguments.schema, adding=True)
    print(f"experiment {path}: {len(opened.keys())} jobs in schema {arguments.schema}")
    command = dict(experiment=path, schema=arguments.schema)
    status = populate_command(argparse.Namespace(
        **command, add=False, reserve_jobs=True, workers=arguments.workers, threads=arguments.threads,
        orphan_timeout=None))
    output = Path(arguments.output)
    results_command(argparse.Namespace(**command, csv=str(output / "results.csv"), json=str(output / "results.json"),
                                       metrics=["test/"], all=False))
    plot_command(argparse.Namespace(**command, output=str(output / "plots")))
    summary = write_summary(opened.results(), experiment, output)
    figure = ", robustness.png" if summary["robustness_figure"] else ""
    print(f"\nresults in {output}/ (results.csv, results.json, summary.json, plots/{figure}); "
          f"{time.monotonic() - started:.0f} s in all")
    return status


def add_commands(commands) -> None:
    """``demo``."""
    demo = add_command(commands, "demo", _demo, "run the demo experiment end to end and print its results",
                       example="neural-cotraining demo --workers 2")
    demo.add_argument("--schema", default="neural_cotraining_demo", help="database schema to use")
    demo.add_argument("--experiment", help="an edited copy of the demo's experiment file (default: the packaged one)")
    demo.add_argument("--workers", type=int, default=2, help="local worker processes")
    demo.add_argument("--threads", type=int, default=1,
                      help="torch threads per worker (the figures depend on it; the README's are from 1)")
    demo.add_argument("--output", default="results/demo", help="folder for the results table and plots")
