"""Streaming metric accumulators, one class per loss kind.

Each accumulator keeps sufficient statistics on the model's device (no per-batch host sync) and ``pooled`` turns a
list of them (one per data_key) into one set of metrics:

- classification: ``accuracy`` (top-1, fraction in [0, 1]) and ``loss``;
- binary: ``accuracy`` (logit > 0 vs target > 0.5, per element) and ``loss``;
- regression: ``mae``, ``rmse`` (over all elements) and ``loss``;
- neural: ``correlation`` -- the single-trial Pearson correlation of each neuron between prediction and response
  over all trials of its session, averaged over the neurons of all sessions pooled -- and ``loss``. A neuron whose
  prediction or response is constant has correlation 0.

``loss`` is the sample-weighted mean of the per-batch losses.
"""

from __future__ import annotations

from typing import ClassVar

import torch

__all__ = ["ACCUMULATORS", "MetricAccumulator", "PRIMARY_METRIC", "metric_names"]


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
    names = ("accuracy", "loss")

    def __init__(self):
        super().__init__()
        self.correct = torch.zeros((), dtype=torch.float64)

    def update(self, output, target, loss):
        super().update(output, target, loss)
        predicted = output.detach().argmax(dim=1)
        self.correct = self.correct.to(output.device) + (predicted == target).sum().double()

    @classmethod
    def pooled(cls, accumulators):
        metrics = super().pooled(accumulators)
        n = sum(accumulator.n_samples for accumulator in accumulators)
        if n:
            metrics["accuracy"] = float(cls._sum(accumulators, "correct") / n)
        return {name: metrics[name] for name in cls.names}


class BinaryAccumulator(MetricAccumulator):
    names = ("accuracy", "loss")

    def __init__(self):
        super().__init__()
        self.correct = torch.zeros((), dtype=torch.float64)
        self.n_elements = 0

    def update(self, output, target, loss):
        super().update(output, target, loss)
        predicted = output.detach().reshape(target.shape) > 0
        self.correct = self.correct.to(output.device) + (predicted == (target > 0.5)).sum().double()
        self.n_elements += target.numel()

    @classmethod
    def pooled(cls, accumulators):
        metrics = super().pooled(accumulators)
        n = sum(accumulator.n_elements for accumulator in accumulators)
        if n:
            metrics["accuracy"] = float(cls._sum(accumulators, "correct") / n)
        return {name: metrics[name] for name in cls.names}


class RegressionAccumulator(MetricAccumulator):
    names = ("mae", "rmse", "loss")

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
            metrics["rmse"] = float(torch.sqrt(cls._sum(accumulators, "squared_error") / n))
        return {name: metrics[name] for name in cls.names}


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


def metric_names(kind: str) -> tuple[str, ...]:
    """The metrics reported for a loss kind."""
    return ACCUMULATORS[kind].names
