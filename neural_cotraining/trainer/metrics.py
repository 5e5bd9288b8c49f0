"""Streaming metric accumulators, one class per loss kind.

Each accumulator keeps sufficient statistics on the model's device (no per-batch host sync) and ``pooled`` turns a
list of them (one per data_key) into one set of metrics (formulas in ``trainer.metric_functions``; they agree with
scikit-learn's, ``zero_division=0``):

- classification (``cross_entropy``): ``accuracy`` (top-1, fraction in [0, 1]); ``precision``, ``recall``, ``f1``
  macro-averaged over the classes that occur as target or prediction (from a confusion matrix); ``loss``;
- binary (``bce_with_logits``): positive means logit > 0, a target counts as positive if > 0.5; ``auc`` (ROC AUC
  from the logits' ranks, ties counted one half; NaN if only one class occurs), ``accuracy``, ``precision``,
  ``recall``, ``f1`` of the positive class, and ``loss``. Multi-label targets (N, k) are pooled over all elements
  (scikit-learn's ``average="micro"``). AUC needs every score, so this accumulator keeps the logits (one float per
  element) until ``pooled``;
- regression (``mse``, ``smooth_l1``): ``mae``, ``rmse``, ``mse`` (over all elements) and ``loss``;
- neural: ``correlation`` -- the single-trial Pearson correlation of each neuron between prediction and response
  over all trials of its session, averaged over the neurons of all sessions pooled -- and ``loss``. A neuron whose
  prediction or response is constant has correlation 0.

``loss`` is the sample-weighted mean of the per-batch losses. Any of these names can be monitored for model
selection, e.g. ``monitor={"validation/<task>/auc": "max"}``; ``METRIC_MODES`` says which direction is better.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from .metric_functions import binary_auc, confusion_matrix, macro_precision_recall_f1, precision_recall_f1

__all__ = ["ACCUMULATORS", "METRIC_MODES", "MetricAccumulator", "PRIMARY_METRIC", "metric_names"]


class MetricAccumulator:
    """Base: counts samples and sums the (batch-mean) loss weighted by batch size."""

    names: ClassVar[tuple[str, ...]] = ("loss",)

    def __init__(self):
        self.n_samples = 0
        self.loss_sum = None

    def update(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        n = int(target.shape[0])
        weighted = loss.detach().double() * n
        self.loss_sum = weighted if self.loss_sum is None else self.loss_sum + weighted
        self.n_samples += n

    @staticmethod
    def _sum(accumulators, attribute: str) -> torch.Tensor:
        return sum(getattr(accumulator, attribute).cpu() for accumulator in accumulators)

    @classmethod
    def pooled(cls, accumulators: list) -> dict[str, float]:
        n = sum(accumulator.n_samples for accumulator in accumulators)
        if n == 0:
            return {name: float("nan") for name in cls.names}
        return {"loss": float(cls._sum(accumulators, "loss_sum") / n)}


class ClassificationAccumulator(MetricAccumulator):
    """Confusion-matrix counts (grown to the largest class count seen)."""

    names = ("accuracy", "precision", "recall", "f1", "loss")

    def __init__(self):
        super().__init__()
        self.confusion = None

    def update(self, output, target, loss):
        super().update(output, target, loss)
        n_classes = int(output.shape[1])
        counts = confusion_matrix(target, output.detach().argmax(dim=1), n_classes)
        self.confusion = counts if self.confusion is None else _padded_sum(self.confusion, counts)

    @classmethod
    def pooled(cls, accumulators):
        metrics = super().pooled(accumulators)
        confusions = [accumulator.confusion.cpu() for accumulator in accumulators if accumulator.confusion is not None]
        if confusions:
            confusion = confusions[0]
            for other in confusions[1:]:
                confusion = _padded_sum(confusion, other)
            metrics["accuracy"] = float(confusion.diagonal().sum().double() / confusion.sum())
            metrics["precision"], metrics["recall"], metrics["f1"] = macro_precision_recall_f1(confusion)
        return {name: metrics.get(name, float("nan")) for name in cls.names}


def _padded_sum(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Sum of two square count matrices of possibly different sizes (the smaller zero-padded)."""
    size = max(first.shape[0], second.shape[0])
    total = torch.zeros(size, size, dtype=first.dtype, device=first.device)
    total[: first.shape[0], : first.shape[0]] += first
    total[: second.shape[0], : second.shape[0]] += second.to(first.device)
    return total


class BinaryAccumulator(MetricAccumulator):
    """Keeps every logit and target label (flattened) for the rank-based AUC."""

    names = ("auc", "accuracy", "precision", "recall", "f1", "loss")

    def __init__(self):
        super().__init__()
        self.scores: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []

    def update(self, output, target, loss):
        super().update(output, target, loss)
        self.scores.append(output.detach().reshape(target.shape).reshape(-1).float())
        self.labels.append((target.detach() > 0.5).reshape(-1))

    @classmethod
    def pooled(cls, accumulators):
        metrics = super().pooled(accumulators)
        scores = [score.cpu() for accumulator in accumulators for score in accumulator.scores]
        if scores:
            scores = torch.cat(scores)
            labels = torch.cat([label.cpu() for accumulator in accumulators for label in accumulator.labels])
            predicted = scores > 0
            true_positives = int((predicted & labels).sum())
            false_positives = int((predicted & ~labels).sum())
            false_negatives = int((~predicted & labels).sum())
            precision, recall, f1 = precision_recall_f1(true_positives, false_positives, false_negatives)
            metrics.update(
                auc=binary_auc(scores, labels),
                accuracy=float((predicted == labels).double().mean()),
                precision=float(precision),
                recall=float(recall),
                f1=float(f1),
            )
        return {name: metrics.get(name, float("nan")) for name in cls.names}


