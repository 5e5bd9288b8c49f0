"""Where the connection goes: DataJoint's own configuration (the DJ_* environment, dj.config set in the process,
a datajoint.json), the local default only where none names a server, and a named server that does not answer is an
error, never a fall-back. Each source is set in a process of its own, as DataJoint reads them at import."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(arguments: list[str], cwd: Path, **environment) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DJ_")}
    env.update(PYTHONPATH=str(ROOT), DJ_LOG_STREAM="stderr", **environment)  # stdout: what the script prints
    return subprocess.run([sys.executable, *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def _config_file(folder: Path, **database) -> Path:
    path = folder / "datajoint.json"
    path.write_text(json.dumps({"database": database}))
    return path


@pytest.mark.db
def test_a_datajoint_json_names_the_server_and_the_command_says_so(tmp_path):
    path = _config_file(tmp_path, host="localhost", port=3306)
    result = _run(["-m", "neural_cotraining.cli", "db"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"database answers at mysql://root@localhost:3306 (host, port from {path}; user from the local default): ")


CONNECT_AND_REPORT = """
import datajoint as dj
from neural_cotraining.pipeline import DatabaseUnavailableError, connect
try:
    connect()
except DatabaseUnavailableError as error:
    print("REFUSED", error)
{set_in_process}
connection = connect(reset=True)
print("CONNECTED", connection.conn_info["host"], connection.conn_info["port"], connection.conn_info["user"])
print("CONFIG", dj.config["database.host"], dj.config["database.port"], dj.config["database.user"])
"""


@pytest.mark.db
def test_a_wrong_port_in_datajoint_json_fails_loudly_and_dj_config_set_in_the_process_wins_over_it(tmp_path):
    port = _unused_port()
    path = _config_file(tmp_path, port=port)
    script = CONNECT_AND_REPORT.format(set_in_process="dj.config['database.port'] = 3306\n"
                                                      "dj.config['database.user'] = 'root'")
    result = _run(["-c", script], tmp_path)
    assert result.returncode == 0, result.stderr
    refused, connected, config = result.stdout.splitlines()
    # the file's port is used and refused: no fall-back to the server that answers on 3306
    assert refused.startswith(f"REFUSED cannot use the database at mysql://root@127.0.0.1:{port}: ")
    assert refused.endswith(f"(host, user from the local default; port from {path})")
    assert connected == "CONNECTED 127.0.0.1 3306 root"
    # dj.config is read, not overwritten: the process's own values stay (the host it never set stays DataJoint's)
    assert config == "CONFIG localhost 3306 root"


@pytest.mark.db
def test_the_environment_wins_over_datajoint_json(tmp_path):
    port = _unused_port()
    _config_file(tmp_path, host="127.0.0.1", port=3306)
    result = _run(["-c", CONNECT_AND_REPORT.format(set_in_process="dj.config['database.port'] = 3306")], tmp_path,
                  DJ_HOST="localhost", DJ_PORT=str(port))
    assert result.returncode == 0, result.stderr
    refused, connected, _ = result.stdout.splitlines()
    assert refused == (f"REFUSED cannot use the database at mysql://root@localhost:{port}: Can't connect to MySQL "
                       f"server on 'localhost' ([Errno 111] Connection refused) (host from DJ_HOST; port from DJ_PORT; "
                       "user from the local default)")
    assert connected == "CONNECTED localhost 3306 root"


@pytest.mark.db
def test_a_host_that_does_not_resolve_fails_in_one_line_without_falling_back(tmp_path):
    result = _run(["-m", "neural_cotraining.cli", "db"], tmp_path, DJ_HOST="no-such-host.invalid")
    assert result.returncode == 1
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the database at mysql://root@no-such-host.invalid:3306 does not answer"), last
    assert last.endswith("start it there (host from DJ_HOST; port, user from the local default)")
