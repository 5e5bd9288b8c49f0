"""What the command line's commands share: an experiment-file subcommand, opening the file's schema."""

from __future__ import annotations

import argparse

from .errors import USER_ERRORS, CommandError

__all__ = ["WITHOUT_A_FILE", "add_command", "add_experiment_command", "checked_experiment", "open_experiment"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option's help (where there is one to show); the description and example printed as
    written."""

    def _get_help_string(self, action):
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def checked_experiment(arguments: argparse.Namespace):
    """The experiment file of ``arguments``, checked (builders, config keys and values, hashes): touches no
    database. Its schema is ``--schema`` where given."""
    from ..configs import load_experiment
    from ..pipeline.experiments import check_experiment

    experiment = load_experiment(arguments.experiment)
    schema = arguments.schema or experiment.schema
    if not schema:
        raise CommandError(f"{arguments.experiment} names no schema", hint="add 'schema:' to the file or pass --schema")
    try:
        check_experiment(experiment)
    except USER_ERRORS as error:
        raise CommandError(f"{arguments.experiment}: {error}") from error
    return experiment


def open_experiment(arguments: argparse.Namespace, adding: bool = False, reading: bool = False):
    """The command's experiment, opened once (``pipeline.opened.OpenedExperiment``: file, schema, tables, job keys);
    ``adding`` inserts the file's entries; ``reading`` (a read-only command) creates nothing and refuses a schema
    that does not exist. Without a file (a command whose file is optional), ``--schema`` alone, its jobs read from
    the database (``pipeline.experiments.schema_jobs``). The file is checked first (:func:`checked_experiment`), so
    a bad file touches no database."""
    from ..pipeline.opened import open_experiment as open_once, open_schema

    if arguments.experiment is None:  # a command whose file is optional: the jobs read from --schema
        if not arguments.schema:
            raise CommandError("give an experiment file or --schema")
        return open_schema(arguments.schema, create=not reading)
    experiment = checked_experiment(arguments)
    return open_once(experiment, arguments.schema, create=not reading, adding=adding)


def add_command(commands, name: str, handler, help_text: str, example: str,
                description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand with its one-line ``help_text`` (in the command list and atop its own help), an optional longer
    ``description``, an example, and its options' defaults shown."""
    text = help_text[0].upper() + help_text[1:] + "." + (f"\n\n{description}" if description else "")
    command = commands.add_parser(name, help=help_text, description=text, epilog=f"example:\n  {example}",
                                  formatter_class=HelpFormatter)
    command.set_defaults(handler=handler)
    return command


#: how a command whose experiment file is optional describes the jobs it takes without one
WITHOUT_A_FILE = "none: the jobs `add` recorded in --schema, and its other trained models"


def add_experiment_command(commands, name: str, handler, help_text: str, example: str | None = None,
                           description: str | None = None, file_optional: bool = False) -> argparse.ArgumentParser:
    """A subcommand that takes an experiment file (``file_optional``: or none, with ``--schema``) and ``--schema``."""
    example = example or f"neural-cotraining {name} configs/my_experiment.yaml"
    command = add_command(commands, name, handler, help_text, example, description)
    if file_optional:
        command.add_argument("experiment", nargs="?", help=f"experiment file (YAML); {WITHOUT_A_FILE}")
    else:
        command.add_argument("experiment", help="experiment file (YAML)")
    command.add_argument("--schema", help="database schema (default: the file's 'schema')")
    return command
