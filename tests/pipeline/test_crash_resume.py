"""A worker killed with SIGKILL in mid-training: the next worker resumes from the latest checkpoint and ends with
exactly the weights and metrics of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from neural_cotraining.trainer import cotrainer
from tests.pipeline import tiny_builders

ROOT = Path(__file__).resolve().parents[2]
TRAINER_CONFIG = {
    "max_epochs": 6,
    "patience": None,
    "checkpoint_every": 1,
    "loss_functions": {"regression": "mse"},
    "lr": 0.02,
    "verbose": False,
}
DATASET_CONFIG = {"n_samples": 32, "delay": 0.02, "batch_size": 8}  # ~0.6 s an epoch: time to kill it


def start_worker(schema_name):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NEURAL_COTRAINING_BUILDER_MODULES="tests", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pipeline.worker", schema_name],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_checkpoint(pipeline, epoch, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        epochs = pipeline.Checkpoint().to_arrays("epoch").tolist()
        if epochs and max(epochs) >= epoch:
            return max(epochs)
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of epoch {epoch} within {timeout} s")


def uninterrupted_run():
    dataloaders = tiny_builders.slow_regression(seed=3, **{**DATASET_CONFIG, "delay": 0.0})
    model = tiny_builders.linear_model(dataloaders, seed=3, hidden=6)
    return cotrainer(model, dataloaders, seed=3, **TRAINER_CONFIG)


def test_sigkilled_worker_is_resumed_from_its_checkpoint(pipeline, schema_name):
    pipeline.Dataset().add_entry(tiny_builders.slow_regression, DATASET_CONFIG)
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 6})
    pipeline.Trainer().add_entry(cotrainer, TRAINER_CONFIG)
    pipeline.Seed().insert1({"seed": 3})
    trained = pipeline.TrainedModel()
    trained.jobs.refresh()

    first = start_worker(schema_name)
    killed_after = wait_for_checkpoint(pipeline, epoch=2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert killed_after < TRAINER_CONFIG["max_epochs"], "the worker finished before it could be killed"
    assert len(trained) == 0 and len(trained.jobs.reserved) == 1  # the dead worker's reservation is left behind

    second = start_worker(schema_name)
    stdout, stderr = second.communicate(timeout=180)
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report == {"released": 1, "success_count": 1, "errors": []}, stderr
    resumed_from = int(stderr.split("from the checkpoint of epoch ")[1].split()[0])
    assert resumed_from >= killed_after

    score, output, state = uninterrupted_run()
    _, model = trained.load_model()
    for name, tensor in state.items():
        assert torch.equal(model.state_dict()[name], tensor), name
    row = trained.to_dicts()[0]
    assert row["score"] == score
    assert row["output"]["final"] == output["final"]
    assert row["output"]["history"] == output["history"]
    epochs = sorted(set(trained.EpochMetric().to_arrays("epoch").tolist()))
    assert epochs == list(range(1, TRAINER_CONFIG["max_epochs"] + 1))  # none lost, none duplicated
    assert len(pipeline.Checkpoint()) == 0  # removed once the model is stored
    assert len(trained.jobs) == 0
