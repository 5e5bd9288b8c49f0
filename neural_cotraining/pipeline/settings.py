"""Database connection settings: DataJoint's own configuration first, a local development server only as the fallback.

The server is whatever DataJoint's configuration names, in DataJoint's own order: ``dj.config`` as the process left
it (a notebook's ``dj.config["database.host"] = ...`` before ``activate``), which DataJoint filled when it was
imported from the ``DJ_*`` environment (``DJ_HOST``, ``DJ_PORT``, ``DJ_USER``, ``DJ_PASS``, ``DJ_BACKEND``,
``DJ_USE_TLS``), then the ``datajoint.json`` it found (searched from the working directory up to the repository root),
then its secrets directory (``.secrets/`` beside that file, or ``/run/secrets/datajoint``). Only a setting that none
of them names takes the local default: MariaDB/MySQL on 127.0.0.1:3306 (PostgreSQL: 5432), user root (postgres),
empty password. A named server that does not answer is an error, never a reason to fall back to the local one.

:attr:`DatabaseSettings.sources` says where each setting came from (:meth:`DatabaseSettings.origin` in words). The
password is never logged, printed or stored: :meth:`DatabaseSettings.describe` and ``repr`` leave it out.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

__all__ = ["DatabaseSettings", "database_settings", "LOCAL_DEFAULT"]

_DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
_ENVIRONMENT = {"host": "DJ_HOST", "port": "DJ_PORT", "user": "DJ_USER", "password": "DJ_PASS",
                "backend": "DJ_BACKEND", "use_tls": "DJ_USE_TLS"}
# what DataJoint itself assumes when nothing names a setting: such a value was named by no one
_DATAJOINT_DEFAULTS = {"host": "localhost", "user": None, "password": None, "backend": "mysql", "use_tls": None}
_SET_IN_PROCESS = "dj.config (set in this process)"
LOCAL_DEFAULT = "the local default"


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    user: str
    backend: str
    use_tls: bool | None
    password: str = field(repr=False)
    # {setting: where it came from}: an environment variable, a file, dj.config, or LOCAL_DEFAULT
    sources: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_local(self) -> bool:
        return self.host in _LOCAL_HOSTS

    def describe(self) -> str:
        """Where the database is, without the password."""
        return f"{self.backend}://{self.user}@{self.host}:{self.port}"

    def origin(self) -> str:
        """Where the server, port and user came from, e.g. ``host from DJ_HOST; port, user from the local default``."""
        grouped: dict[str, list[str]] = {}
        for name in ("host", "port", "user"):
            grouped.setdefault(self.sources.get(name, LOCAL_DEFAULT), []).append(name)
        return "; ".join(f"{', '.join(names)} from {source}" for source, names in grouped.items())

    def describe_with_origin(self) -> str:
        return f"{self.describe()} ({self.origin()})"


def _parse_tls(text, name: str = "DJ_USE_TLS") -> bool | None:
    if text is None or text == "" or isinstance(text, bool):
        return None if text == "" else text
    lowered = str(text).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, not {text!r}")


def _parse_port(text, name: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a port number, not {text!r}") from error


def _check_backend(value, name: str) -> str:
    backend = str(value).strip().lower()
    if backend not in _DEFAULT_PORTS:
        raise ValueError(f"{name} must be one of {sorted(_DEFAULT_PORTS)}, not {value!r}")
    return backend


def _split_host(values: dict) -> dict:
    """``host:port`` (as DataJoint accepts it) into host and port; the port part wins, as in DataJoint."""
    host = values.get("host")
    if isinstance(host, str) and ":" in host and not host.startswith("[") and host.count(":") == 1:
        host, port = host.split(":", 1)
        values = {**values, "host": host}
        if port:
            values["port"] = port
    return values


def _environment_values(environ) -> dict:
    """The settings the ``DJ_*`` variables name (an empty variable names nothing, as in DataJoint)."""
    return _split_host({name: environ[variable] for name, variable in _ENVIRONMENT.items() if environ.get(variable)})


def _file_values(path: str) -> dict:
    """The ``database.*`` settings a ``datajoint.json`` names (nested or dotted keys, as DataJoint reads them)."""
    try:
        data = json.loads(open(path, encoding="utf-8").read())
    except (OSError, ValueError):
        return {}  # DataJoint warned already and loaded nothing from it
    nested = data.get("database") if isinstance(data.get("database"), dict) else {}
    values = {name: nested[name] for name in _ENVIRONMENT if name in nested}
    values.update({name: data[f"database.{name}"] for name in _ENVIRONMENT if f"database.{name}" in data})
    return _split_host(values)


def _secret_values(directory: str) -> dict:
    values = {}
    for name in ("user", "password"):
        path = os.path.join(directory, f"database.{name}")
        if os.path.isfile(path):
            values[name] = open(path, encoding="utf-8").read().strip()
    return values


def _datajoint_layers() -> list[tuple[dict, dict]]:
    """DataJoint's sources, highest precedence first: ``[(values, {setting: source})]``."""
    import datajoint as dj

    from ._datajoint import loaded_config_files

    environment = _environment_values(os.environ)
    config_path, secrets_dir = loaded_config_files()
    from_file = {} if config_path is None else _file_values(config_path)
    from_secrets = {} if secrets_dir is None else _secret_values(secrets_dir)
    environment_backend = str(environment.get("backend", "mysql")).lower()
    defaults = {**_DATAJOINT_DEFAULTS, "port": _DEFAULT_PORTS.get(environment_backend, 3306)}
    configured = _split_host({name: dj.config[f"database.{name}"] for name in _ENVIRONMENT})
    # the settings someone assigned (the environment and files at import, or the process since); the port is always
    # among them (DataJoint fills it in from the backend), so its own value tells
    assigned = set(dj.config.database.model_fields_set) - {"port"}
    set_in_process = {}
    for name, value in configured.items():
        expected = next((layer[name] for layer in (environment, from_file, from_secrets) if name in layer), None)
        if name == "port":
            differs = not _same(name, value, defaults["port"] if expected is None else expected)
        else:
            # never assigned: DataJoint's default (an environment variable set after its import still applies)
            differs = name in assigned and (expected is None or not _same(name, value, expected))
        if differs:
            set_in_process[name] = value
    return [
        (set_in_process, dict.fromkeys(set_in_process, _SET_IN_PROCESS)),
        (environment, {name: _ENVIRONMENT[name] for name in environment}),
        (from_file, dict.fromkeys(from_file, config_path)),
        (from_secrets, dict.fromkeys(from_secrets, secrets_dir)),
    ]


