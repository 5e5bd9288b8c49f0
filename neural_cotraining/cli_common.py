"""What the command line's commands share: opening an experiment file's schema, printing a table."""

from __future__ import annotations

import argparse
import sys

from .cli_errors import USER_ERRORS, CommandError

__all__ = ["open_experiment", "print_table"]


def open_experiment(arguments: argparse.Namespace, adding: bool = False):
    """(experiment, tables) for commands that take an experiment file; ``adding`` inserts the file's entries. The
    file is checked first (builders, config keys, hashes), so a bad file touches no database."""
    from .configs import load_experiment
    from .pipeline import activate
    from .pipeline.experiments import add_experiment, check_experiment

    experiment = load_experiment(arguments.experiment)
    schema = arguments.schema or experiment.schema
    if not schema:
        raise CommandError(f"{arguments.experiment} names no schema", hint="add 'schema:' to the file or pass --schema")
    try:
        check_experiment(experiment)
    except USER_ERRORS as error:
        raise CommandError(f"{arguments.experiment}: {error}") from error
    tables = activate(schema, hash=experiment.hash)
    if adding:
        add_experiment(tables, experiment)
    return experiment, tables


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def print_table(rows: list[dict], columns: list[str], stream=None) -> None:
    stream = stream or sys.stdout
    widths = {c: max(len(c), *(len(_format_value(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns), file=stream)
    for row in rows:
        print("  ".join(_format_value(row.get(c)).ljust(widths[c]) for c in columns), file=stream)
