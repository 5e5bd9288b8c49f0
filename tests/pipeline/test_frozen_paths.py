"""Frozen network paths on MariaDB and PostgreSQL: every connection has connect and read timeouts, so ``db`` and
``status`` end with one line within the stated time against a server that never answers or a path that freezes
mid-session, and a worker stopped while its path is frozen ends within its bound: it hands its job back over a new
connection when one gets through, and otherwise says in one line that the orphan rule will release it.

Real servers behind real TCP proxies (``frozen_proxy``), real worker processes and real signals. Times are taken from
the moment the path froze (or the first connection was accepted, or the signal was sent) to the process's end.
"""

import signal
import subprocess
import time

import pytest

from tests.pipeline.frozen_proxy import FreezableProxy, SilentEndpoint
from tests.pipeline.postgres_script import fresh_schema_name, postgres_environment, query
from tests.pipeline.worker_processes import StderrLines, command_environment, run_command, start_worker

CONNECT, READ = 2, 3  # seconds: NEURAL_COTRAINING_DB_CONNECT_TIMEOUT and _READ_TIMEOUT in these tests
SLACK = 6.0  # on top of each stated bound: the process's own exit (~2 s on a loaded machine) and scheduling
PORTS = {"mysql": 3306, "postgresql": 5432}
BACKENDS = ["mysql", pytest.param("postgresql", marks=pytest.mark.db)]  # against a silent endpoint
EXPERIMENT = """
schema: {schema}
builder_modules: [tests]
seeds: [1]
datasets:
  slow: {{fn: tests.pipeline.tiny_builders.slow_regression, config: {{n_samples: 32, delay: 0.02, batch_size: 8}}}}
models:
  linear: {{fn: tests.pipeline.tiny_builders.linear_model, config: {{hidden: 4}}}}
trainers:
  cotrain:
    fn: neural_cotraining.trainer.builders.cotrainer
    config: {{max_epochs: 40, patience: null, checkpoint_every: 0, loss_functions: {{regression: mse}}, verbose: false}}
"""


def environment(backend: str, port: int) -> dict:
    timeouts = {"NEURAL_COTRAINING_DB_CONNECT_TIMEOUT": str(CONNECT), "NEURAL_COTRAINING_DB_READ_TIMEOUT": str(READ)}
    if backend == "postgresql":
        return postgres_environment(port, **timeouts)
    return command_environment(DJ_HOST="127.0.0.1", DJ_PORT=str(port), **timeouts)


def db_or_status(command: str, env: dict, tmp_path, schema: str) -> tuple[subprocess.CompletedProcess, float]:
    """``db``, or ``status`` of an experiment file naming ``schema``; (the finished process, when it ended)."""
    arguments = [command]
    if command == "status":
        path = tmp_path / "experiment.yaml"
        path.write_text(EXPERIMENT.format(schema=schema))
        arguments.append(str(path))
    done = run_command(*arguments, env=env, timeout=120)  # a command that waits forever fails here
    return done, time.monotonic()


def assert_one_error_line(done: subprocess.CompletedProcess, port: int, says: str) -> None:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {says}") and f"@127.0.0.1:{port}" in last, last


@pytest.mark.parametrize("command", ["db", "status"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_command_against_a_server_that_never_answers_ends_with_one_line(backend, command, tmp_path):
    endpoint = SilentEndpoint()
    try:
        done, ended = db_or_status(command, environment(backend, endpoint.port), tmp_path, "nct_test_silent")
    finally:
        endpoint.close()
    assert endpoint.first_accepted_at is not None, "the command never reached the endpoint"
    # one connection attempt, given up after the connect timeout (the handshake included)
    assert CONNECT <= ended - endpoint.first_accepted_at < CONNECT + SLACK
    says = "the database at" if command == "db" else "cannot use the database at"
    assert_one_error_line(done, endpoint.port, says)


@pytest.mark.db  # the path leads to a real server
@pytest.mark.parametrize("command", ["db", "status"])
@pytest.mark.parametrize("backend", PORTS)
def test_a_command_whose_path_freezes_mid_session_ends_with_one_line(backend, command, tmp_path):
    schema = fresh_schema_name()
    # a deterministic moment after the login: db's version query, status's first query naming the schema
    marker = {"db": b"VERSION()" if backend == "mysql" else b"server_version", "status": schema.encode()}[command]
    proxy = FreezableProxy(PORTS[backend], freeze_on=marker)
    try:
        done, ended = db_or_status(command, environment(backend, proxy.port), tmp_path, schema)
    finally:
        proxy.close()
    assert proxy.frozen_at is not None, done.stderr
    # the statement gives up after the read timeout; DataJoint's reconnect on MySQL then waits up to the connect one
    bound = READ + (CONNECT if backend == "mysql" and command == "status" else 0)
    assert READ <= ended - proxy.frozen_at < bound + SLACK
    says = "the database at" if command == "db" else "lost the connection to the database at"
    assert_one_error_line(done, proxy.port, says)


# ---- a worker stopped on a frozen path ----

#: after the epoch in progress (a fraction of a second here): the statement in flight (read timeout), one reconnect
#: attempt (connect timeout), the hand back over a new connection (connect timeout)
STOP_BOUND = READ + 2 * CONNECT


def stop_while_frozen(backend: str, schema: str, freeze: str) -> tuple[float, subprocess.Popen, str]:
    """A worker trains the job through a proxy; at its first epoch the proxy freezes (``freeze``: "freeze" or
    "freeze_existing") and the worker gets SIGTERM. (seconds from the signal to the worker's end, the worker, its
    stderr)."""
    proxy = FreezableProxy(PORTS[backend])
    worker = start_worker(schema, "--idle-exit", "0", "--heartbeat", "0.5", "--orphan-timeout", "2",
                          env=environment(backend, proxy.port))
    stderr = StderrLines(worker)
    try:
        stderr.wait_for(" epoch 1/")
        getattr(proxy, freeze)()
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=120)  # a worker blocked for good fails here
        return time.monotonic() - signalled, worker, stderr.text()
    finally:
        if worker.poll() is None:
            worker.kill()
        proxy.close()


def assert_handed_back(seconds: float, worker: subprocess.Popen, stderr: str) -> None:
    assert worker.returncode == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted: 1 job handed back to the queue"), stderr
    assert seconds < STOP_BOUND + SLACK, stderr


def assert_left_to_the_orphan_rule(seconds: float, worker: subprocess.Popen, stderr: str) -> None:
    assert worker.returncode == 130 and "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"interrupted: 1 job could not be handed back, the database did not answer a new "
                           f"connection within {CONNECT} s: "), last
    assert last.endswith("the orphan rule releases it 2 s after the last heartbeat (a worker on this host: at once, "
                         "this process having ended)"), last
    assert seconds < STOP_BOUND + SLACK, stderr


