"""Tabular multi-task loaders on scikit-learn's bundled breast-cancer and diabetes tables."""

import numpy as np
import pytest
import torch

from neural_cotraining.registry import ConfigKeyError
from neural_cotraining.dataset import TABULAR_TASKS, TabularBatch, tabular_loaders, tabular_task_kinds

BREAST = list(TABULAR_TASKS["breast_cancer"])


def stacked(loader, field):
    """Every batch's ``field`` ("inputs" or "targets") of an unshuffled loader, concatenated."""
    return torch.cat([getattr(batch, field) for batch in loader])


def test_all_tasks_share_the_inputs_with_the_documented_types():
    loaders = tabular_loaders(seed=1)
    assert set(loaders) == {"train", "validation", "test"}
    for split in loaders.values():
        assert list(split) == BREAST
    batch = next(iter(loaders["train"]["malignant"]))
    assert isinstance(batch, TabularBatch)
    assert batch.inputs.dtype == torch.float32 and batch.inputs.shape == (64, 20)
    assert batch.targets.dtype == torch.float32 and batch.targets.shape == (64,)
    binary = loaders["validation"]["malignant"].dataset
    assert binary.task_kind == "binary" and not hasattr(binary, "n_classes")  # else a model builds a multiclass head
    assert set(binary.targets.unique().tolist()) == {0.0, 1.0}
    assert loaders["validation"]["worst_area"].dataset.task_kind == "regression"
    assert not any(name.startswith("worst") for name in binary.feature_names)  # held out of the inputs
    for task in BREAST[1:]:
        assert torch.equal(stacked(loaders["test"][task], "inputs"), stacked(loaders["test"]["malignant"], "inputs"))


def test_task_subsets_keep_their_order_and_the_same_split():
    full = tabular_loaders(seed=3)
    subset = tabular_loaders(seed=3, tasks=["worst_texture", "malignant"])
    for split in ("train", "validation", "test"):
        assert list(subset[split]) == ["worst_texture", "malignant"]
        for task in subset[split]:
            assert torch.equal(subset[split][task].dataset.inputs, full[split][task].dataset.inputs)
            assert torch.equal(subset[split][task].dataset.targets, full[split][task].dataset.targets)
    single = tabular_loaders(seed=3, tasks=["worst_area"])
    assert list(single["train"]) == ["worst_area"]
    assert tabular_task_kinds("breast_cancer", ["worst_texture", "malignant"]) == {
        "worst_texture": "regression", "malignant": "binary"}


def test_splits_are_deterministic_per_seed_disjoint_and_stratified():
    first = tabular_loaders(seed=5, tasks=["malignant"], standardize=False)
    again = tabular_loaders(seed=5, tasks=["malignant"], standardize=False)
    other = tabular_loaders(seed=6, tasks=["malignant"], standardize=False)
    for split in ("train", "validation", "test"):
        assert torch.equal(first[split]["malignant"].dataset.inputs, again[split]["malignant"].dataset.inputs)
    assert not torch.equal(first["test"]["malignant"].dataset.inputs, other["test"]["malignant"].dataset.inputs)
    rows = torch.cat([first[split]["malignant"].dataset.inputs for split in first])
    assert len(rows) == 569 and len(torch.unique(rows, dim=0)) == 569  # every tumour once
    sizes = {split: len(first[split]["malignant"].dataset) for split in first}
    assert sizes["validation"] == pytest.approx(0.2 * 569, abs=2) and sizes["test"] == pytest.approx(0.2 * 569, abs=2)
    overall = float(torch.cat([first[s]["malignant"].dataset.targets for s in first]).mean())
    for split in first:
        assert float(first[split]["malignant"].dataset.targets.mean()) == pytest.approx(overall, abs=0.01)


def test_training_loader_shuffles_with_its_own_generator():
    loader = tabular_loaders(seed=2, tasks=["worst_area"])["train"]["worst_area"]
    assert loader.generator is not None
    loader.generator.manual_seed(11)
    order = stacked(loader, "targets")
    loader.generator.manual_seed(11)
    assert torch.equal(stacked(loader, "targets"), order)
    assert not torch.equal(order, loader.dataset.targets)  # shuffled


def test_standardisation_uses_the_training_rows_only():
    raw = tabular_loaders(seed=4, tasks=["worst_area"], standardize=False, standardize_targets=False)
    scaled = tabular_loaders(seed=4, tasks=["worst_area"])
    train_inputs = raw["train"]["worst_area"].dataset.inputs.double()
    mean, std = train_inputs.mean(0), train_inputs.std(0, unbiased=False)
    for split in ("train", "validation", "test"):
        expected = (raw[split]["worst_area"].dataset.inputs.double() - mean) / std
        assert torch.allclose(scaled[split]["worst_area"].dataset.inputs.double(), expected, atol=1e-5)
    assert torch.allclose(scaled["train"]["worst_area"].dataset.inputs.mean(0), torch.zeros(20), atol=1e-5)
    assert not torch.allclose(scaled["validation"]["worst_area"].dataset.inputs.mean(0), torch.zeros(20), atol=1e-3)
    raw_targets = raw["train"]["worst_area"].dataset.targets.double()
    dataset = scaled["test"]["worst_area"].dataset
    assert dataset.target_mean == pytest.approx(float(raw_targets.mean()), rel=1e-6)
    assert dataset.target_std == pytest.approx(float(raw_targets.std(unbiased=False)), rel=1e-5)
    restored = dataset.targets.double() * dataset.target_std + dataset.target_mean
    assert torch.allclose(restored, raw["test"]["worst_area"].dataset.targets.double(), rtol=1e-5)


def test_diabetes_threshold_comes_from_the_training_median():
    raw = tabular_loaders(seed=1, source="diabetes", tasks=["progression"], standardize_targets=False)
    binary = tabular_loaders(seed=1, source="diabetes", tasks=["high_progression", "bmi", "bp"])
    median = float(np.median(raw["train"]["progression"].dataset.targets.numpy()))
    for split in ("train", "validation", "test"):
        expected = (raw[split]["progression"].dataset.targets > median).float()
        assert torch.equal(binary[split]["high_progression"].dataset.targets, expected)
    dataset = binary["train"]["bmi"].dataset
    assert dataset.n_features == 8 and "bmi" not in dataset.feature_names and "bp" not in dataset.feature_names


def test_unknown_task_error_names_the_available_ones():
    with pytest.raises(ValueError, match=r"no task\(s\) \['tumour_size'\].*malignant.*worst_texture"):
        tabular_loaders(seed=1, tasks=["malignant", "tumour_size"])
    with pytest.raises(ValueError, match="bmi"):
        tabular_loaders(seed=1, source="diabetes", tasks=["malignant"])


@pytest.mark.parametrize(
    "config, error, message",
    [
        ({"source": "iris"}, ValueError, r"unknown tabular source 'iris'.*breast_cancer.*diabetes"),
        ({"tasks": "malignant"}, TypeError, "list of task names"),
        ({"tasks": []}, ValueError, "tasks is empty"),
        ({"tasks": ["malignant", "malignant"]}, ValueError, "more than once"),
        ({"validation_fraction": 0.6, "test_fraction": 0.5}, ValueError, "below 1"),
        ({"test_fraction": 0.001}, ValueError, "'test' split would hold"),
        ({"task": "malignant"}, ConfigKeyError, "accepted keys"),
    ],
)
def test_bad_config_is_refused_by_name(config, error, message):
    with pytest.raises(error, match=message):
        tabular_loaders(seed=1, **config)
