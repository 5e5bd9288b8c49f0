"""``neural-cotraining results`` and ``plot``: trained models' metrics as a table and per-epoch curves."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from .common import add_experiment_command, open_experiment
from .errors import fail, writing_to
from .output import print_table
from .result_columns import add_robustness_means, compact_columns, matching_columns

__all__ = ["add_commands", "plot_command", "results_command"]


def results_command(arguments: argparse.Namespace) -> int:
    rows = open_experiment(arguments, reading=True).results()
    if not rows:
        print("no trained models yet")
        return 0
    rows = add_robustness_means(rows)
    columns = list(dict.fromkeys(c for row in rows for c in row))
    if arguments.metrics:
        shown = matching_columns(columns, arguments.metrics)
    else:
        shown = columns if arguments.all else compact_columns(columns)
    print_table(rows, shown)
    if arguments.csv:
        with writing_to(arguments.csv):
            Path(arguments.csv).parent.mkdir(parents=True, exist_ok=True)
            with open(arguments.csv, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
    if arguments.json:
        with writing_to(arguments.json):
            Path(arguments.json).parent.mkdir(parents=True, exist_ok=True)
            Path(arguments.json).write_text(json.dumps(rows, indent=2))
    return 0


def plot_command(arguments: argparse.Namespace) -> int:
    from ..pipeline.reports.results import epoch_table
    from ..pipeline.reports.status import live_epoch_table
    from .curves import plot_epoch_curves

    opened = open_experiment(arguments, reading=True)
    tables, keys = opened.tables, opened.keys()
    with writing_to(arguments.output):
        paths = plot_epoch_curves(epoch_table(tables, keys) + live_epoch_table(tables, keys), arguments.output)
    for path in paths:
        print(path)
    return 0 if paths else fail("no per-epoch results to plot yet")


def add_commands(commands) -> None:
    """``results`` and ``plot``."""
    results = add_experiment_command(commands, "results", results_command, "scores and final metrics per trained model",
                                     file_optional=True)
    results.add_argument("--csv", help="also write the table as CSV")
    results.add_argument("--json", help="also write the table as JSON")
    results.add_argument("--metrics", nargs="+", help="show only the columns containing any of these words")
    results.add_argument("--all", action="store_true", help="show every column (default: labels, score, best "
                                                           "epoch, test metrics, mean robustness accuracy)")
    plot = add_experiment_command(commands, "plot", plot_command, "per-epoch curves per task and split (PNG), running jobs' too",
                                  file_optional=True)
    plot.add_argument("--output", default="results/plots", help="folder for the PNGs")
