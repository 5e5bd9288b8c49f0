"""The ``neural-cotraining`` command."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["main"]

logger = logging.getLogger("neural_cotraining")


def _db(arguments: argparse.Namespace) -> int:
    from .pipeline import ServerError, database_settings, ensure_server

    settings = database_settings()
    try:
        version = ensure_server(settings)
    except ServerError as error:
        print(f"database not available: {error}", file=sys.stderr)
        return 1
    print(f"database answers at {settings.describe()}: {version}")
    return 0


def _demo(arguments: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(schema_name=arguments.schema, workers=arguments.workers, output_dir=arguments.output)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neural-cotraining", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="make sure the database answers (start or install a local MariaDB)")
    db.set_defaults(handler=_db)
    demo = commands.add_parser("demo", help="run the demo experiment end to end and print its results")
    demo.add_argument("--schema", default="neural_cotraining_demo", help="database schema to use")
    demo.add_argument("--workers", type=int, default=1, help="local worker processes")
    demo.add_argument("--output", default="results/demo", help="folder for the results table and plots")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
