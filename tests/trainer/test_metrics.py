"""Metric accumulators against direct computations, and evaluation of a split."""

import numpy as np
import pytest
import torch

from neural_cotraining.trainer.evaluation import evaluate_split
from neural_cotraining.trainer.losses import build_loss
from neural_cotraining.trainer.metrics import (
    ClassificationAccumulator,
    NeuralAccumulator,
    RegressionAccumulator,
)
from neural_cotraining.trainer.model_calls import ModelCaller
from neural_cotraining.trainer.splits import normalise_split

from .tiny_setup import make_loader


def test_neural_correlation_is_per_neuron_and_pooled_over_sessions():
    generator = torch.Generator().manual_seed(0)
    sessions = []
    for n_neurons in (3, 2):
        prediction = torch.rand(30, n_neurons, generator=generator)
        response = prediction + 0.5 * torch.rand(30, n_neurons, generator=generator)
        sessions.append((prediction, response))
    accumulators = []
    for prediction, response in sessions:
        accumulator = NeuralAccumulator()
        for start in range(0, 30, 7):  # uneven batches
            accumulator.update(prediction[start : start + 7], response[start : start + 7], torch.tensor(1.0))
        accumulators.append(accumulator)
    expected = [
        np.corrcoef(prediction[:, i].numpy(), response[:, i].numpy())[0, 1]
        for prediction, response in sessions
        for i in range(prediction.shape[1])
    ]
    metrics = NeuralAccumulator.pooled(accumulators)
    assert metrics["correlation"] == pytest.approx(np.mean(expected), abs=1e-9)
    assert metrics["loss"] == pytest.approx(1.0)


def test_a_constant_neuron_counts_as_zero_correlation():
    accumulator = NeuralAccumulator()
    prediction = torch.stack([torch.linspace(0, 1, 10), torch.full((10,), 3.0)], dim=1)
    accumulator.update(prediction, prediction.clone(), torch.tensor(0.0))
    assert accumulator.correlations().tolist() == pytest.approx([1.0, 0.0])


def test_accuracy_and_regression_errors():
    classification = ClassificationAccumulator()
    logits = torch.tensor([[2.0, 1.0], [0.0, 1.0], [3.0, 0.0]])
    classification.update(logits, torch.tensor([0, 0, 0]), torch.tensor(0.5))
    metrics = ClassificationAccumulator.pooled([classification])
    assert metrics["accuracy"] == pytest.approx(2 / 3) and metrics["loss"] == 0.5
    regression = RegressionAccumulator()
    regression.update(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0]), torch.tensor(2.5))
    metrics = RegressionAccumulator.pooled([regression])
    assert metrics["mae"] == pytest.approx(1.5)
    assert metrics["rmse"] == pytest.approx(np.sqrt(2.5))
    assert metrics["mse"] == pytest.approx(2.5)


class Identity(torch.nn.Module):
    def forward(self, x, data_key=None):
        return x


def test_evaluate_split_reports_pooled_and_per_data_key_metrics():
    values = {"a": torch.tensor([1.0, 2.0, 3.0]), "b": torch.tensor([0.0, 0.0])}
    split = normalise_split(
        {"reg": {key: make_loader(v, v + 1, batch_size=2, shuffle=False) for key, v in values.items()}}, "test"
    )
    metrics = evaluate_split(ModelCaller(Identity()), split, {"reg": build_loss("mse")}, torch.device("cpu"), True)
    assert metrics["reg"]["mae"] == pytest.approx(1.0)
    assert metrics["reg"]["mae/a"] == pytest.approx(1.0)
    assert metrics["reg"]["loss/b"] == pytest.approx(1.0)
    assert set(metrics["reg"]) == {
        f"{name}{suffix}" for name in ("mae", "rmse", "mse", "loss") for suffix in ("", "/a", "/b")}
