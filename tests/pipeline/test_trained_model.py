import pytest
import torch

from neural_cotraining.pipeline import BrokenResultError, TrainingCallback
from tests.pipeline import tiny_builders


def add_job(pipeline, seed=1, epochs=3, trainer=tiny_builders.sgd_trainer, trainer_config=None):
    pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 48})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 6})
    pipeline.Trainer().add_entry(trainer, {"epochs": epochs} if trainer_config is None else trainer_config)
    pipeline.Seed().insert1({"seed": seed}, skip_duplicates=True)


def predictions(model, dataloaders):
    with torch.no_grad():
        return torch.cat([model(x) for x, _ in dataloaders["test"]["regression"]])


@pytest.mark.parametrize("reserve_jobs", [False, True])
def test_populate_trains_and_stores_everything(pipeline, reserve_jobs):
    add_job(pipeline, epochs=3)
    result = pipeline.TrainedModel().populate(reserve_jobs=reserve_jobs)
    assert result == {"success_count": 1, "error_list": []}
    row = pipeline.TrainedModel().to_dicts()[0]
    assert row["score"] == pytest.approx(-row["output"]["final_mse"]["validation"])
    assert len(pipeline.TrainedModel.ModelState()) == 1
    epochs = pipeline.TrainedModel.EpochMetric().to_dicts(order_by="epoch, split")
    assert [(r["epoch"], r["split"], r["task"], r["metric"]) for r in epochs] == [
        (e, s, "regression", "mse") for e in range(3) for s in ("train", "validation")
    ]
    # the last epoch's validation error is the final one
    assert epochs[-1]["value"] == pytest.approx(row["output"]["final_mse"]["validation"])
    if reserve_jobs:
        jobs = pipeline.TrainedModel().jobs
        assert jobs.is_declared  # the job went through the jobs table: reserved, then completed and cleared
        assert len(jobs.pending) == len(jobs.reserved) == len(jobs.errors) == 0
    assert pipeline.TrainedModel().populate(reserve_jobs=reserve_jobs)["success_count"] == 0


def test_every_seed_is_a_job(pipeline):
    add_job(pipeline, seed=1, epochs=1)
    pipeline.Seed().insert([{"seed": 2}, {"seed": 3}])
    pipeline.TrainedModel().populate()
    assert sorted(pipeline.TrainedModel().to_arrays("seed").tolist()) == [1, 2, 3]
    scores = pipeline.TrainedModel().to_arrays("score")
    assert len(set(scores.tolist())) == 3  # different seeds, different data and initialisation


def test_load_model_reproduces_the_trained_predictions(pipeline):
    add_job(pipeline, epochs=4)
    pipeline.TrainedModel().populate()
    key = pipeline.TrainedModel().keys()[0]
    # train the same job by hand, outside the database, to get the reference weights and predictions
    dataloaders = tiny_builders.random_regression(seed=1, n_samples=48)
    reference = tiny_builders.linear_model(dataloaders, seed=1, hidden=6)
    tiny_builders.sgd_trainer(reference, dataloaders, seed=1, epochs=4)
    loaded_loaders, loaded = pipeline.TrainedModel().load_model(key)
    assert not loaded.training
    assert torch.equal(predictions(loaded, loaded_loaders), predictions(reference.eval(), dataloaders))
    untrained = tiny_builders.linear_model(dataloaders, seed=1, hidden=6)
    assert not torch.equal(predictions(untrained, dataloaders), predictions(loaded, loaded_loaders))


def test_load_model_needs_exactly_one_match(pipeline):
    add_job(pipeline, epochs=1)
    pipeline.Seed().insert1({"seed": 2})
    pipeline.TrainedModel().populate()
    with pytest.raises(KeyError, match="matches 2 trained models"):
        pipeline.TrainedModel().load_model()


def test_nnfabrik_heartbeat_trainer_runs(pipeline):
    add_job(pipeline, trainer=tiny_builders.heartbeat_trainer, trainer_config={"epochs": 2})
    pipeline.TrainedModel().populate()
    assert pipeline.TrainedModel().to_dicts()[0]["output"] == {"epochs": 2}
    assert len(pipeline.TrainedModel.EpochMetric()) == 0


def test_broken_result_stores_nothing_and_records_the_error(pipeline):
    add_job(pipeline, trainer_config={"epochs": 3, "fail_at_epoch": 1})
    result = pipeline.TrainedModel().populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 0
    assert "score is nan" in result["error_list"][0][1]
    assert len(pipeline.TrainedModel()) == 0
    assert len(pipeline.TrainedModel.ModelState()) == 0
    assert len(pipeline.TrainedModel.EpochMetric()) == 0
    errors = pipeline.TrainedModel().jobs.errors.to_dicts()
    assert len(errors) == 1 and "BrokenResultError" in errors[0]["error_message"]
    with pytest.raises(BrokenResultError):
        pipeline.TrainedModel().populate()


def test_callback_flattens_metrics_and_keeps_the_latest_report_of_an_epoch():
    beats = []
    callback = TrainingCallback(on_heartbeat=lambda: beats.append(1))
    callback()
    callback(epoch=0, metrics={"train": {"a": {"loss": 2.0}}, "validation": {"a": {"acc": float("nan")}}})
    callback(epoch=0, metrics={"train": {"a": {"loss": 1.5}}})
    assert len(beats) == 3
    assert callback.epoch_rows == [{"epoch": 0, "split": "train", "task": "a", "metric": "loss", "value": 1.5}]
    callback(epoch=1, metrics={"validation": {"a": {"acc": float("inf")}}})
    assert callback.epoch_rows[-1]["value"] is None


def test_progress_without_an_experiment_file_is_labelled_by_the_entries_comments_shortened(pipeline, caplog):
    import logging

    from neural_cotraining.trainer import cotrainer

    pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 16},
                                 comment="random regression data, sixteen samples per split")
    model = pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 4}, comment="")
    pipeline.Trainer().add_entry(cotrainer, {"max_epochs": 2, "loss_functions": {"regression": "mse"},
                                             "verbose": False}, comment="two epochs")
    pipeline.Seed().insert1({"seed": 1})
    with caplog.at_level(logging.INFO, logger="neural_cotraining.progress"):
        assert pipeline.TrainedModel().populate(reserve_jobs=True)["success_count"] == 1
    records = [record for record in caplog.records if record.name == "neural_cotraining.progress"]
    label = f"random regression dat... / {model['model_hash'][:8]} / two epochs / seed 1"
    assert [record.getMessage().split("  ")[:2] for record in records] == [
        [label, "epoch 1/2"], [label, "epoch 2/2"], [label, "epoch 2/2"]]
    assert records[-1].getMessage().endswith(" s") and "  done in " in records[-1].getMessage()
    job = records[0].progress["job"]
    assert [record.progress for record in records] == [
        {"job": job, "final": False}, {"job": job, "final": False}, {"job": job, "final": True}]