def _same(name: str, value, other) -> bool:
    if name == "port":
        return value is not None and other is not None and str(value) == str(other)
    if name == "use_tls":
        return _parse_tls(value) == _parse_tls(other)
    return value == other


def _resolve(layers: list[tuple[dict, dict]]) -> DatabaseSettings:
    """The first layer naming each setting wins; none: the local default."""
    values, sources = {}, {}
    for layer_values, layer_sources in layers:
        for name, value in layer_values.items():
            if name not in values and value is not None:
                values[name], sources[name] = value, layer_sources[name]
    backend = _check_backend(values.get("backend", "mysql"), sources.get("backend", "DJ_BACKEND"))
    defaults = {"host": "127.0.0.1", "port": _DEFAULT_PORTS[backend],
                "user": "postgres" if backend == "postgresql" else "root", "password": ""}
    for name, default in defaults.items():
        if name not in values:
            values[name], sources[name] = default, LOCAL_DEFAULT
    return DatabaseSettings(
        host=str(values["host"]),
        port=_parse_port(values["port"], sources["port"] if sources["port"] != LOCAL_DEFAULT else "port"),
        user=str(values["user"]),
        backend=backend,
        use_tls=_parse_tls(values.get("use_tls"), sources.get("use_tls", "DJ_USE_TLS")),
        password=str(values["password"]),
        sources=sources,
    )


def database_settings(environ: dict[str, str] | None = None) -> DatabaseSettings:
    """The settings in force, from DataJoint's configuration (see the module's docstring) with local defaults.

    ``environ`` given: the settings that environment alone names (for a server a subprocess will use), ignoring
    this process's ``dj.config`` and files.
    """
    if environ is not None:
        values = _environment_values(environ)
        return _resolve([(values, {name: _ENVIRONMENT[name] for name in values})])
    return _resolve(_datajoint_layers())
