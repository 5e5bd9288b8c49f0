"""What both database starters (``server`` for MySQL/MariaDB, ``postgres_server``) use: system commands, a
Debian package install, waiting for a server to come up, and the one error they raise."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time

from ..settings import DatabaseSettings

__all__ = ["ServerError", "run_command", "install_debian_package", "wait_until_up", "refuse_silent"]

logger = logging.getLogger(__name__)


class ServerError(RuntimeError):
    """The database server cannot be reached or made to answer."""


def run_command(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a system command (logged), capturing its output."""
    logger.info("running: %s", " ".join(command))
    return subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)


def install_debian_package(package: str, missing: str) -> None:
    """``apt-get install package`` (needs root and apt); ``missing`` says what is not installed, for the error."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise ServerError(
            f"no {missing} server is installed and it cannot be installed here (needs root and apt-get); "
            f"install {package} or point DJ_HOST/DJ_PORT at a running server"
        )
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", package]):
        result = run_command(command, env=environment)
        if result.returncode != 0:
            raise ServerError(f"{' '.join(command)} failed: {result.stderr.strip()[-2000:]}")


def wait_until_up(probe, settings: DatabaseSettings, timeout: float) -> tuple[str, str]:
    """``probe(settings)`` until the server is no longer "down" or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    state, detail = probe(settings)
    while state == "down" and time.monotonic() < deadline:
        time.sleep(0.5)
        state, detail = probe(settings)
    return state, detail


def refuse_silent(state: str, detail: str, settings: DatabaseSettings) -> None:
    """A probe that connected but got no answer in time ("silent"): something holds the address and does not answer
    (a frozen path, another program on the port); starting or installing a server would not help, so nothing is."""
    if state == "silent":
        from ..connection_timeouts import current_timeouts

        timeouts = current_timeouts()
        raise ServerError(f"the database at {settings.describe()} accepts connections but does not answer within the "
                          f"timeouts ({timeouts.connect:g} s to connect, {timeouts.read:g} s to answer): {detail}; "
                          f"nothing was started ({settings.origin()})")
