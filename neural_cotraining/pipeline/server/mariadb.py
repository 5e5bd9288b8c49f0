"""Make the configured MySQL/MariaDB server answer, starting or installing a local one when needed.

``ensure_server()`` is what ``neural-cotraining db`` runs:

1. if the server answers with the configured credentials, it only raises ``max_allowed_packet`` when it is small;
2. a remote host is never touched: it says the server does not answer and where;
3. a local server that is installed but stopped is started; one that is missing is installed from Debian's
   ``mariadb-server`` package (needs root and apt);
4. a fresh Debian install lets root in over the unix socket only: for the default local account (root, empty
   password) it enables password-less TCP login for root, over the socket;
5. ``max_allowed_packet`` is raised to 1 GiB (pymysql >= 1.2 sends blobs as hex, so 16 MiB breaks at ~8 MiB),
   at run time and in a config file so a restart keeps it.

It prints nothing itself; it returns the server's version and logs each step.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from .postgres import ensure_postgres
from .commands import ServerError, install_debian_package, refuse_silent, run_command, wait_until_up
from ..connection_timeouts import connect_mysql
from .data_dir import mariadb_socket, start_mariadb
from ..settings import DatabaseSettings, database_settings

__all__ = ["ServerError", "ensure_server", "server_version", "MAX_ALLOWED_PACKET"]

logger = logging.getLogger(__name__)

MAX_ALLOWED_PACKET = 1024**3
_SERVER_BINARIES = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")
_CLIENT_BINARIES = ("mariadb", "mysql")
_CONFIG_DIRS = ("/etc/mysql/mariadb.conf.d", "/etc/mysql/conf.d")
_CONFIG_FILE_NAME = "99-neural-cotraining.cnf"


def _connect(settings: DatabaseSettings):
    import pymysql

    return connect_mysql(pymysql.connect, host=settings.host, port=settings.port, user=settings.user,
                         password=settings.password)


def _probe(settings: DatabaseSettings) -> tuple[str, str]:
    """("ok", version), ("denied", message), ("silent", message): something accepts connections there but does
    not answer within the timeouts, or ("down", message)."""
    import pymysql

    try:
        connection = _connect(settings)
    except pymysql.err.OperationalError as error:
        code = error.args[0] if error.args else None
        detail = str(error.args[1] if len(error.args) > 1 else error)
        # 1045: access denied; 1698: access denied (unix_socket plugin) -- the server is up
        if code in (1045, 1698):
            return "denied", detail
        # connected, then no answer within the timeouts: not a stopped server, so nothing is started
        return ("silent" if code == 2013 and "timed out" in detail else "down"), detail
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            return "ok", cursor.fetchone()[0]
    except pymysql.err.OperationalError as error:
        return "silent", str(error.args[1] if len(error.args) > 1 else error)
    finally:
        connection.close()


def server_version(settings: DatabaseSettings | None = None) -> str:
    """The version string of the server the settings point at (raises ServerError when it does not answer)."""
    settings = settings or database_settings()
    state, detail = _probe(settings)
    if state != "ok":
        raise ServerError(f"the database at {settings.describe()} does not answer: {detail} ({settings.origin()})")
    return detail


def _installed_server_binary() -> str | None:
    return next((path for path in _SERVER_BINARIES if os.access(path, os.X_OK)), None)


def _write_packet_config() -> None:
    directory = next((Path(d) for d in _CONFIG_DIRS if Path(d).is_dir()), None)
    if directory is None:
        return
    try:
        (directory / _CONFIG_FILE_NAME).write_text(f"[mysqld]\nmax_allowed_packet = {MAX_ALLOWED_PACKET}\n")
    except OSError as error:
        logger.warning("could not write %s: %s", directory / _CONFIG_FILE_NAME, error)


def _start_local_server(binary: str) -> None:
    Path("/run/mysqld").mkdir(parents=True, exist_ok=True)
    if shutil.which("chown"):
        run_command(["chown", "mysql:mysql", "/run/mysqld"])
    if shutil.which("start-stop-daemon"):
        # the packet size on the command line too: not every my.cnf includes a conf.d folder for the file above
        result = run_command(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", binary, "--",
                       f"--max-allowed-packet={MAX_ALLOWED_PACKET}"])
    else:
        result = run_command(["service", "mariadb", "start"])
    if result.returncode != 0:
        raise ServerError(f"starting {binary} failed: {result.stderr.strip()[-2000:]}")


def _enable_root_over_tcp(socket: Path | None = None) -> None:
    client = next((shutil.which(name) for name in _CLIENT_BINARIES if shutil.which(name)), None)
    if client is None:
        raise ServerError("access denied for root and no mariadb/mysql client to fix it over the unix socket")
    statement = (
        "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; "
        "FLUSH PRIVILEGES;"
    )
    place = ["--no-defaults", f"--socket={socket}"] if socket else []
    result = run_command([client, *place, "-uroot", "-e", statement])
    if result.returncode != 0:
        raise ServerError(f"could not enable root login over TCP: {result.stderr.strip()}")


def _raise_packet_limit(settings: DatabaseSettings) -> None:
    connection = _connect(settings)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@GLOBAL.max_allowed_packet")
            current = int(cursor.fetchone()[0])
            if current < MAX_ALLOWED_PACKET:
                try:
                    cursor.execute(f"SET GLOBAL max_allowed_packet = {MAX_ALLOWED_PACKET}")
                    logger.info("raised max_allowed_packet from %d to %d", current, MAX_ALLOWED_PACKET)
                except Exception as error:  # no SUPER privilege on a shared server: say so, carry on
                    logger.warning("max_allowed_packet is %d and could not be raised: %s", current, error)
    finally:
        connection.close()


def ensure_server(settings: DatabaseSettings | None = None, start_timeout: float = 60.0,
                  data_dir: str | Path | None = None) -> str:
    """Make the configured server answer (MySQL/MariaDB, or PostgreSQL with DJ_BACKEND=postgresql); its version.

    With ``data_dir``, a stopped local server is one of its own, started on that data directory (made when
    empty) and ``settings.port``, never the system's (see ``data_dir``).
    """
    settings = settings or database_settings()
    if data_dir is not None and not settings.is_local:
        raise ServerError(f"a data directory is for a local server, not {settings.describe()}")
    if settings.backend == "postgresql":
        return ensure_postgres(settings, start_timeout, data_dir)
    state, detail = _probe(settings)
    refuse_silent(state, detail, settings)
    if state == "down":
        if not settings.is_local:
            raise ServerError(f"the database at {settings.describe()} does not answer ({detail}); start it there "
                              f"({settings.origin()})")
        binary = _installed_server_binary()
        if binary is None:
            logger.info("no MariaDB server installed: installing Debian's mariadb-server")
            install_debian_package("mariadb-server", "MariaDB/MySQL")
            binary = _installed_server_binary()
            if binary is None:
                raise ServerError("mariadb-server was installed but no server binary was found")
        logger.info("starting %s%s", binary, f" on {data_dir}" if data_dir is not None else "")
        if data_dir is None:
            _write_packet_config()
            _start_local_server(binary)
        else:
            start_mariadb(binary, Path(data_dir), settings, MAX_ALLOWED_PACKET)
        state, detail = wait_until_up(_probe, settings, start_timeout)
        if state == "down":
            raise ServerError(f"started {binary}, but {settings.describe()} still does not answer: {detail} "
                              f"({settings.origin()})")
    if state == "denied":
        if not (settings.is_local and settings.user == "root" and settings.password == ""):
            raise ServerError(f"the database at {settings.describe()} refused the credentials: {detail} ({settings.origin()})")
        logger.info("enabling password-less root login over TCP on the local server")
        _enable_root_over_tcp(mariadb_socket(Path(data_dir)) if data_dir is not None else None)
        state, detail = _probe(settings)
        if state != "ok":
            raise ServerError(f"the database at {settings.describe()} still refuses root: {detail} ({settings.origin()})")
    _raise_packet_limit(settings)
    return detail
