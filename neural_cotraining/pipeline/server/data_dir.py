"""A local database server of one's own: its own data directory, unix socket and TCP port.

``ensure_server(settings, data_dir=...)`` uses this instead of the machine's system server: a stopped server is
started from ``data_dir`` (made first when empty) on ``settings.port``, listening on ``settings.host`` only, with its
socket and pid file inside ``data_dir``; no system configuration file is read or written (``--no-defaults``). So a
test runs a real server that nothing else shares and that can be stopped without stopping anyone else's
(:func:`stop_mariadb`, :func:`stop_postgres`). Tried as root only (the tests' case); the default local account (root
or postgres, empty password) is the one made usable over TCP.

Servers refuse to run as root: when this process is root, the data directory is handed to the servers' system
account (``mysql``, ``postgres``) and they run under it.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .commands import ServerError, run_command
from ..settings import DatabaseSettings

__all__ = ["mariadb_socket", "start_mariadb", "stop_mariadb", "start_postgres", "stop_postgres"]

_MARIADB_ACCOUNT = "mysql"
_POSTGRES_ACCOUNT = "postgres"


def mariadb_socket(data_dir: Path) -> Path:
    return Path(data_dir) / "mysqld.sock"


def _hand_to(account: str, data_dir: Path) -> list[str]:
    """The command prefix that runs a server tool under ``account`` (empty when not root); chowns ``data_dir``."""
    if os.geteuid() != 0:
        return []
    shutil.chown(data_dir, account, account)
    for path in Path(data_dir).rglob("*"):
        shutil.chown(path, account, account)
    return ["runuser", "-u", account, "--"]


def _checked(command: list[str], what: str) -> None:
    result = run_command(command)
    if result.returncode != 0:
        raise ServerError(f"{what} failed: {(result.stderr or result.stdout).strip()[-2000:]}")


def start_mariadb(binary: str, data_dir: Path, settings: DatabaseSettings, max_allowed_packet: int) -> None:
    """Start ``binary`` on ``data_dir`` (installing the system tables first when it holds none)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    if not (data_dir / "mysql").is_dir():
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if install is None:
            raise ServerError("no mariadb-install-db to make a data directory with")
        account = [f"--user={_MARIADB_ACCOUNT}"] if as_root else []
        _hand_to(_MARIADB_ACCOUNT, data_dir)
        _checked([install, "--no-defaults", f"--datadir={data_dir}", *account, "--skip-test-db"],
                 f"making a MariaDB data directory in {data_dir}")
    _hand_to(_MARIADB_ACCOUNT, data_dir)
    command = [
        binary, "--no-defaults", f"--datadir={data_dir}", f"--socket={mariadb_socket(data_dir)}",
        f"--pid-file={data_dir / 'mysqld.pid'}", f"--log-error={data_dir / 'error.log'}",
        f"--port={settings.port}", f"--bind-address={settings.host or '127.0.0.1'}",
        f"--max-allowed-packet={max_allowed_packet}",
    ]
    if as_root:
        command.append(f"--user={_MARIADB_ACCOUNT}")
    # a session of its own: the server outlives this process and no terminal signal reaches it
    subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


def stop_mariadb(data_dir: Path, timeout: float = 60.0) -> bool:
    """Stop the server whose pid file is in ``data_dir`` (only that one); False when none was running."""
    pid_file = Path(data_dir) / "mysqld.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise ServerError(f"the MariaDB server of {data_dir} (pid {pid}) did not stop within {timeout:.0f} s")
        time.sleep(0.1)
    return True


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reaps it when it is our own child
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _postgres_tool(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda path: int(Path(path).parts[4]))
    tool = found[-1] if found else shutil.which(name)
    if tool is None:
        raise ServerError(f"no PostgreSQL {name} found (install postgresql)")
    return tool


def start_postgres(data_dir: Path, settings: DatabaseSettings, timeout: float) -> None:
    """Start a PostgreSQL server on ``data_dir`` (``initdb`` first when it holds none).

    A new data directory trusts local connections for the default account (user ``postgres``), as a development
    machine's does; any other account must exist in it already.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    as_account = _hand_to(_POSTGRES_ACCOUNT, data_dir)
    if not (data_dir / "PG_VERSION").is_file():
        _checked([*as_account, _postgres_tool("initdb"), "-D", str(data_dir), "-U", settings.user, "--auth=trust",
                  "--no-sync"], f"making a PostgreSQL data directory in {data_dir}")
    options = (f"-c port={settings.port} -c listen_addresses={settings.host or '127.0.0.1'} "
               f"-c unix_socket_directories={data_dir}")
    _checked([*as_account, _postgres_tool("pg_ctl"), "-D", str(data_dir), "-l", str(data_dir / "server.log"),
              "-o", options, "-w", "-t", str(int(max(timeout, 1))), "start"],
             f"starting PostgreSQL on {data_dir}")


def stop_postgres(data_dir: Path) -> bool:
    """Stop the server running on ``data_dir`` (only that one); False when none was running."""
    data_dir = Path(data_dir)
    if not (data_dir / "postmaster.pid").is_file():
        return False
    as_account = ["runuser", "-u", _POSTGRES_ACCOUNT, "--"] if os.geteuid() == 0 else []
    _checked([*as_account, _postgres_tool("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
             f"stopping PostgreSQL on {data_dir}")
    return True
