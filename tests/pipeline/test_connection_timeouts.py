"""The connection timeouts themselves, against real sockets (no server needed): their settings, a handshake bounded
by the connect timeout on both clients, and a stopping worker's one reconnect attempt."""

import socket
import time

import psycopg2
import pymysql
import pytest

from neural_cotraining.pipeline import connection_timeouts
from neural_cotraining.pipeline.connection_timeouts import (
    CONNECT_TIMEOUT_ENV, READ_TIMEOUT_ENV, Timeouts, configured_timeouts, connect_mysql, guarded_connect,
    install_postgres_waits, one_reconnect_while, postgres_parameters, short_timeouts,
)
from tests.pipeline.frozen_proxy import SilentEndpoint


def test_the_defaults_and_the_settings(monkeypatch):
    monkeypatch.delenv(CONNECT_TIMEOUT_ENV, raising=False)
    monkeypatch.delenv(READ_TIMEOUT_ENV, raising=False)
    assert configured_timeouts() == Timeouts(10.0, 120.0)
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "3")
    monkeypatch.setenv(READ_TIMEOUT_ENV, "45.5")
    assert configured_timeouts() == Timeouts(3.0, 45.5)
    with short_timeouts() as short:  # a stopping worker's hand back: the connect timeout for everything
        assert short == Timeouts(3.0, 3.0) == connection_timeouts.current_timeouts()
    assert connection_timeouts.current_timeouts() == Timeouts(3.0, 45.5)
    for bad in ("0", "-1", "inf", "nan", "soon"):
        monkeypatch.setenv(CONNECT_TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match=f"^{CONNECT_TIMEOUT_ENV} must be a positive number of seconds, not"):
            configured_timeouts()


def test_postgresql_gets_libpq_timeouts_and_keepalives():
    assert postgres_parameters(Timeouts(10, 120)) == {
        "connect_timeout": 10, "keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 12,
        "keepalives_count": 5, "tcp_user_timeout": 120_000}
    assert postgres_parameters(Timeouts(0.5, 1))["connect_timeout"] == 2  # libpq's least


@pytest.mark.parametrize("client", ["mysql", "postgresql"])
def test_a_server_that_never_greets_is_given_up_after_the_connect_timeout_not_the_read_one(client, monkeypatch):
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "1")
    monkeypatch.setenv(READ_TIMEOUT_ENV, "60")
    endpoint = SilentEndpoint()
    started = time.monotonic()
    try:
        if client == "mysql":  # pymysql reads the greeting with its read timeout: 60 s without the handshake bound
            with pytest.raises(pymysql.err.OperationalError, match="timed out"):
                connect_mysql(pymysql.connect, host="127.0.0.1", port=endpoint.port, user="root", password="")
        else:
            install_postgres_waits()
            with pytest.raises(psycopg2.OperationalError, match="no answer from the server while connecting within 1 s"):
                psycopg2.connect(host="127.0.0.1", port=endpoint.port, user="postgres", dbname="postgres",
                                 sslmode="disable", **postgres_parameters(configured_timeouts()))
    finally:
        endpoint.close()
    assert 1 <= time.monotonic() - started < 5


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_stopping_worker_tries_to_reconnect_once_and_its_hand_back_connection_is_still_tried():
    port, attempts = unused_port(), []

    def connect():  # a real connection attempt, refused: nothing listens there
        attempts.append(time.monotonic())
        return pymysql.connect(host="127.0.0.1", port=port, user="root", password="", connect_timeout=1)

    def refused(message):
        return pymysql.err.OperationalError(2013, message)

    stopping = []
    with one_reconnect_while(lambda: bool(stopping)):
        with pytest.raises(pymysql.err.OperationalError, match="Can't connect"):
            guarded_connect(connect, refused)  # not stopping: tried
        with pytest.raises(pymysql.err.OperationalError, match="Can't connect"):
            guarded_connect(connect, refused)  # not stopping: tried again
        stopping.append(True)
        with pytest.raises(pymysql.err.OperationalError, match="Can't connect"):
            guarded_connect(connect, refused)  # stopping: the one attempt
        with pytest.raises(pymysql.err.OperationalError, match="not connecting again while this worker stops"):
            guarded_connect(connect, refused)  # refused at once, nothing tried
        with short_timeouts(), pytest.raises(pymysql.err.OperationalError, match="Can't connect"):
            guarded_connect(connect, refused)  # the hand back's own connection: tried
    assert len(attempts) == 4
    with pytest.raises(pymysql.err.OperationalError, match="Can't connect"):
        guarded_connect(connect, refused)  # the worker is done: connections are tried again
    assert len(attempts) == 5
