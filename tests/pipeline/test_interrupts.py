"""Ctrl-C (SIGINT to the process group, as a terminal sends it) and SIGTERM to ``populate`` and ``worker``: every
running job checkpoints at the end of its epoch and goes back to the queue; no error row, no traceback, exit 130
and one line naming what was handed back. A second Ctrl-C hands back at once, without a checkpoint."""

import os
import signal
import subprocess
import sys

import pytest

from tests.pipeline.worker_processes import ROOT, start_command, wait_for

EPOCHS = 300  # long enough that both jobs train at once on a loaded machine; every test stops them


def experiment(tmp_path, schema_name, seeds=(1, 2), delay=0.02):
    path = tmp_path / "slow.yaml"
    path.write_text(f"""
schema: {schema_name}
builder_modules: [tests]
seeds: {list(seeds)}
datasets:
  slow: {{fn: tests.pipeline.tiny_builders.slow_regression, config: {{n_samples: 32, delay: {delay}, batch_size: 8}}}}
models:
  linear: {{fn: tests.pipeline.tiny_builders.linear_model, config: {{hidden: 4}}}}
trainers:
  cotrain:
    fn: neural_cotraining.trainer.builders.cotrainer
    config: {{max_epochs: {EPOCHS}, patience: null, checkpoint_every: 0, loss_functions: {{regression: mse}},
             lr: 0.02, verbose: false}}
""")
    return path


def start(*arguments):
    # a process group of its own, as a shell gives a foreground job: Ctrl-C signals the whole group
    return start_command(*arguments, new_session=True)


def running_jobs(pipeline, count):
    return wait_for(lambda: len(pipeline.LiveJob() & "epoch >= 1") >= count, f"{count} jobs training", timeout=300,
                    every=0.1)


def assert_handed_back(pipeline, process, jobs, checkpoints):
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"interrupted: {jobs} job"), last
    assert last.count("slow / linear / cotrain / seed") == jobs, last
    trained = pipeline.TrainedModel()
    assert len(trained) == 0
    assert len(trained.jobs.errors) == 0 and len(trained.jobs.reserved) == 0
    assert len(trained.jobs.pending) == jobs, stderr
    assert len(pipeline.Checkpoint()) == checkpoints, stderr
    return stderr


@pytest.mark.db
def test_ctrl_c_to_populate_with_two_workers_hands_both_jobs_back(pipeline, schema_name, tmp_path):
    populate = start("populate", str(experiment(tmp_path, schema_name)), "--workers", "2", "--add")
    running_jobs(pipeline, 2)
    os.killpg(populate.pid, signal.SIGINT)
    assert_handed_back(pipeline, populate, jobs=2, checkpoints=2)
    epochs = pipeline.Checkpoint().to_arrays("epoch").tolist()
    assert all(1 <= epoch < EPOCHS for epoch in epochs), epochs


@pytest.mark.db
def test_sigterm_to_populate_alone_reaches_its_workers(pipeline, schema_name, tmp_path):
    populate = start("populate", str(experiment(tmp_path, schema_name)), "--workers", "2", "--add")
    running_jobs(pipeline, 2)
    populate.send_signal(signal.SIGTERM)  # the parent only, as `kill PID` or a scheduler does
    assert_handed_back(pipeline, populate, jobs=2, checkpoints=2)


@pytest.mark.db
def test_a_second_ctrl_c_hands_back_at_once_without_a_checkpoint(pipeline, schema_name, tmp_path):
    import threading

    # ~3 s epochs: the second Ctrl-C comes well before the epoch in progress ends
    path = experiment(tmp_path, schema_name, seeds=[1], delay=0.1)
    populate = start("populate", str(path), "--reserve-jobs", "--add")
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(populate.stderr), daemon=True)
    reader.start()
    running_jobs(pipeline, 1)
    os.killpg(populate.pid, signal.SIGINT)
    # a signal sent before the first is handled would merge with it: wait until the process has seen the first
    wait_for(lambda: any("SIGINT received: stopping at the end" in line for line in lines), "the first Ctrl-C seen",
             timeout=300, every=0.1)
    os.killpg(populate.pid, signal.SIGINT)
    populate.wait(timeout=120)
    reader.join(timeout=30)
    stderr = "".join(lines)
    assert populate.returncode == 130 and "Traceback" not in stderr, stderr
    assert "SIGINT received: stopping at once" in stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted: 1 job handed back"), stderr
    trained = pipeline.TrainedModel()
    assert len(trained) == 0 and len(trained.jobs.errors) == 0 and len(trained.jobs.pending) == 1
    assert len(pipeline.Checkpoint()) == 0, stderr  # handed back at once: no checkpoint of the epoch in progress


@pytest.mark.db
def test_ctrl_c_to_a_worker_hands_its_job_back(pipeline, schema_name, tmp_path):
    path = experiment(tmp_path, schema_name, seeds=[1])
    assert subprocess.run([sys.executable, "-m", "neural_cotraining.cli", "add", str(path)], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True).returncode == 0
    worker = start("worker", str(path), "--idle-exit", "0", "--poll", "0.2")
    running_jobs(pipeline, 1)
    os.killpg(worker.pid, signal.SIGINT)
    stderr = assert_handed_back(pipeline, worker, jobs=1, checkpoints=1)
    assert "SIGINT received" in stderr


@pytest.mark.db
def test_ctrl_c_to_populate_without_reservations_keeps_the_checkpoint(pipeline, schema_name, tmp_path):
    populate = start("populate", str(experiment(tmp_path, schema_name, seeds=[1])), "--add")
    running_jobs(pipeline, 1)
    os.killpg(populate.pid, signal.SIGINT)
    stdout, stderr = populate.communicate(timeout=120)
    assert populate.returncode == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted: 1 job handed back"), stderr
    assert len(pipeline.TrainedModel()) == 0 and len(pipeline.Checkpoint()) == 1
