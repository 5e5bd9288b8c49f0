"""A job trained on two processes through the pipeline: stored like any job (rank 0 reports and stores); a failing
rank fails the job with its error, stores nothing and leaves no reservation behind."""

import torch

from neural_cotraining.trainer import cotrainer
from tests.pipeline import tiny_builders

TRAINER_CONFIG = {"max_epochs": 2, "patience": None, "loss_functions": {"regression": "mse"}, "verbose": False,
                  "device": "cpu", "world_size": 2, "checkpoint_every": 1}


def add_job(pipeline, broken):
    pipeline.Dataset().add_entry(tiny_builders.breaking_regression, {"broken": broken})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 4})
    pipeline.Trainer().add_entry(cotrainer, TRAINER_CONFIG)
    pipeline.Seed().insert1({"seed": 2})


def test_a_two_process_job_is_stored_like_any_other(pipeline):
    add_job(pipeline, broken=None)
    trained = pipeline.TrainedModel()
    assert trained.populate(reserve_jobs=True) == {"success_count": 1, "error_list": []}
    row = trained.to_dicts()[0]
    assert row["output"]["epochs_run"] == 2
    assert sorted(set(trained.EpochMetric().to_arrays("epoch").tolist())) == [1, 2]  # rank 0 reported, once each
    _, model = trained.load_model()
    assert all(torch.isfinite(tensor).all() for tensor in model.state_dict().values())
    assert len(pipeline.Checkpoint()) == len(pipeline.LiveJob()) == len(trained.jobs) == 0


def test_a_failing_rank_fails_the_job_and_nothing_is_stored(pipeline):
    add_job(pipeline, broken=14)  # batches of 8 unshuffled: item 14 is in rank 1's half of the second batch
    trained = pipeline.TrainedModel()
    result = trained.populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 0
    message = result["error_list"][0][1]
    assert message.startswith("RankFailedError: rank 1 failed: ValueError: broken sample 14"), message
    assert len(trained) == len(trained.EpochMetric()) == len(pipeline.Checkpoint()) == 0
    assert len(trained.jobs.reserved) == 0 and len(trained.jobs.errors) == 1
