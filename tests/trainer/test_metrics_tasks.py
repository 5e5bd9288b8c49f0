"""Per-task metric accumulators against scikit-learn, and metrics (AUC, F1, MSE...) as monitored model-selection
metrics through ``cotrainer``."""

import logging

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
    roc_auc_score,
)
from torch import nn

from neural_cotraining.trainer import cotrainer
from neural_cotraining.trainer.metrics import (
    BinaryAccumulator,
    ClassificationAccumulator,
    RegressionAccumulator,
    metric_names,
)

from .tiny_setup import make_loader


def accumulate(cls, pieces, batch_size=7):
    """One accumulator per (output, target) piece (a data_key each), fed in uneven batches."""
    accumulators = []
    for output, target in pieces:
        accumulator = cls()
        for start in range(0, len(target), batch_size):
            accumulator.update(output[start:start + batch_size], target[start:start + batch_size], torch.tensor(0.2))
        accumulators.append(accumulator)
    return cls.pooled(accumulators)


def test_binary_metrics_pooled_over_data_keys_match_sklearn():
    generator = torch.Generator().manual_seed(0)
    pieces = []
    for n in (30, 23):
        target = (torch.rand(n, generator=generator) < 0.4).float()
        logits = torch.round(2 * (target - 0.5) + 1.5 * torch.randn(n, generator=generator))  # ties in the scores
        pieces.append((logits.unsqueeze(1), target))  # (N, 1) logits vs (N,) targets
    metrics = accumulate(BinaryAccumulator, pieces)
    assert tuple(metrics) == metric_names("binary")
    scores = torch.cat([output.squeeze(1) for output, _ in pieces]).numpy()
    truth = torch.cat([target for _, target in pieces]).numpy() > 0.5
    predicted = scores > 0
    assert metrics["auc"] == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    reference = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)[:3]
    assert [metrics["precision"], metrics["recall"], metrics["f1"]] == pytest.approx(list(reference), abs=1e-12)
    assert metrics["loss"] == pytest.approx(0.2)


def test_multi_label_binary_metrics_are_pooled_over_elements_like_sklearn_micro():
    generator = torch.Generator().manual_seed(1)
    target = (torch.rand(40, 3, generator=generator) < 0.5).float()
    logits = target - 0.5 + torch.randn(40, 3, generator=generator)
    metrics = accumulate(BinaryAccumulator, [(logits, target)])
    truth, scores = target.numpy().astype(int), logits.numpy()
    assert metrics["auc"] == pytest.approx(roc_auc_score(truth, scores, average="micro"), abs=1e-12)
    reference = precision_recall_fscore_support(truth, (scores > 0).astype(int), average="micro", zero_division=0)
    assert [metrics["precision"], metrics["recall"], metrics["f1"]] == pytest.approx(list(reference[:3]), abs=1e-12)


def test_classification_metrics_pooled_over_data_keys_match_sklearn():
    generator = torch.Generator().manual_seed(2)
    pieces = []
    for n, n_classes in ((40, 4), (25, 3)):  # a data_key with fewer classes: confusion matrices are padded
        target = torch.randint(0, n_classes, (n,), generator=generator)
        logits = 2 * nn.functional.one_hot(target, n_classes) + torch.randn(n, n_classes, generator=generator) * 1.5
        pieces.append((logits, target))
    metrics = accumulate(ClassificationAccumulator, pieces)
    assert tuple(metrics) == metric_names("classification")
    truth = torch.cat([target for _, target in pieces]).numpy()
    predicted = torch.cat([logits.argmax(1) for logits, _ in pieces]).numpy()
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    reference = precision_recall_fscore_support(truth, predicted, average="macro", zero_division=0)[:3]
    assert [metrics["precision"], metrics["recall"], metrics["f1"]] == pytest.approx(list(reference), abs=1e-12)


def test_regression_metrics_match_sklearn():
    generator = torch.Generator().manual_seed(3)
    pieces = [(torch.randn(n, 2, generator=generator), torch.randn(n, 2, generator=generator)) for n in (20, 9)]
    metrics = accumulate(RegressionAccumulator, pieces)
    assert tuple(metrics) == metric_names("regression")
    truth = torch.cat([target for _, target in pieces]).double().numpy().ravel()
    prediction = torch.cat([output for output, _ in pieces]).double().numpy().ravel()
    assert metrics["mae"] == pytest.approx(mean_absolute_error(truth, prediction), rel=1e-12)
    assert metrics["mse"] == pytest.approx(mean_squared_error(truth, prediction), rel=1e-12)
    assert metrics["rmse"] == pytest.approx(np.sqrt(mean_squared_error(truth, prediction)), rel=1e-12)


