"""What a user reads on stderr when it is not a terminal: one short, labelled line per epoch of a job with the time
left (not the key dict and every metric) and one when it ends, DataJoint's connection line and its known warnings
replaced by one line naming the server; ``-q`` errors only."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiny_experiment import cotrainer, write_tiny_experiment

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.db
def test_populate_prints_one_labelled_line_per_epoch_and_quiet_prints_nothing(tmp_path, schema_name):
    path = write_tiny_experiment(
        tmp_path, schema_name, trainers={"cotrain": cotrainer(max_epochs=3, loss_functions={"regression": "mse"})})
    environment = {name: value for name, value in os.environ.items() if not name.startswith("DJ_")}
    environment.update(PYTHONPATH=str(ROOT), NEURAL_COTRAINING_BUILDER_MODULES="tests")
    command = [sys.executable, "-m", "neural_cotraining.cli"]
    try:
        trained = subprocess.run(command + ["populate", str(path), "--add"], capture_output=True, text=True,
                                 env=environment, timeout=300)
        assert trained.returncode == 0, trained.stderr[-3000:]
        lines = trained.stderr.splitlines()
        *epochs, final = [line.split(": ", 1)[1] for line in lines if "neural_cotraining.progress" in line]
        assert [line.split("  ")[:2] for line in epochs] == [
            ["small / linear / cotrain / seed 1", f"epoch {epoch}/3"] for epoch in (1, 2, 3)]
        assert all("regression mse " in line and "  best " in line for line in epochs)
        assert [bool(re.search(r"  best \S+  ~\d+ s left$", line)) for line in epochs] == [True, True, False]
        final_line = r"small / linear / cotrain / seed 1  epoch 3/3  regression mse \S+  best \S+  done in \d+ s"
        assert re.fullmatch(final_line, final), final
        assert "\r" not in trained.stderr and "\x1b" not in trained.stderr  # not a terminal: plain lines only
        assert sum("database mysql://root@127.0.0.1:3306 (" in line for line in lines) == 1
        assert "dataset_hash" not in trained.stderr  # no key dicts
        assert "connected" not in trained.stderr and "not officially supported" not in trained.stderr
        assert "Native type" not in trained.stderr
        assert max(len(line) for line in lines) < 200, max(lines, key=len)

        quiet = subprocess.run(command + ["-q", "status", str(path)], capture_output=True, text=True,
                               env=environment, timeout=300)
        assert quiet.returncode == 0 and quiet.stderr == ""
        assert quiet.stdout.startswith("jobs: 1 | done 1 |")
    finally:
        subprocess.run(command + ["-q", "drop", schema_name, "--yes"], capture_output=True, env=environment,
                       timeout=120)
