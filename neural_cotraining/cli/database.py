"""``neural-cotraining db`` and ``drop``: the database server and whole schemas."""

from __future__ import annotations

import argparse
import sys

from .common import add_command
from .errors import fail
from .output import print_table

__all__ = ["add_commands"]


def _db(arguments: argparse.Namespace) -> int:
    from ..pipeline import database_settings, ensure_server

    settings = database_settings()
    version = ensure_server(settings)
    print(f"database answers at {settings.describe_with_origin()}: {version}")
    return 0


def _drop(arguments: argparse.Namespace) -> int:
    from ..pipeline import drop_plan, drop_schema

    contents = drop_plan(arguments.schema)  # refuses system schemas and schemas that are not the pipeline's
    print(f"schema {arguments.schema} holds:")
    print_table([{"table": table, "rows": rows} for table, rows in contents], ["table", "rows"])
    if not arguments.yes:
        if not sys.stdin.isatty():
            return fail(f"dropping {arguments.schema} needs --yes when not asked at a terminal")
        answer = input(f"Drop schema {arguments.schema!r} and everything above? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("not dropped")
            return 1
    drop_schema(arguments.schema)
    print(f"dropped {arguments.schema}")
    return 0


def add_commands(commands) -> None:
    """``db`` and ``drop``."""
    add_command(commands, "db", _db, "make sure the database answers (start or install a local server)",
                example="neural-cotraining db",
                description="The server is the one DataJoint's configuration names (dj.config, the DJ_* environment, "
                            "a datajoint.json); where none does, a local MariaDB on 127.0.0.1:3306 (PostgreSQL with "
                            "DJ_BACKEND=postgresql), started or installed if it is stopped or missing. Prints the "
                            "server, the user and where they came from.")
    drop = add_command(commands, "drop", _drop, "drop a schema and everything in it (asks first)",
                       example="neural-cotraining drop my_experiment --yes")
    drop.add_argument("schema", help="the schema to drop (only a pipeline's schema is dropped)")
    drop.add_argument("--yes", action="store_true", help="do not ask")