def add_job(pipeline):
    from neural_cotraining.trainer import cotrainer
    from tests.pipeline import tiny_builders

    pipeline.Dataset().add_entry(tiny_builders.slow_regression, {"n_samples": 32, "delay": 0.02, "batch_size": 8})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 4})
    pipeline.Trainer().add_entry(cotrainer, {"max_epochs": 40, "patience": None, "checkpoint_every": 0,
                                             "loss_functions": {"regression": "mse"}, "verbose": False})
    pipeline.Seed().insert1({"seed": 1})
    pipeline.AddedExperiment().record("every job", pipeline.TrainedModel().key_source.to_dicts())  # asked for


def test_a_stopped_worker_whose_own_connections_froze_hands_its_job_back(pipeline, schema_name):
    add_job(pipeline)
    seconds, worker, stderr = stop_while_frozen("mysql", schema_name, "freeze_existing")
    assert_handed_back(seconds, worker, stderr)
    jobs = pipeline.TrainedModel().jobs
    assert len(pipeline.TrainedModel()) == 0 and len(jobs.errors) == 0 and len(jobs.reserved) == 0
    assert len(jobs.pending) == 1


def test_a_stopped_worker_on_a_frozen_path_says_so_and_the_orphan_rule_releases_its_job(pipeline, schema_name):
    add_job(pipeline)
    seconds, worker, stderr = stop_while_frozen("mysql", schema_name, "freeze")
    assert_left_to_the_orphan_rule(seconds, worker, stderr)
    jobs = pipeline.TrainedModel().jobs
    (row,) = jobs.to_dicts()
    assert (row["status"], row["pid"]) == ("reserved", worker.pid) and len(pipeline.TrainedModel()) == 0
    # seen from another node, where the rule is its silence: a worker there releases it after --orphan-timeout (its
    # renewals stopped at the freeze, at least the read timeout ago, more than the 2 s here)
    jobs.connection.query(f"UPDATE {jobs.full_table_name} SET host='another-node'")
    second = start_worker(schema_name, "--idle-exit", "0", "--heartbeat", "0.5", "--orphan-timeout", "2")
    stdout, stderr = second.communicate(timeout=180)
    assert second.returncode == 0, stderr
    assert "silent for more than 2 s" in stderr and "worker: 1 trained, 0 failed" in stdout
    assert len(pipeline.TrainedModel()) == 1 and len(jobs) == 0


@pytest.fixture
def postgres_schema(tmp_path):
    """A schema on the local PostgreSQL holding the slow job (added by ``neural-cotraining add``), dropped after."""
    schema = fresh_schema_name()
    path = tmp_path / "experiment.yaml"
    path.write_text(EXPERIMENT.format(schema=schema))
    added = run_command("add", str(path), env=postgres_environment())
    assert added.returncode == 0, added.stderr
    yield schema
    query(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def postgres_job(schema: str) -> tuple:
    """The job's (status, pid, error_message) in its jobs table."""
    ((table,),) = query("SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name "
                        "LIKE '~~%%'", (schema,))
    (row,) = query(f'SELECT status, pid, error_message FROM "{schema}"."{table}"')
    return row


@pytest.mark.db
def test_on_postgresql_a_stopped_worker_whose_own_connections_froze_hands_its_job_back(postgres_schema):
    seconds, worker, stderr = stop_while_frozen("postgresql", postgres_schema, "freeze_existing")
    assert_handed_back(seconds, worker, stderr)
    # DataJoint does not reconnect a PostgreSQL connection: the job went back over the worker's new one
    assert "handed back to the queue over a new connection" in stderr
    status, _, error = postgres_job(postgres_schema)
    assert (status, error) == ("pending", "")  # no error recorded


@pytest.mark.db
def test_on_postgresql_a_stopped_worker_on_a_frozen_path_says_the_orphan_rule_releases_its_job(postgres_schema):
    seconds, worker, stderr = stop_while_frozen("postgresql", postgres_schema, "freeze")
    assert_left_to_the_orphan_rule(seconds, worker, stderr)
    assert postgres_job(postgres_schema) == ("reserved", worker.pid, "")
