"""The ``neural-cotraining`` command: database, experiments, training, results, plots, the demo."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import affinity, database, demo, experiments, failures, results, search, workers
from .errors import USER_ERRORS, fail, report
from .verbosity import NORMAL, QUIET, VERBOSE, configure_output

__all__ = ["main", "build_parser"]

COMMAND_GROUPS = (database, experiments, failures, results, workers, affinity, search, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neural-cotraining", description=__doc__,
                                     epilog="`neural-cotraining COMMAND --help` describes a command, with an example.")
    parser.add_argument("--version", action="version", version=f"neural-cotraining {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print errors only (and the results asked for)")
    loudness.add_argument("-v", "--verbose", action="store_true",
                          help="log everything: DEBUG level, DataJoint's own lines and warnings")
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
    configure_output(QUIET if arguments.quiet else VERBOSE if arguments.verbose else NORMAL)
    try:
        return arguments.handler(arguments)
    except USER_ERRORS as error:
        return report(error)
    except Exception as error:  # a connection lost or timed out mid-command: one line, not a traceback
        from ..pipeline.schema import lost_connection_message

        message = lost_connection_message(error)
        if message is None:
            raise
        return fail(message)


if __name__ == "__main__":
    sys.exit(main())
