"""The PostgreSQL test harness: pipeline code runs on the local PostgreSQL in subprocesses (a process holds one
DataJoint connection, and the other tests use MariaDB); this process reads and cleans up with psycopg2."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from neural_cotraining.pipeline import database_settings, ensure_server

ROOT = Path(__file__).resolve().parents[2]
PORT = 5432


def postgres_environment(port: int = PORT, **extra: str) -> dict:
    """The environment of a process on the local PostgreSQL (made to answer first), reached through ``port`` (a
    proxy's, for the frozen-path tests); ``extra`` variables on top."""
    environment = dict(os.environ, DJ_BACKEND="postgresql", DJ_HOST="127.0.0.1", DJ_PORT=str(PORT),
                       DJ_USER="postgres", DJ_PASS="", PYTHONPATH=str(ROOT),
                       NEURAL_COTRAINING_BUILDER_MODULES="tests", OMP_NUM_THREADS="1")
    ensure_server(database_settings(environment))
    return {**environment, "DJ_PORT": str(port), **extra}


def fresh_schema_name() -> str:
    return f"nct_pg_{uuid.uuid4().hex[:10]}"


def run_on_postgresql(script: str, *arguments: str, schema: str | None = None) -> dict:
    """Run ``script`` with ``sys.argv[1]`` a schema name (``schema``, or a fresh one) and ``arguments`` after it; the
    JSON object it prints last."""
    completed = subprocess.run([sys.executable, "-c", script, schema or fresh_schema_name(), *arguments], cwd=ROOT,
                               env=postgres_environment(), capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def query(statement: str, arguments: tuple = ()) -> list[tuple]:
    """One statement on the local PostgreSQL (autocommit), its rows (none for a statement that returns none)."""
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=PORT, user="postgres", dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, arguments)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()
