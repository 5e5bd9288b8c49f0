"""Long-lived workers (``neural-cotraining worker``): SIGTERM hands a job over without changing its result; an idle
worker waits for jobs and exits after ``--idle-exit`` seconds; live progress is visible while a job trains."""

import signal
import time

import datajoint as dj
import pytest
import torch

from neural_cotraining.cli import main
from neural_cotraining.trainer import cotrainer
from tests.pipeline import tiny_builders
from tests.pipeline.worker_processes import start_worker, wait_for

TRAINER_CONFIG = {
    "max_epochs": 5,
    "patience": None,
    "checkpoint_every": 0,  # no periodic checkpoints: the one the stop saves is the only one
    "loss_functions": {"regression": "mse"},
    "lr": 0.02,
    "verbose": False,
}
DATASET_CONFIG = {"n_samples": 32, "delay": 0.03, "batch_size": 8}  # ~1 s an epoch: time to signal it


def add_job(pipeline, trainer_config=TRAINER_CONFIG):
    pipeline.Dataset().add_entry(tiny_builders.slow_regression, DATASET_CONFIG)
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 6})
    pipeline.Trainer().add_entry(cotrainer, trainer_config)
    pipeline.Seed().insert1({"seed": 3})
    record_every_job(pipeline)


def record_every_job(pipeline, name="every job"):
    """Ask for every job of the schema, as `add` records a file's (a worker without a file trains only those)."""
    pipeline.AddedExperiment().record(name, pipeline.TrainedModel().key_source.to_dicts())


def test_sigterm_hands_the_job_over_and_the_result_is_unchanged(pipeline, schema_name):
    add_job(pipeline)
    first = start_worker(schema_name, "--idle-exit", "0")
    # live progress, read from this process while the worker trains
    live = wait_for(lambda: [row for row in pipeline.LiveJob().to_dicts() if row["epoch"] >= 1], "epoch 1",
                    timeout=90)[0]
    assert live["worker"].endswith(f":{first.pid}")
    assert len(pipeline.LiveEpochMetric() & {"epoch": 1}) > 0 and len(pipeline.TrainedModel()) == 0
    first.send_signal(signal.SIGTERM)
    stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 130, stderr  # stopped by a signal, as a shell reports it
    assert "1 handed back (stopped by a signal)" in stdout
    trained = pipeline.TrainedModel()
    assert len(trained) == 0
    assert len(trained.jobs.pending) == 1 and len(trained.jobs.errors) == 0  # back in the queue, not failed
    stopped_at = pipeline.Checkpoint().to_arrays("epoch").tolist()
    assert len(stopped_at) == 1 and 1 <= stopped_at[0] < TRAINER_CONFIG["max_epochs"], stopped_at
    # the stopped job wrote the epochs it held for live progress: every one up to its checkpoint
    assert pipeline.LiveJob().to_dicts()[0]["epoch"] == stopped_at[0]
    assert sorted(set(pipeline.LiveEpochMetric().to_arrays("epoch").tolist())) == list(range(1, stopped_at[0] + 1))

    second = start_worker(schema_name, "--idle-exit", "0")
    stdout, stderr = second.communicate(timeout=180)
    assert second.returncode == 0, stderr
    assert "1 trained, 0 failed" in stdout
    assert f"from the checkpoint of epoch {stopped_at[0]}" in stderr

    dataloaders = tiny_builders.slow_regression(seed=3, **{**DATASET_CONFIG, "delay": 0.0})
    model = tiny_builders.linear_model(dataloaders, seed=3, hidden=6)
    score, output, state = cotrainer(model, dataloaders, seed=3, **TRAINER_CONFIG)
    _, stored = trained.load_model()
    for name, tensor in state.items():
        assert torch.equal(stored.state_dict()[name], tensor), name
    row = trained.to_dicts()[0]
    assert row["score"] == score and row["output"]["history"] == output["history"]
    assert sorted(set(trained.EpochMetric().to_arrays("epoch").tolist())) == [1, 2, 3, 4, 5]
    # the final transaction removed the live rows and the checkpoint
    assert len(pipeline.LiveJob()) == len(pipeline.LiveEpochMetric()) == len(pipeline.Checkpoint()) == 0


def test_an_idle_worker_waits_for_new_jobs_then_exits(pipeline, schema_name):
    record_every_job(pipeline, "later")  # an experiment that asks for nothing yet
    worker = start_worker(schema_name, "--idle-exit", "4")
    time.sleep(1.0)  # the worker is up (or starting) with an empty queue
    pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 16})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 3})
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 2})
    pipeline.Seed().insert([{"seed": 1}, {"seed": 2}])
    record_every_job(pipeline, "later")  # the worker reads the recorded jobs again when it looks for new ones
    stdout, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr
    assert "2 trained, 0 failed, 0 handed back" in stdout
    assert sorted(pipeline.TrainedModel().to_arrays("seed").tolist()) == [1, 2]


def test_live_progress_while_training_and_in_status(pipeline, schema_name, capsys):
    # epochs after the first are written at most every 5 s (TrainedModel.live_write_interval): ~12 s of training
    add_job(pipeline, {**TRAINER_CONFIG, "max_epochs": 12})
    worker = start_worker(schema_name, "--idle-exit", "0")
    try:
        wait_for(lambda: len(pipeline.LiveEpochMetric() & "epoch >= 2"), "epoch 2", timeout=90)
        live_epoch_1 = {(r["split"], r["task"], r["metric"]): r["value"]
                        for r in (pipeline.LiveEpochMetric() & {"epoch": 1}).to_dicts()}
        job = pipeline.LiveJob().to_dicts()[0]
        assert job["best_score"] is not None and job["epoch"] >= 2
        assert main(["watch", "--schema", schema_name, "--times", "1"]) == 0
        shown = capsys.readouterr().out
        assert "running" in shown and f":{worker.pid}" in shown
    finally:
        stdout, stderr = worker.communicate(timeout=180)
    assert worker.returncode == 0, stderr
    stored = {(r["split"], r["task"], r["metric"]): r["value"]
              for r in (pipeline.TrainedModel.EpochMetric() & {"epoch": 1}).to_dicts()}
    assert stored == live_epoch_1  # the live rows were the epoch's final values
    # the score is the validation loss (lower is better): the final best is at least as good as the best so far
    assert pipeline.TrainedModel().to_dicts()[0]["score"] <= job["best_score"]
    assert len(pipeline.LiveJob()) == len(pipeline.LiveEpochMetric()) == 0


@pytest.mark.db
def test_a_negative_idle_exit_is_refused_before_connecting(capsys):
    schema = "nct_test_never_made"
    assert main(["worker", "--schema", schema, "--idle-exit", "-1"]) == 1
    error = capsys.readouterr().err.strip()
    assert error == "error: --idle-exit must be at least 0 seconds, not -1.0"
    assert schema not in dj.list_schemas()
