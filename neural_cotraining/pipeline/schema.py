"""Connecting and activating a pipeline schema."""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

import datajoint as dj

from .settings import database_settings
from .tables import declare_tables

__all__ = ["DatabaseUnavailableError", "connect", "activate"]

logger = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class DatabaseUnavailableError(ConnectionError):
    """The database does not answer or refuses the credentials (one clear message, not a stack of them)."""


def connect(reset: bool = False) -> "dj.Connection":
    """The shared DataJoint connection, configured from the DataJoint environment variables."""
    settings = database_settings()
    dj.config["database.host"] = settings.host
    dj.config["database.port"] = settings.port
    dj.config["database.user"] = settings.user
    dj.config["database.password"] = settings.password
    dj.config["database.backend"] = settings.backend
    if settings.use_tls is not None:
        dj.config["database.use_tls"] = settings.use_tls
    elif settings.is_local:
        # a local server has no TLS; trying it first only adds a warning to every failed connect
        dj.config["database.use_tls"] = False
    try:
        return dj.conn(reset=reset)
    except Exception as error:  # pymysql/psycopg errors differ; one message names the server, not the password
        reason = error.args[1] if len(error.args) > 1 else (error.args[0] if error.args else error)
        raise DatabaseUnavailableError(f"cannot use the database at {settings.describe()}: {reason}") from None


def activate(schema_name: str) -> SimpleNamespace:
    """Open (creating if needed) the schema ``schema_name`` and its tables.

    Returns a namespace with ``schema``, ``Fabrikant``, ``Seed``, ``Dataset``, ``Model``, ``Trainer`` and
    ``TrainedModel``. Nothing connects at import time; this is where the connection is made.
    """
    if not isinstance(schema_name, str) or not _SCHEMA_NAME.match(schema_name):
        raise ValueError(f"schema name {schema_name!r} must be 1-64 letters, digits or underscores")
    connection = connect()
    context: dict = {}
    schema = dj.Schema(schema_name, context=context, connection=connection)
    return declare_tables(schema, context)
