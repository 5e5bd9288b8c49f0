"""Database connection settings, read from the standard DataJoint environment variables.

``DJ_HOST``, ``DJ_PORT``, ``DJ_USER``, ``DJ_PASS``, ``DJ_BACKEND`` (``mysql`` or ``postgresql``) and ``DJ_USE_TLS``
are read here and nowhere else; unset ones fall back to a local development server (MariaDB/MySQL on 127.0.0.1:3306,
user root, empty password). A ``datajoint.json`` / ``.secrets/`` found by DataJoint itself still applies to whatever
the environment leaves unset. The password is never logged, printed or stored: :meth:`DatabaseSettings.describe`
and ``repr`` leave it out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["DatabaseSettings", "database_settings"]

_DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    user: str
    backend: str
    use_tls: bool | None
    password: str = field(repr=False)

    @property
    def is_local(self) -> bool:
        return self.host in _LOCAL_HOSTS

    def describe(self) -> str:
        """Where the database is, without the password."""
        return f"{self.backend}://{self.user}@{self.host}:{self.port}"


def _parse_tls(text: str | None) -> bool | None:
    if text is None or text == "":
        return None
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"DJ_USE_TLS must be true or false, not {text!r}")


def database_settings(environ: dict[str, str] | None = None) -> DatabaseSettings:
    """The settings in force: the DataJoint environment variables with local defaults."""
    env = os.environ if environ is None else environ
    backend = env.get("DJ_BACKEND", "mysql").strip().lower() or "mysql"
    if backend not in _DEFAULT_PORTS:
        raise ValueError(f"DJ_BACKEND must be one of {sorted(_DEFAULT_PORTS)}, not {backend!r}")
    host = env.get("DJ_HOST", "127.0.0.1") or "127.0.0.1"
    # "host:port" is accepted too, as DataJoint does
    port_text = env.get("DJ_PORT", "")
    if ":" in host and not host.startswith("[") and host.count(":") == 1:
        host, port_text = host.split(":", 1)[0], port_text or host.split(":", 1)[1]
    try:
        port = int(port_text) if port_text else _DEFAULT_PORTS[backend]
    except ValueError as error:
        raise ValueError(f"DJ_PORT must be a port number, not {port_text!r}") from error
    default_user = "postgres" if backend == "postgresql" else "root"
    return DatabaseSettings(
        host=host,
        port=port,
        user=env.get("DJ_USER", default_user) or default_user,
        backend=backend,
        use_tls=_parse_tls(env.get("DJ_USE_TLS")),
        password=env.get("DJ_PASS", ""),
    )
