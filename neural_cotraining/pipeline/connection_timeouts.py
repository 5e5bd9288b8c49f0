"""Connect and read timeouts for every database connection, so that no command or worker waits forever on a frozen
network path (a peer that vanished, a NAT entry lost, an endpoint that accepts TCP and never answers).

Two settings, in seconds, for MySQL/MariaDB and PostgreSQL alike:

- ``NEURAL_COTRAINING_DB_CONNECT_TIMEOUT`` (default 10): the whole handshake of a new connection (TCP connect, the
  server's greeting, the login);
- ``NEURAL_COTRAINING_DB_READ_TIMEOUT`` (default 120): each wait for the server once connected (no byte for this
  long ends the statement with a lost-connection error; a long query that keeps sending is not cut).

How each client gets them:

- MySQL/MariaDB (pymysql): ``connect_timeout``, and ``read_timeout``/``write_timeout`` set to the connect timeout for
  the handshake (pymysql reads the greeting with its read timeout) and to the read timeout after it.
- PostgreSQL (psycopg2, as DataJoint 2.3 uses it): libpq's ``connect_timeout``, TCP keepalives and
  ``tcp_user_timeout`` (the kernel drops a connection whose peer stopped acknowledging), and a psycopg2 wait
  callback (:func:`_wait_for_server`): every wait for the server is a ``select`` in Python with the timeouts above,
  which is what bounds a path that a live middlebox keeps acknowledging but never forwards, and what lets a signal
  handler run while a query waits. The server's ``statement_timeout`` is not used: a frozen path never delivers
  its answer.

:func:`short_timeouts` opens connections whose read timeout is the connect timeout too (a stopping worker's last
write); while :func:`one_reconnect_while` a worker stops, a failed connection attempt is not repeated (each would
wait the connect timeout again), except inside :func:`short_timeouts`.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import threading
import time
import weakref
from dataclasses import dataclass

__all__ = ["CONNECT_TIMEOUT_ENV", "READ_TIMEOUT_ENV", "DEFAULT_CONNECT_TIMEOUT", "DEFAULT_READ_TIMEOUT", "Timeouts",
           "configured_timeouts", "current_timeouts", "short_timeouts", "one_reconnect_while", "guarded_connect",
           "connect_mysql", "postgres_parameters", "register_postgres_connection", "install_postgres_waits"]

CONNECT_TIMEOUT_ENV, READ_TIMEOUT_ENV = "NEURAL_COTRAINING_DB_CONNECT_TIMEOUT", "NEURAL_COTRAINING_DB_READ_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT = 10.0, 120.0


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float


def _seconds_from_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not (0 < seconds < float("inf")):
        raise ValueError(f"{name} must be a positive number of seconds, not {text!r}")
    return seconds


def configured_timeouts() -> Timeouts:
    """The timeouts the environment sets (defaults where it sets none); ValueError in one line for a bad value."""
    return Timeouts(_seconds_from_env(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT),
                    _seconds_from_env(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT))


_override = threading.local()


def current_timeouts() -> Timeouts:
    """The timeouts a connection opened now by this thread gets."""
    return getattr(_override, "timeouts", None) or configured_timeouts()


@contextlib.contextmanager
def short_timeouts():
    """Connections this thread opens inside the block wait at most the connect timeout for any answer, handshake
    and statements alike."""
    configured = configured_timeouts()
    previous = getattr(_override, "timeouts", None)
    _override.timeouts = Timeouts(configured.connect, configured.connect)
    try:
        yield _override.timeouts
    finally:
        _override.timeouts = previous


_stopping: list = []  # conditions under which a failed connection attempt is not repeated
_failed_while_stopping = threading.Event()


@contextlib.contextmanager
def one_reconnect_while(stopping):
    """While the block runs and ``stopping()`` holds (a worker asked to stop), connection attempts stop after the
    first that fails (a frozen path): later ones fail at once instead of each waiting the connect timeout, so a
    stopping worker ends within a bound. Connections opened inside :func:`short_timeouts` are always tried."""
    _stopping.append(stopping)
    try:
        yield
    finally:
        _stopping.remove(stopping)
        if not _stopping:
            _failed_while_stopping.clear()


def guarded_connect(connect, refused):
    """``connect()``, unless a stopping worker's earlier attempt failed: then ``refused(message)`` is raised (the
    client's own lost-connection error, so callers treat it as one)."""
    explicit = getattr(_override, "timeouts", None) is not None
    stopping = not explicit and any(condition() for condition in _stopping)
    if stopping and _failed_while_stopping.is_set():
        raise refused("lost connection: not connecting again while this worker stops (its last attempt failed)")
    try:
        return connect()
    except Exception:
        if stopping:
            _failed_while_stopping.set()
        raise


