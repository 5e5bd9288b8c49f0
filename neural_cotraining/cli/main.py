"""The ``neural-cotraining`` command: database, experiments, training, results, plots, the demo."""

from __future__ import annotations

import argparse
import logging
import sys

from . import affinity, database, demo, experiments, results, search, workers
from .errors import USER_ERRORS, fail, logs_to_stderr, report

__all__ = ["main", "build_parser"]

COMMAND_GROUPS = (database, experiments, results, workers, affinity, search, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neural-cotraining", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    if arguments.command in ("populate", "demo") and arguments.workers < 1:
        return fail("--workers must be at least 1")
    if arguments.command in ("populate", "demo") and arguments.threads is not None and arguments.threads < 1:
        return fail("--threads must be at least 1")
    if arguments.command == "demo" and arguments.seeds is not None and arguments.seeds < 1:
        return fail("--seeds must be at least 1")
    logs_to_stderr()
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return arguments.handler(arguments)
    except USER_ERRORS as error:
        return report(error)


if __name__ == "__main__":
    sys.exit(main())
