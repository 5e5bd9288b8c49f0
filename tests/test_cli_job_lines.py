"""``populate`` on a terminal: one line per running job, rewritten in place (``\\r``, cursor up, erase), with the
experiment file's labels and the time left; log lines and other stderr text above the job lines, never inside one;
a finished job leaves one final line. Run for real on a pseudo-terminal; ``tests/terminal.py`` replays what a
terminal shows."""

import os
import re
import sys
from pathlib import Path

import pytest

from tests.terminal import run_on_terminal, screen

ROOT = Path(__file__).resolve().parents[1]
LABELS = [f"chatty / linear / cotrain / seed {seed}" for seed in (1, 2)]


@pytest.fixture
def experiment(tmp_path, schema_name):
    path = tmp_path / "experiment.yaml"
    path.write_text(f"""
schema: {schema_name}
builder_modules: [tests]
seeds: [1, 2]
datasets:
  chatty:
    fn: tests.pipeline.tiny_builders.chatty_regression
    comment: regression data that logs a warning and writes to stderr in its second epoch (a long comment)
    config: {{n_samples: 16, delay: 0.01, batch_size: 8, chat_after: 20}}
models:
  linear: {{fn: tests.pipeline.tiny_builders.linear_model, config: {{hidden: 4}}}}
trainers:
  cotrain: {{fn: neural_cotraining.trainer.builders.cotrainer,
            config: {{max_epochs: 4, patience: null, loss_functions: {{regression: mse}}}}}}
""")
    environment = {name: value for name, value in os.environ.items() if not name.startswith("DJ_")}
    environment.update(PYTHONPATH=str(ROOT), NEURAL_COTRAINING_BUILDER_MODULES="tests", TERM="xterm")
    yield path, environment
    import subprocess

    subprocess.run([sys.executable, "-m", "neural_cotraining.cli", "-q", "drop", schema_name, "--yes"],
                   capture_output=True, env=environment, timeout=120)


def _command(*arguments) -> list[str]:
    return [sys.executable, "-m", "neural_cotraining.cli", *arguments]


@pytest.mark.parametrize("workers", ["2", "1"])
def test_a_terminal_shows_one_line_per_running_job_rewritten_in_place(experiment, workers):
    path, environment = experiment
    status, output = run_on_terminal(_command("populate", str(path), "--add", "--workers", workers), environment)
    shown = screen(output)
    assert status == 0, "\n".join(shown[-30:])

    # each job's line was drawn for every epoch, each time after a carriage return and an erase of the job lines
    frames = [frame.replace("\r", "").split("\n") for frame in re.split(r"\r(?:\x1b\[\d+A)?\x1b\[J", output)[1:]]
    for label in LABELS:
        for epoch in (1, 2, 3):
            line = re.compile(rf"{re.escape(label)}  epoch {epoch}/4  regression mse \S+  best \S+  ~\d+ s left")
            assert any(line.fullmatch(text) for frame in frames for text in frame), (label, epoch)
    # ...and what stays on the screen is one final line per job, never an epoch in progress
    finals = [line for line in shown if line.startswith(LABELS[0]) or line.startswith(LABELS[1])]
    assert sorted(line.split("  ")[0] for line in finals) == LABELS, finals
    assert all(re.fullmatch(r".*  epoch 4/4  regression mse \S+  best \S+  done in \d+ s", line) for line in finals)
    assert not any("s left" in line for line in shown), [line for line in shown if "s left" in line]

    # what else was written went above the job lines, each on its own line (one per job: each trains the data)
    warnings = [line for line in shown if "a warning in mid-training" in line]
    assert len(warnings) == 2 and all(re.fullmatch(r"\S+ \S+ WARNING tests\.chatty: a warning in mid-training", line)
                                      for line in warnings), warnings
    assert shown.count("some text on stderr") == 2
    assert not any("%|" in line or "it/s]" in line for line in shown)  # no progress bar of the co-trainer's
    assert any(line.startswith("jobs: 2 | done 2 |") for line in shown)
