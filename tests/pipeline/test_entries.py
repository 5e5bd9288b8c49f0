import numpy as np
import pytest

from neural_cotraining.registry import ConfigKeyError, ConfigValueError, DisallowedBuilderError
from neural_cotraining.hashing import UnhashableConfigError, make_hash
from tests.pipeline import tiny_builders


def test_add_entry_returns_the_key_and_stores_the_config(pipeline):
    key = pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 32}, comment="small")
    assert key == {
        "dataset_fn": "tests.pipeline.tiny_builders.random_regression",
        "dataset_hash": make_hash({"n_samples": 32}),
    }
    row = (pipeline.Dataset() & key).to_dicts()[0]
    assert row["dataset_config"] == {"n_samples": 32}
    assert row["dataset_comment"] == "small"
    assert row["dataset_fabrikant"]  # the OS user, inserted on demand
    assert len(pipeline.Fabrikant()) == 1


def test_add_entry_is_idempotent_by_hash(pipeline):
    model = pipeline.Model()
    first = model.add_entry("tests.pipeline.tiny_builders.linear_model", {"hidden": 4})
    again = model.add_entry(tiny_builders.linear_model, {"hidden": np.int64(4)}, comment="same config")
    other = model.add_entry(tiny_builders.linear_model, {"hidden": 5})
    assert first == again != other
    assert len(model) == 2


def test_numpy_config_is_stored_as_plain_python(pipeline):
    key = pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": np.int32(2), "lr": np.float64(0.1)})
    stored = (pipeline.Trainer() & key).to_dicts()[0]["trainer_config"]
    assert stored == {"epochs": 2, "lr": 0.1}
    assert type(stored["epochs"]) is int


def test_disallowed_builder_inserts_nothing(pipeline, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "")
    with pytest.raises(DisallowedBuilderError):
        pipeline.Dataset().add_entry("tests.pipeline.tiny_builders.random_regression", {})
    with pytest.raises(DisallowedBuilderError):
        pipeline.Dataset().add_entry("subprocess.run", {})
    assert len(pipeline.Dataset()) == 0
    assert len(pipeline.Fabrikant()) == 0


def test_unknown_key_inserts_nothing(pipeline):
    with pytest.raises(ConfigKeyError, match="n_samples"):
        pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_sampels": 10})
    with pytest.raises(ConfigKeyError, match="passed by the pipeline"):
        pipeline.Model().add_entry(tiny_builders.linear_model, {"seed": 3})
    assert len(pipeline.Dataset()) == 0 and len(pipeline.Model()) == 0


def test_unhashable_config_inserts_nothing(pipeline):
    with pytest.raises(UnhashableConfigError, match="config\\['noise'\\]"):
        pipeline.Dataset().add_entry(tiny_builders.random_regression, {"noise": object()})
    assert len(pipeline.Dataset()) == 0


@pytest.mark.parametrize(
    "kind, name, config, error, message",
    [
        ("Dataset", "neural_cotraining.dataset.builders.cotraining_loaders", {"image": {"shuffle_responses": True}},
         ConfigKeyError, "image does not accept.*shuffle_responses"),
        ("Dataset", "neural_cotraining.dataset.builders.digits_loaders", {"train_noise_levels": [0.1, -0.2]},
         ConfigValueError, "train_noise_levels"),
        ("Dataset", "neural_cotraining.dataset.builders.cotraining_loaders",
         {"image": {"train_noise_levels": [float("nan")]}}, ConfigValueError, "train_noise_levels"),
        ("Trainer", "neural_cotraining.trainer.builders.cotrainer",
         {"loss_weighting": "likelihood", "loss_weighting_options": {"log_variance_decay": -0.5}},
         ConfigValueError, "log_variance_decay"),
    ],
)
def test_a_bad_config_value_is_refused_by_name_and_inserts_nothing(pipeline, kind, name, config, error, message):
    with pytest.raises(error, match=message):
        getattr(pipeline, kind)().add_entry(name, config)
    assert len(getattr(pipeline, kind)()) == 0 and len(pipeline.Fabrikant()) == 0
