"""Connections: a progress write whose connection is killed inside its transaction is redone once (DataJoint
reconnects), a failed one is logged, never fatal; every connection has connect and read timeouts, so an endpoint
that accepts TCP and never answers (a frozen path) ends a command with one line instead of a hang (more frozen paths,
PostgreSQL's too, and stopping workers on them: test_frozen_paths.py)."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pymysql
import pytest

from neural_cotraining.pipeline.jobs.live_progress import LiveProgress, never_fatal
from tests.pipeline.frozen_proxy import SilentEndpoint
from tests.pipeline.test_live_progress import job_key, live_values, rows

ROOT = Path(__file__).resolve().parents[2]


def kill(connection_id):
    admin = pymysql.connect(host="127.0.0.1", user="root", password="")
    with admin.cursor() as cursor:
        cursor.execute(f"KILL {int(connection_id)}")
    admin.close()


@pytest.mark.db
def test_a_progress_write_killed_inside_its_transaction_is_redone(pipeline, caplog):
    key = job_key(pipeline)
    killed = []

    def kill_once_inside_the_transaction():  # the guard runs first inside each write's transaction
        connection = pipeline.LiveJob.connection if hasattr(pipeline.LiveJob, "connection") else None
        connection = connection or pipeline.schema.connection
        assert connection.in_transaction
        if not killed:
            killed.append(connection.query("SELECT CONNECTION_ID()").fetchone()[0])
            kill(killed[0])

    live = LiveProgress(pipeline.LiveJob, pipeline.LiveEpochMetric, key, guard=kill_once_inside_the_transaction,
                        write_interval=0.0)  # every epoch written at once
    live.start()
    write = never_fatal(live.epoch, "live progress")
    with caplog.at_level(logging.WARNING):
        write(1, rows(1, 3.0), 3.0)
    assert killed and live_values(pipeline) == {1: 3.0}
    assert any("connection was lost" in message for message in caplog.messages)
    write(2, rows(2, 2.0), 2.0)  # and it goes on as before
    assert live_values(pipeline) == {1: 3.0, 2: 2.0}


@pytest.mark.db
def test_a_progress_write_that_fails_twice_is_logged_not_raised(pipeline, caplog):
    key = job_key(pipeline)

    def always_broken():
        raise pymysql.err.OperationalError(2013, "Lost connection to server during query")

    live = LiveProgress(pipeline.LiveJob, pipeline.LiveEpochMetric, key, guard=always_broken)
    live.start()
    with caplog.at_level(logging.WARNING):
        never_fatal(live.epoch, "live progress")(1, rows(1, 3.0), 3.0)
    assert "live progress failed, training goes on" in caplog.text
    assert len(pipeline.LiveJob()) == 0


def test_a_command_against_a_frozen_endpoint_ends_with_one_line(tmp_path):
    endpoint = SilentEndpoint()
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT), DJ_HOST="127.0.0.1", DJ_PORT=str(endpoint.port),
                   NEURAL_COTRAINING_DB_CONNECT_TIMEOUT="2", NEURAL_COTRAINING_DB_READ_TIMEOUT="2")
        # without read timeouts this waits for the server's greeting forever (the timeout below fails the test)
        done = subprocess.run([sys.executable, "-m", "neural_cotraining.cli", "worker", "--schema", "nct_test_frozen",
                               "--idle-exit", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        endpoint.close()
    assert endpoint.accepted, "the command never reached the endpoint"
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: cannot use the database at"), done.stderr


def test_a_bad_timeout_setting_is_refused_in_one_line():
    env = dict(os.environ, PYTHONPATH=str(ROOT), NEURAL_COTRAINING_DB_READ_TIMEOUT="forever")
    done = subprocess.run([sys.executable, "-m", "neural_cotraining.cli", "worker", "--schema", "nct_test_never_made",
                           "--idle-exit", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: NEURAL_COTRAINING_DB_READ_TIMEOUT must be a positive number of seconds, not 'forever'")