class RegressionAccumulator(MetricAccumulator):
    names = ("mae", "rmse", "mse", "loss")

    def __init__(self):
        super().__init__()
        self.absolute_error = torch.zeros((), dtype=torch.float64)
        self.squared_error = torch.zeros((), dtype=torch.float64)
        self.n_elements = 0

    def update(self, output, target, loss):
        super().update(output, target, loss)
        error = output.detach().reshape(target.shape).double() - target.double()
        self.absolute_error = self.absolute_error.to(output.device) + error.abs().sum()
        self.squared_error = self.squared_error.to(output.device) + error.square().sum()
        self.n_elements += target.numel()

    @classmethod
    def pooled(cls, accumulators):
        metrics = super().pooled(accumulators)
        n = sum(accumulator.n_elements for accumulator in accumulators)
        if n:
            metrics["mae"] = float(cls._sum(accumulators, "absolute_error") / n)
            metrics["mse"] = float(cls._sum(accumulators, "squared_error") / n)
            metrics["rmse"] = metrics["mse"] ** 0.5
        return {name: metrics.get(name, float("nan")) for name in cls.names}


class NeuralAccumulator(MetricAccumulator):
    """Per-neuron sums of x, y, x^2, y^2, xy (float64) for the single-trial correlation of one session."""

    names = ("correlation", "loss")

    def __init__(self):
        super().__init__()
        self.sums = None  # (5, n_neurons): x, y, xx, yy, xy

    def update(self, output, target, loss):
        super().update(output, target, loss)
        x = output.detach().reshape(target.shape).double().reshape(target.shape[0], -1)
        y = target.detach().double().reshape(target.shape[0], -1)
        batch_sums = torch.stack([x.sum(0), y.sum(0), (x * x).sum(0), (y * y).sum(0), (x * y).sum(0)])
        if self.sums is not None and self.sums.shape != batch_sums.shape:
            raise ValueError(f"neuron count changed within one session: {self.sums.shape[1]} -> {batch_sums.shape[1]}")
        self.sums = batch_sums if self.sums is None else self.sums + batch_sums

    def correlations(self) -> torch.Tensor:
        """Per-neuron Pearson correlations of this session (0 where either side is constant)."""
        n = self.n_samples
        sx, sy, sxx, syy, sxy = self.sums.cpu()
        covariance = sxy / n - (sx / n) * (sy / n)
        variance_x = (sxx / n - (sx / n) ** 2).clamp_min(0)
        variance_y = (syy / n - (sy / n) ** 2).clamp_min(0)
        denominator = torch.sqrt(variance_x * variance_y)
        # relative threshold: float64 cancellation leaves ~1e-16 * mean^2 of "variance" for a constant signal
        floor = 1e-12 * ((sx / n) ** 2 + (sy / n) ** 2 + 1e-30)
        valid = (variance_x > floor) & (variance_y > floor)
        return torch.where(valid, covariance / torch.where(valid, denominator, torch.ones_like(denominator)), 0.0)

    @classmethod
    def pooled(cls, accumulators):
        metrics = super().pooled(accumulators)
        filled = [accumulator for accumulator in accumulators if accumulator.sums is not None]
        if filled:
            metrics["correlation"] = float(torch.cat([accumulator.correlations() for accumulator in filled]).mean())
        return {name: metrics.get(name, float("nan")) for name in cls.names}


ACCUMULATORS: dict[str, type[MetricAccumulator]] = {
    "classification": ClassificationAccumulator,
    "binary": BinaryAccumulator,
    "regression": RegressionAccumulator,
    "neural": NeuralAccumulator,
}

#: the metric a task is judged by when no ``monitor`` is configured, with its direction
PRIMARY_METRIC = {
    "classification": ("accuracy", "max"),
    "binary": ("accuracy", "max"),
    "regression": ("loss", "min"),
    "neural": ("correlation", "max"),
}


#: the better direction of every metric name (for ``monitor``)
METRIC_MODES = {
    "loss": "min",
    "accuracy": "max",
    "precision": "max",
    "recall": "max",
    "f1": "max",
    "auc": "max",
    "mae": "min",
    "rmse": "min",
    "mse": "min",
    "correlation": "max",
}


def metric_kind(loss, loaders) -> str:
    """Which metrics judge a task: its loss's kind, except that a task of recorded neurons (datasets with
    ``n_neurons``) trained with a regression loss (e.g. MSE, as in the paper) is judged by the per-neuron
    correlation like any neural task."""
    if loss.kind == "regression" and any(hasattr(getattr(loader, "dataset", None), "n_neurons") for loader in loaders):
        return "neural"
    return loss.kind


def metric_names(kind: str) -> tuple[str, ...]:
    """The metrics reported for a loss kind."""
    return ACCUMULATORS[kind].names
