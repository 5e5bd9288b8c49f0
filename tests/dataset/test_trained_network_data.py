"""MTL-Oracle and the teacher population: datasets made from models the pipeline trained.

A tiny experiment trains a neural-only predictor and a noise-trained classifier (one epoch each) in a throwaway
schema; the oracle's targets must equal the predictor's outputs (recomputed here through ``load_model``), the
teacher's rates the teacher's units (its core run here), both shuffles must keep every neuron's values and break the
pairing, and a missing or mismatched predictor must be refused at ``add`` with one line and nothing inserted."""

from __future__ import annotations

import copy
import subprocess
import sys
import uuid

import numpy as np
import pytest
import torch
import yaml

from neural_cotraining.registry import ConfigValueError
from neural_cotraining.configs import experiment_from_dict
from neural_cotraining.dataset.builders import oracle_cotraining_loaders, teacher_neural_loaders
from neural_cotraining.dataset.images.sources import load_digits_images
from neural_cotraining.dataset.images.preprocessing import resize
from neural_cotraining.dataset.simulation import simulate_sessions, load_stimuli
from neural_cotraining.dataset.simulation.loaders import simulated_populations
from neural_cotraining.dataset.simulation.teacher import teacher_sessions

SIMULATED = {"format": "simulated", "n_sessions": 2, "n_neurons": 6, "n_train_images": 80, "n_test_images": 10,
             "test_repeats": 3, "simulation_seed": 7}
IMAGE = {"image_size": 16, "noise_levels": [], "corruptions": []}
TEACHER = {"layer": 1, "n_sessions": 2, "n_neurons": 5, "n_train_images": 60, "n_test_images": 10,
           "test_repeats": 4, "simulation_seed": 3}
BASE = {
    "seeds": [1],
    "datasets": {
        "neural_only": {"fn": "neural_cotraining.dataset.builders.simulated_neural_loaders",
                        "config": {k: v for k, v in SIMULATED.items() if k != "format"}},
        "noise_trained": {"fn": "neural_cotraining.dataset.builders.digits_loaders",
                          "config": {**IMAGE, "train_noise_levels": [0.0, 0.2]}},
    },
    "models": {"small": {"fn": "neural_cotraining.models.builders.multitask_model",
                         "config": {"block_channels": [4, 8], "readout_layer": 1}}},
    "trainers": {"one_epoch": {"fn": "neural_cotraining.trainer.builders.cotrainer",
                               "config": {"max_epochs": 1, "patience": None, "restore_best": False}}},
}
PREDICTOR = {"trained_model": {"dataset": "neural_only", "model": "small", "trainer": "one_epoch", "seed": 1}}
TEACHER_MODEL = {"trained_model": {"dataset": "noise_trained", "model": "small", "trainer": "one_epoch", "seed": 1}}


def with_datasets(**datasets) -> dict:
    raw = copy.deepcopy(BASE)
    raw["datasets"].update(datasets)
    return raw


def oracle_entry(**config) -> dict:
    return {"fn": "neural_cotraining.dataset.builders.oracle_cotraining_loaders",
            "config": {"image": IMAGE, "neural": SIMULATED, "predictor": PREDICTOR, **config}}


@pytest.fixture(scope="module")
def trained():
    """The tables of a throwaway schema holding the trained predictor and teacher, and their keys."""
    from neural_cotraining.pipeline import activate
    from neural_cotraining.pipeline.experiments import add_experiment

    tables = activate(f"nct_test_{uuid.uuid4().hex[:12]}")
    try:
        jobs = add_experiment(tables, experiment_from_dict(copy.deepcopy(BASE)))
        tables.TrainedModel().populate([job["key"] for job in jobs])
        keys = {job["labels"]["dataset"]: job["key"] for job in jobs}
        yield tables, keys
    finally:
        tables.schema.drop(prompt=False)


def pixels_of(dataset) -> np.ndarray:
    mean = torch.as_tensor(dataset.mean).view(1, -1, 1, 1)
    std = torch.as_tensor(dataset.std).view(1, -1, 1, 1)
    return (dataset.images * std + mean).numpy()


