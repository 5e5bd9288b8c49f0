"""What the command line's commands share: an experiment-file subcommand, opening the file's schema."""

from __future__ import annotations

import argparse

from .errors import USER_ERRORS, CommandError

__all__ = ["add_experiment_command", "open_experiment"]


def open_experiment(arguments: argparse.Namespace, adding: bool = False):
    """(experiment, tables) for commands that take an experiment file; ``adding`` inserts the file's entries. The
    file is checked first (builders, config keys, hashes), so a bad file touches no database."""
    from ..configs import load_experiment
    from ..pipeline import activate
    from ..pipeline.experiments import add_experiment, check_experiment

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


def add_experiment_command(commands, name: str, handler, help_text: str) -> argparse.ArgumentParser:
    """A subcommand that takes an experiment file and ``--schema``."""
    command = commands.add_parser(name, help=help_text)
    command.add_argument("experiment", help="experiment file (YAML)")
    command.add_argument("--schema", help="database schema (default: the file's 'schema')")
    command.set_defaults(handler=handler)
    return command