def tabular_dataloaders(seed=0):
    """Tabular inputs with a binary and a regression target (the general multi-task case)."""
    generator = torch.Generator().manual_seed(seed)
    direction = torch.randn(4, generator=generator)
    loaders = {}
    for index, (split, n) in enumerate((("train", 96), ("validation", 48), ("test", 48))):
        x = torch.randn(n, 4, generator=generator)
        binary = ((x @ direction + 0.5 * torch.randn(n, generator=generator)) > 0).float()
        value = x[:, 0] - x[:, 1] + 0.1 * torch.randn(n, generator=generator)
        shuffle = split == "train"
        loaders[split] = {"churn": make_loader(x, binary, 16, shuffle, seed + index),
                          "spend": make_loader(x, value, 16, shuffle, seed + index + 10)}
    return loaders


class TabularModel(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.core = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
        self.heads = nn.ModuleDict({"churn": nn.Linear(8, 1), "spend": nn.Linear(8, 1)})

    def forward(self, x, task=None, data_key=None):
        return self.heads[task](self.core(x)).squeeze(1)


TABULAR = dict(loss_functions={"churn": "bce_with_logits", "spend": "mse"}, main_task="churn", max_epochs=4,
               patience=None, lr=0.02, verbose=False)


def test_auc_is_a_monitored_model_selection_metric_and_final_metrics_match_sklearn():
    model = TabularModel()
    loaders = tabular_dataloaders()
    score, output, _ = cotrainer(model, loaders, seed=0, monitor={"validation/churn/auc": "max"},
                                 loss_weighting="gradnorm", **TABULAR)
    assert output["score_metric"] == "validation/churn/auc"
    aucs = [entry["metrics"]["validation"]["churn"]["auc"] for entry in output["history"]]
    assert score == max(aucs) and output["best_epoch"] == aucs.index(max(aucs)) + 1
    final = output["final"]
    assert set(final["test"]["churn"]) == set(metric_names("binary"))
    assert set(final["test"]["spend"]) == set(metric_names("regression"))
    x, binary = loaders["test"]["churn"].dataset.tensors
    _, value = loaders["test"]["spend"].dataset.tensors
    with torch.no_grad():  # the returned model holds the best weights
        logits, prediction = model.eval()(x, task="churn"), model(x, task="spend")
    assert final["test"]["churn"]["auc"] == pytest.approx(roc_auc_score(binary.numpy(), logits.numpy()), abs=1e-9)
    assert final["test"]["spend"]["mse"] == pytest.approx(mean_squared_error(value.numpy(), prediction.numpy()),
                                                          rel=1e-5)


def test_monitoring_an_unreported_metric_or_the_wrong_direction(caplog):
    with pytest.raises(ValueError, match=r"reports \['mae', 'rmse', 'mse', 'loss'\], not 'auc'"):
        cotrainer(TabularModel(), tabular_dataloaders(), seed=0, monitor={"validation/spend/auc": "max"}, **TABULAR)
    with caplog.at_level(logging.WARNING, logger="neural_cotraining.trainer.builders"):
        cotrainer(TabularModel(), tabular_dataloaders(), seed=0, monitor={"validation/spend/mse": "max"},
                  **{**TABULAR, "max_epochs": 1})
    assert any("mse is better when it is at its min" in record.message for record in caplog.records)


def test_neural_task_trained_with_mse_is_judged_by_correlation():
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from neural_cotraining.trainer import cotrainer

    class Responses(TensorDataset):
        n_neurons = 3

    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(64, 5, generator=generator)
    rates = torch.nn.functional.softplus(inputs[:, :3] * 2)
    split = lambda part: {"neural": {"s0": DataLoader(Responses(inputs[part], rates[part]), batch_size=16)}}  # noqa: E731
    loaders = {"train": split(slice(0, 48)), "validation": split(slice(48, 64)), "test": split(slice(48, 64))}
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Softplus())
    score, output, _ = cotrainer(model, loaders, seed=0, max_epochs=2, loss_functions={"neural": "mse"}, verbose=False)
    assert output["score_metric"] == "validation/neural/correlation"
    assert set(output["final"]["test"]["neural"]) >= {"correlation", "loss"}
    assert score == output["history"][output["best_epoch"] - 1]["metrics"]["validation"]["neural"]["correlation"]