@pytest.mark.db
def test_the_oracle_targets_are_the_predictors_outputs_on_the_classification_training_images(trained):
    tables, keys = trained
    trained_model = tables.TrainedModel()
    with trained_model.trained_networks():
        loaders = oracle_cotraining_loaders(seed=2, predictor={"trained_model": keys["neural_only"]}, image=IMAGE,
                                            neural=SIMULATED)
    predictor_loaders, model = trained_model.load_model(keys["neural_only"])
    images = loaders["train"]["img_classification"].dataset
    pixels = torch.from_numpy(pixels_of(images))
    for data_key, loader in loaders["train"]["neural"].items():
        own = predictor_loaders["train"]["neural"][data_key].dataset  # the predictor's own input normalisation
        x = (pixels - torch.as_tensor(own.mean).view(1, -1, 1, 1)) / torch.as_tensor(own.std).view(1, -1, 1, 1)
        with torch.no_grad():
            expected = model(x, data_key=data_key).numpy()
        assert len(loader.dataset) == len(images) > 1000  # every classification training image has a target
        assert np.allclose(loader.dataset.responses.numpy(), expected, rtol=1e-5, atol=1e-6)
        # validation and test stay the recorded sessions' trials
        assert loaders["test"]["neural"][data_key].dataset.oracle is not None


@pytest.mark.db
def test_both_shuffles_keep_each_neurons_values_and_break_the_pairing(trained):
    tables, keys = trained
    with tables.TrainedModel().trained_networks():
        oracle = {shuffle: oracle_cotraining_loaders(seed=2, predictor={"trained_model": keys["neural_only"]},
                                                     image=IMAGE, neural=SIMULATED, shuffle_targets=shuffle)
                  for shuffle in (False, True)}
        teacher = {shuffle: teacher_neural_loaders(seed=2, teacher={"trained_model": keys["noise_trained"]},
                                                   shuffle_responses=shuffle, **TEACHER)
                   for shuffle in (False, True)}
    pairs = [(oracle[False]["train"]["neural"][k].dataset, oracle[True]["train"]["neural"][k].dataset)
             for k in oracle[False]["train"]["neural"]]
    pairs += [(teacher[False]["train"]["neural"][k].dataset, teacher[True]["train"]["neural"][k].dataset)
              for k in teacher[False]["train"]["neural"]]
    assert len(pairs) == 4
    for plain, shuffled in pairs:
        before, after = plain.responses.numpy(), shuffled.responses.numpy()
        assert np.array_equal(plain.image_index, shuffled.image_index)  # the same images in the same trials
        assert np.array_equal(np.sort(before, axis=0), np.sort(after, axis=0))  # each neuron's values kept
        assert sorted(map(tuple, before.tolist())) == sorted(map(tuple, after.tolist()))  # whole vectors moved
        moved = np.mean(np.any(before != after, axis=1))
        assert moved > 0.9  # the pairing is broken for (nearly) every image


@pytest.mark.db
def test_the_teacher_population_is_the_teachers_units_through_poisson_noise(trained):
    tables, keys = trained
    trained_model = tables.TrainedModel()
    with trained_model.trained_networks():
        sessions = teacher_sessions(2, teacher={"trained_model": keys["noise_trained"]}, **TEACHER)
        loaders = teacher_neural_loaders(seed=2, teacher={"trained_model": keys["noise_trained"]}, **TEACHER)
    teacher_loaders, model = trained_model.load_model(keys["noise_trained"])
    digits = teacher_loaders["train"]["img_classification"].dataset
    for simulated in sessions:
        session, population = simulated.session, simulated.population
        x = (torch.from_numpy(session.images) - torch.as_tensor(digits.mean).view(1, -1, 1, 1)) / torch.as_tensor(
            digits.std).view(1, -1, 1, 1)
        with torch.no_grad():
            units = model.core(x, layer=1).reshape(len(x), -1)[:, population.units].clamp(min=0).numpy()
        assert np.allclose(simulated.rates, population.gain * units, rtol=1e-4, atol=1e-6)
        assert np.allclose(simulated.rates.mean(axis=0), population.gain * units.mean(axis=0), rtol=1e-4)
        # responses: counts around the rates (Poisson: integers, mean = rate)
        responses, rates = session.responses, simulated.trial_rates
        assert np.array_equal(responses, np.round(responses)) and responses.min() >= 0
        assert abs(responses.mean() / rates.mean() - 1) < 0.1
        assert np.corrcoef(responses.ravel(), rates.ravel())[0, 1] > 0.5
        # the builder hands out exactly these responses
        built = loaders["test"]["neural"][session.data_key].dataset
        assert np.array_equal(np.sort(built.responses.numpy(), axis=0),
                              np.sort(session.responses[session.trials_in("test")], axis=0))


