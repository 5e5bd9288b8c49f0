"""Make a local PostgreSQL server answer (``DJ_BACKEND=postgresql``): the PostgreSQL side of ``ensure_server``.

Nothing to do if it answers; a remote host is never touched; a local cluster that is installed but stopped is
started with ``pg_ctlcluster``; a missing one is installed from Debian's ``postgresql`` package, and for the default
local account (user postgres, empty password) connections from 127.0.0.1 are trusted, as on a development machine.
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path

from .commands import ServerError, install_debian_package, refuse_silent, run_command, wait_until_up
from ..connection_timeouts import current_timeouts, install_postgres_waits, postgres_parameters
from .data_dir import start_postgres
from ..settings import DatabaseSettings

__all__ = ["ensure_postgres"]

logger = logging.getLogger(__name__)


def _probe(settings: DatabaseSettings) -> tuple[str, str]:
    """As the MySQL probe: ("ok" | "denied" | "silent" | "down", detail), with the configured timeouts."""
    try:
        import psycopg2
    except ImportError as error:
        raise ServerError("the postgresql backend needs psycopg2: pip install 'neural_cotraining[postgres]'") from error
    install_postgres_waits()
    timeouts = current_timeouts()
    try:
        connection = psycopg2.connect(host=settings.host, port=settings.port, user=settings.user,
                                      password=settings.password, dbname="postgres", **postgres_parameters(timeouts))
    except psycopg2.OperationalError as error:
        text = str(error).strip()
        if "no answer" in text or "timeout" in text:  # connected, then silence: not a stopped server
            return "silent", text
        return ("denied" if "authentication" in text or "password" in text else "down"), text
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return "ok", "PostgreSQL " + cursor.fetchone()[0]
    except psycopg2.OperationalError as error:
        return "silent", str(error).strip()
    finally:
        connection.close()


def _clusters() -> list[str]:
    return sorted(Path(path).name for path in glob.glob("/etc/postgresql/*") if Path(path, "main").is_dir())


def _trust_local_tcp(version: str) -> None:
    hba = Path(f"/etc/postgresql/{version}/main/pg_hba.conf")
    line = "host all all 127.0.0.1/32 trust"
    text = hba.read_text()
    if line not in text:
        hba.write_text(line + "  # added by neural-cotraining db (local development)\n" + text)


def ensure_postgres(settings: DatabaseSettings, start_timeout: float = 60.0, data_dir: Path | None = None) -> str:
    """Make the server answer; with ``data_dir`` a stopped one is started there, never the system's clusters."""
    state, detail = _probe(settings)
    refuse_silent(state, detail, settings)
    if state == "ok":
        return detail
    if data_dir is not None and state == "down":
        start_postgres(Path(data_dir), settings, start_timeout)
        state, detail = wait_until_up(_probe, settings, start_timeout)
        if state != "ok":
            raise ServerError(f"started PostgreSQL on {data_dir}, but {settings.describe()} does not answer: {detail}")
        return detail
    default_account = settings.is_local and settings.user == "postgres" and settings.password == ""
    if not settings.is_local or (state == "denied" and not default_account):
        raise ServerError(f"the database at {settings.describe()} does not answer or refuses the credentials: {detail} "
                          f"({settings.origin()})")
    if not _clusters():
        logger.info("no PostgreSQL cluster installed: installing Debian's postgresql")
        install_debian_package("postgresql", "PostgreSQL")
    for version in _clusters():
        if default_account:
            _trust_local_tcp(version)
        result = run_command(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"])
        if result.returncode != 0:
            raise ServerError(f"starting PostgreSQL {version} failed: {result.stderr.strip()[-2000:]}")
    state, detail = wait_until_up(_probe, settings, start_timeout)
    if state != "ok":
        raise ServerError(f"started PostgreSQL, but {settings.describe()} still does not answer: {detail} "
                          f"({settings.origin()})")
    return detail
