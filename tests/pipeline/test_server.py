import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymysql
import pytest

from neural_cotraining.pipeline import ServerError, database_settings, ensure_server
from neural_cotraining.pipeline.server.data_dir import stop_mariadb
from neural_cotraining.pipeline.server.mariadb import MAX_ALLOWED_PACKET


def _unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.db
def test_ensure_server_reports_the_version_and_raises_the_packet_limit():
    settings = database_settings()
    version = ensure_server(settings)
    connection = pymysql.connect(host=settings.host, port=settings.port, user=settings.user, password=settings.password)
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION(), @@GLOBAL.max_allowed_packet")
        server_version, packet = cursor.fetchone()
    connection.close()
    assert version == server_version
    assert packet >= MAX_ALLOWED_PACKET


def test_remote_server_that_does_not_answer_is_not_touched():
    settings = database_settings({"DJ_HOST": "127.0.0.2", "DJ_PORT": str(_unused_port())})
    assert not settings.is_local
    with pytest.raises(ServerError, match=r"root@127\.0\.0\.2:\d+ does not answer"):
        ensure_server(settings, start_timeout=1)


def test_wrong_credentials_give_one_clear_error_without_the_password():
    settings = database_settings({"DJ_USER": "nobody_here", "DJ_PASS": "s3cret-value"})
    with pytest.raises(ServerError) as error:
        ensure_server(settings)
    assert "refused the credentials" in str(error.value)
    assert "s3cret-value" not in str(error.value)


def test_settings_come_from_the_environment_with_local_defaults():
    assert database_settings({}).describe() == "mysql://root@127.0.0.1:3306"
    postgres = database_settings({"DJ_BACKEND": "postgresql", "DJ_HOST": "db.lab:5433", "DJ_USER": "me", "DJ_PASS": "pw"})
    assert postgres.describe() == "postgresql://me@db.lab:5433"
    assert "pw" not in repr(postgres)
    with pytest.raises(ValueError, match="DJ_BACKEND"):
        database_settings({"DJ_BACKEND": "sqlite"})


def test_activate_against_a_dead_server_fails_with_one_message():
    code = (
        "from neural_cotraining.pipeline import activate, DatabaseUnavailableError\n"
        "try:\n    activate('nct_never_made')\n"
        "except DatabaseUnavailableError as error:\n    print('CAUGHT', error)\n"
    )
    env = {"DJ_HOST": "127.0.0.1", "DJ_PORT": str(_unused_port()), "DJ_PASS": "hidden-pw", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("CAUGHT cannot use the database at mysql://root@127.0.0.1:")
    assert result.stdout.count("\n") == 1 and "Traceback" not in result.stderr
    assert "hidden-pw" not in result.stdout + result.stderr


def test_importing_the_pipeline_connects_to_nothing():
    code = "import neural_cotraining.pipeline, datajoint; print(hasattr(datajoint.conn, 'connection'))"
    env = {"DJ_HOST": "127.0.0.1", "DJ_PORT": str(_unused_port()), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_datajoint_is_imported_only_by_the_pipeline():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'datajoint' or name.startswith('datajoint.'):\n"
        "            raise ImportError('datajoint is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import neural_cotraining, neural_cotraining.hashing, neural_cotraining.registry\n"
        "import neural_cotraining.trainer, neural_cotraining.models, neural_cotraining.dataset\n"
        "import neural_cotraining.configs, neural_cotraining.affinity.scores, neural_cotraining.demo.plots, neural_cotraining.cli.main\n"
        "try:\n    import neural_cotraining.pipeline\nexcept ImportError as error:\n    print('blocked:', error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "blocked: datajoint is blocked"


def _uptime_of_the_shared_server() -> int:
    settings = database_settings()
    connection = pymysql.connect(host=settings.host, port=settings.port, user=settings.user, password=settings.password)
    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Uptime'")
        uptime = int(cursor.fetchone()[1])
    connection.close()
    return uptime


@pytest.mark.db
def test_a_stopped_local_server_is_started_with_the_packet_limit_raised():
    """On a throwaway server of the test's own (data directory, socket, port); the shared server keeps running."""
    shared_uptime = _uptime_of_the_shared_server()
    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="nct_mariadb_"))
    settings = database_settings({"DJ_PORT": str(_unused_port())})
    try:
        ensure_server(settings, data_dir=data_dir)  # a fresh data directory: made, started, root let in over TCP
        assert stop_mariadb(data_dir)
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(host=settings.host, port=settings.port, user=settings.user, password=settings.password,
                            connect_timeout=2)
        version = ensure_server(settings, data_dir=data_dir)
        connection = pymysql.connect(host=settings.host, port=settings.port, user=settings.user,
                                     password=settings.password)
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION(), @@GLOBAL.max_allowed_packet, @@GLOBAL.datadir")
            assert cursor.fetchone() == (version, MAX_ALLOWED_PACKET, f"{data_dir}/")
        connection.close()
    finally:
        stop_mariadb(data_dir)
        shutil.rmtree(data_dir)
    assert _uptime_of_the_shared_server() >= shared_uptime + int(time.monotonic() - started)