def test_the_ground_truth_oracle_predicts_the_simulated_rates():
    loaders = oracle_cotraining_loaders(seed=2, predictor={"ground_truth": True}, image=IMAGE, neural=SIMULATED)
    pixels = pixels_of(loaders["train"]["img_classification"].dataset)
    digits = resize(load_digits_images().images, (16, 16)).numpy()
    options = {k: v for k, v in SIMULATED.items() if k not in ("format", "simulation_seed")}
    needed = options["n_train_images"] + options["n_test_images"]
    stimuli = load_stimuli("digits", (16, 16), needed, np.random.default_rng(0)).numpy()
    assert np.allclose(np.sort(stimuli.ravel()), np.sort(digits.ravel()))  # the simulation saw the same digits
    sessions = simulate_sessions(stimuli, 7, **options)
    for simulated in sessions:
        key = simulated.session.data_key
        expected = simulated.population.rates(pixels)
        assert np.allclose(loaders["train"]["neural"][key].dataset.responses.numpy(), expected, rtol=1e-4, atol=1e-5)
    assert set(simulated_populations(2, **{k: v for k, v in SIMULATED.items() if k != "format"})) == {"sim0", "sim1"}


def test_outside_the_pipeline_a_trained_model_key_is_refused_with_a_pointer():
    with pytest.raises(ValueError, match="looked up by the pipeline"):
        oracle_cotraining_loaders(seed=1, predictor={"trained_model": {"seed": 1}}, image=IMAGE, neural=SIMULATED)


def test_labels_name_the_trained_model_by_its_key():
    experiment = experiment_from_dict(with_datasets(oracle=oracle_entry()))
    key = experiment.datasets["oracle"].config["predictor"]["trained_model"]
    from neural_cotraining.hashing import make_hash
    assert key == {"dataset_fn": "neural_cotraining.dataset.builders.simulated_neural_loaders",
                   "dataset_hash": make_hash(BASE["datasets"]["neural_only"]["config"]),
                   "model_fn": "neural_cotraining.models.builders.multitask_model",
                   "model_hash": make_hash(BASE["models"]["small"]["config"]),
                   "trainer_fn": "neural_cotraining.trainer.builders.cotrainer",
                   "trainer_hash": make_hash(BASE["trainers"]["one_epoch"]["config"]), "seed": 1}



def test_a_label_naming_an_entry_by_an_older_builder_name_gets_the_canonical_name():
    raw = with_datasets(oracle=oracle_entry())
    raw["models"]["small"]["fn"] = "neural_cotraining.models.graph.builders.hard_sharing_mlp"  # an alias
    experiment = experiment_from_dict(raw)
    key = experiment.datasets["oracle"].config["predictor"]["trained_model"]
    assert key["model_fn"] == "neural_cotraining.models.builders.hard_sharing_mlp"

def entry_counts(tables) -> tuple:
    return tuple(len(getattr(tables, name)()) for name in ("Dataset", "Model", "Trainer", "Seed"))


@pytest.mark.db
@pytest.mark.parametrize("entry, message", [
    (oracle_entry(predictor={"trained_model": {**PREDICTOR["trained_model"], "seed": 99}}),
     "names no trained model"),
    (oracle_entry(neural={**SIMULATED, "n_neurons": 5}), "do not match the neural sessions"),
    (oracle_entry(neural={**SIMULATED, "n_sessions": 3}), "do not match the neural sessions"),
    ({"fn": "neural_cotraining.dataset.builders.teacher_neural_loaders",
      "config": {**TEACHER, "teacher": TEACHER_MODEL, "layer": 7}}, "out of range"),
])
def test_a_missing_or_mismatched_trained_model_is_refused_at_add_and_nothing_is_inserted(trained, entry, message):
    from neural_cotraining.pipeline.experiments import add_experiment

    tables, _ = trained
    before = entry_counts(tables)
    raw = with_datasets(bad=entry)
    raw["seeds"] = [1, 5]  # a new seed and new entries, none of which may be inserted
    raw["trainers"]["two_epochs"] = {**raw["trainers"]["one_epoch"], "config": {"max_epochs": 2}}
    with pytest.raises(ConfigValueError, match=message) as refused:
        add_experiment(tables, experiment_from_dict(raw))
    assert "\n" not in str(refused.value) and str(refused.value).startswith("datasets.bad: ")
    assert entry_counts(tables) == before


@pytest.mark.db
def test_the_command_line_refuses_a_missing_predictor_in_one_line(trained, tmp_path):
    tables, _ = trained
    raw = with_datasets(bad=oracle_entry(predictor={"trained_model": {**PREDICTOR["trained_model"], "seed": 42}}))
    raw["schema"] = tables.schema.database
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    before = entry_counts(tables)
    done = subprocess.run([sys.executable, "-m", "neural_cotraining.cli", "add", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "datasets.bad: " in errors[0] and "names no trained model" in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert entry_counts(tables) == before
