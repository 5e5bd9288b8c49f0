"""Run a pipeline script on the local PostgreSQL in a subprocess (a process holds one DataJoint connection, and
the other tests use MariaDB)."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from neural_cotraining.pipeline import database_settings, ensure_server

ROOT = Path(__file__).resolve().parents[2]


def run_on_postgresql(script: str) -> dict:
    """Run ``script`` (``sys.argv[1]`` is a fresh schema name) with DJ_BACKEND=postgresql; the JSON object it
    prints last."""
    environment = dict(os.environ, DJ_BACKEND="postgresql", DJ_HOST="127.0.0.1", DJ_PORT="5432", DJ_USER="postgres",
                       DJ_PASS="", PYTHONPATH=str(ROOT), NEURAL_COTRAINING_BUILDER_MODULES="tests",
                       OMP_NUM_THREADS="1")
    ensure_server(database_settings(environment))
    schema = f"nct_pg_{uuid.uuid4().hex[:10]}"
    completed = subprocess.run([sys.executable, "-c", script, schema], cwd=ROOT, env=environment,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])