def connect_mysql(connect, **parameters):
    """``connect(**parameters)`` (pymysql's) with the current timeouts; parameters the caller gives win."""
    timeouts = current_timeouts()
    handshake = {"connect_timeout": timeouts.connect, "read_timeout": timeouts.connect,
                 "write_timeout": timeouts.connect}
    connection = connect(**{**handshake, **parameters})
    # pymysql reads the greeting and the login's answer with its read timeout: the connect timeout bounded those;
    # the statements from now on get the read timeout (pymysql applies these before each read and write)
    if "read_timeout" not in parameters:
        connection._read_timeout = timeouts.read
    if "write_timeout" not in parameters:
        connection._write_timeout = timeouts.read
    return connection


def postgres_parameters(timeouts: Timeouts) -> dict:
    """libpq's connection keywords for ``timeouts``: the connect timeout (whole seconds, at least 2, as libpq
    counts), keepalive probes that find a silent peer within about the read timeout, and ``tcp_user_timeout``
    (libpq >= 12, milliseconds): data unacknowledged for the read timeout drops the connection."""
    read = timeouts.read
    return {"connect_timeout": max(2, math.ceil(timeouts.connect)), "keepalives": 1,
            "keepalives_idle": max(1, math.ceil(read / 2)), "keepalives_interval": max(1, math.ceil(read / 10)),
            "keepalives_count": 5, "tcp_user_timeout": max(1, int(read * 1000))}


#: the read timeout of each PostgreSQL connection opened through :func:`register_postgres_connection` (others: the
#: configured one)
_postgres_read_timeouts: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def register_postgres_connection(connection, timeouts: Timeouts) -> None:
    _postgres_read_timeouts[connection] = timeouts.read


def _wait_for_server(connection) -> None:
    """psycopg2's wait callback: poll the connection, waiting for its socket in ``select`` at most the connect
    timeout for the whole handshake, at most the read timeout for each answer after it. A wait that runs out
    closes the connection (psycopg2 does, on any error here) and raises OperationalError."""
    import psycopg2
    from psycopg2 import extensions

    connecting = connection.status == extensions.STATUS_SETUP
    timeouts = current_timeouts()
    limit = timeouts.connect if connecting else _postgres_read_timeouts.get(connection, timeouts.read)
    deadline = time.monotonic() + limit
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        left = max(0.0, deadline - time.monotonic())
        descriptor = connection.fileno()
        if state == extensions.POLL_READ:
            ready = select.select([descriptor], [], [], left)[0]
        elif state == extensions.POLL_WRITE:
            ready = select.select([], [descriptor], [], left)[1]
        else:
            raise psycopg2.OperationalError(f"unexpected state {state} of the connection's poll")
        if not ready:
            what = "while connecting" if connecting else "to a statement"
            raise psycopg2.OperationalError(f"no answer from the server {what} within {limit:g} s; connection closed")
        if not connecting:  # the read timeout is a silence, not a length: a long answer that keeps coming is fine
            deadline = time.monotonic() + limit


def install_postgres_waits() -> None:
    """Route every psycopg2 wait of this process through :func:`_wait_for_server` (idempotent)."""
    from psycopg2 import extensions

    if extensions.get_wait_callback() is not _wait_for_server:
        extensions.set_wait_callback(_wait_for_server)
