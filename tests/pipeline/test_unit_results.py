"""Per-neuron test results stored with the trained model, keyed by session (data_key) and the recording's unit id."""

import math

import numpy as np
import pytest

from neural_cotraining.dataset import monkey_static_loaders
from neural_cotraining.pipeline.unit_results import BrokenUnitResultsError, unit_rows
from tests.neural_files import write_filetree, write_monkey_static
from tests.threads import torch_threads

MODEL = {"block_channels": [4, 4], "convs_per_block": 1, "readout_layer": 0, "readout_type": "factorized"}
TRAINER = {"max_epochs": 1, "device": "cpu", "verbose": False, "lr": 0.01}


@pytest.fixture(autouse=True)
def _one_thread():
    with torch_threads(1):
        yield


def _monkey_files(tmp_path):
    files = []
    for session_id, unit_ids in ((21, (301, 17, 5)), (22, (8, 9, 4000, 12))):
        path, images = write_monkey_static(
            tmp_path, session_id=session_id, n_neurons=len(unit_ids), unit_ids=unit_ids, n_bins=2,
            train_ids=tuple(range(1, 21)), test_ids=(30, 30, 30, 31, 31, 31), image_shape=(8, 8), seed=session_id,
        )
        files.append(str(path))
    return files, str(images / "individual")


def _add(pipeline, dataset_fn, dataset_config):
    pipeline.Dataset().add_entry(dataset_fn, dataset_config)
    pipeline.Model().add_entry("neural_cotraining.models.builders.multitask_model", MODEL)
    pipeline.Trainer().add_entry("neural_cotraining.trainer.builders.cotrainer", TRAINER)
    pipeline.Seed().insert1({"seed": 3}, skip_duplicates=True)


def test_monkey_unit_ids_reach_the_stored_per_neuron_results(pipeline, tmp_path):
    files, image_path = _monkey_files(tmp_path)
    config = {"neuronal_data_files": files, "image_cache_path": image_path, "time_bins_sum": 2, "split": "nnvision",
              "batch_size": 8}
    _add(pipeline, "neural_cotraining.dataset.builders.monkey_static_loaders", config)
    assert pipeline.TrainedModel().populate()["error_list"] == []
    rows = pipeline.TrainedModel.UnitResult().to_dicts(order_by="data_key, unit_index")
    assert [(r["task"], r["data_key"], r["unit_id"], r["unit_index"]) for r in rows] == [
        ("neural", "21", 301, 0), ("neural", "21", 17, 1), ("neural", "21", 5, 2),
        ("neural", "22", 8, 0), ("neural", "22", 9, 1), ("neural", "22", 4000, 2), ("neural", "22", 12, 3),
    ]
    output = pipeline.TrainedModel().to_dicts()[0]["output"]
    loaders = monkey_static_loaders(3, **config)
    for row in rows:
        reported = output["per_neuron"]["neural"][row["data_key"]]
        assert row["test_correlation"] == pytest.approx(reported["correlation"][row["unit_index"]])
        oracle = loaders["test"]["neural"][row["data_key"]].dataset.oracle[row["unit_index"]]
        assert row["oracle"] == pytest.approx(float(oracle))
        assert row["fraction_oracle"] == pytest.approx(row["test_correlation"] / row["oracle"])
    # the session's mean pooled correlation is the mean of its neurons' rows
    session = [r["test_correlation"] for r in rows if r["data_key"] == "22"]
    assert output["final"]["test"]["neural"]["correlation/22"] == pytest.approx(np.mean(session))
    # selecting neurons by id, as neuroscientists do
    chosen = pipeline.TrainedModel.UnitResult() & {"data_key": "22", "unit_id": 4000}
    assert len(chosen) == 1


def test_filetree_area_and_layer_are_stored_beside_the_unit_ids(pipeline, tmp_path):
    root, _, _ = write_filetree(tmp_path / "static5-1-2-preproc0", n_neurons=3, size=(8, 8))
    config = {"paths": [str(root)], "data_key_naming": "nnvision", "batch_size": 4}
    _add(pipeline, "neural_cotraining.dataset.builders.filetree_static_loaders", config)
    assert pipeline.TrainedModel().populate()["error_list"] == []
    rows = pipeline.TrainedModel.UnitResult().to_dicts(order_by="unit_index")
    assert [(r["data_key"], r["unit_id"], r["area"], r["layer"]) for r in rows] == [
        ("5-1-2-0", 3, "V1", "L2/3"), ("5-1-2-0", 13, "LM", "L2/3"), ("5-1-2-0", 23, "V1", "L2/3")]


def test_unit_rows_turn_nan_into_null_and_refuse_malformed_results():
    output = {"per_neuron": {"v1": {"s": {"unit_ids": [4, 2], "correlation": [0.5, 0.1], "oracle": [0.0, 0.5],
                                          "fraction_oracle": [math.nan, 0.2]}}}}
    rows = unit_rows(output)
    assert [(r["unit_id"], r["unit_index"], r["oracle"], r["fraction_oracle"]) for r in rows] == [
        (4, 0, 0.0, None), (2, 1, 0.5, 0.2)]
    assert unit_rows({"final": {}}) == [] and unit_rows({"epochs": 2}) == []  # a trainer without per-neuron output
    for broken, message in (
        ({"unit_ids": [1, 1], "correlation": [0.1, 0.2]}, "unit ids are not unique"),
        ({"unit_ids": [1, 2], "correlation": [0.1]}, r"2 unit ids but \{'correlation': 1\} values"),
        ({"correlation": [0.1]}, "malformed"),
    ):
        with pytest.raises(BrokenUnitResultsError, match=message):
            unit_rows({"per_neuron": {"v1": {"s": broken}}})


def test_malformed_per_neuron_results_store_nothing(pipeline, tmp_path, monkeypatch):
    from neural_cotraining.trainer import CoTrainer

    files, image_path = _monkey_files(tmp_path)
    _add(pipeline, "neural_cotraining.dataset.builders.monkey_static_loaders",
         {"neuronal_data_files": files, "image_cache_path": image_path, "time_bins_sum": 2})
    original = CoTrainer._finish

    def finish_with_repeated_ids(self):
        score, output, state = original(self)
        output["per_neuron"]["neural"]["21"]["unit_ids"] = [1, 1, 1]
        return score, output, state

    monkeypatch.setattr(CoTrainer, "_finish", finish_with_repeated_ids)
    errors = pipeline.TrainedModel().populate(suppress_errors=True)["error_list"]
    assert len(errors) == 1 and "unit ids are not unique" in str(errors[0])
    assert len(pipeline.TrainedModel()) == len(pipeline.TrainedModel.UnitResult()) == 0
