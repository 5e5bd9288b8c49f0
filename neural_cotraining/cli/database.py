"""``neural-cotraining db`` and ``drop``: the database server and whole schemas."""

from __future__ import annotations

import argparse
import sys

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
    db = commands.add_parser("db", help="make sure the database answers (start or install a local server)",
                             description="Make sure the configured database server answers; a stopped or missing "
                                         "local MariaDB (or PostgreSQL with DJ_BACKEND=postgresql) is started or "
                                         "installed. Example: neural-cotraining db")
    db.set_defaults(handler=_db)
    drop = commands.add_parser("drop", help="drop a schema and everything in it (asks first)")
    drop.add_argument("schema")
    drop.add_argument("--yes", action="store_true", help="do not ask")
    drop.set_defaults(handler=_drop)
