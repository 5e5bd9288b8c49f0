"""Metric formulas on whole tensors (CPU, float64), used by the accumulators in ``trainer.metrics``.

Conventions follow scikit-learn's (the tests use it as the reference): an undefined ratio (no predicted positives for
precision, no actual positives for recall, precision + recall = 0 for F1) is 0 (``zero_division=0``); macro averages
run over the classes that occur in the targets or the predictions; AUC is NaN when only one class occurs.
"""

from __future__ import annotations

import torch

__all__ = ["average_ranks", "binary_auc", "confusion_matrix", "precision_recall_f1", "macro_precision_recall_f1"]


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks of a 1-d tensor, tied values sharing the mean of their ranks (float64)."""
    order = torch.argsort(values, stable=True)
    _, inverse, counts = torch.unique_consecutive(values[order], return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    group_ranks = ends - (counts.double() - 1) / 2  # mean of ranks (end - count + 1) ... end
    ranks = torch.empty(values.numel(), dtype=torch.float64)
    ranks[order] = group_ranks[inverse]
    return ranks


def binary_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve from ranks (Mann-Whitney U / (n_pos n_neg)): the probability that a random positive
    scores above a random negative, ties counting one half. ``labels`` boolean; NaN if either class is missing."""
    scores = scores.reshape(-1).double().cpu()
    labels = labels.reshape(-1).bool().cpu()
    n_positive = int(labels.sum())
    n_negative = labels.numel() - n_positive
    if n_positive == 0 or n_negative == 0:
        return float("nan")
    rank_sum = float(average_ranks(scores)[labels].sum())
    return (rank_sum - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)


def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(n_classes, n_classes) int64 counts, rows = true class, columns = predicted class (on the inputs' device)."""
    flat = targets.reshape(-1).long() * n_classes + predictions.reshape(-1).long()
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    return torch.where(denominator > 0, numerator / denominator.clamp_min(1e-300), torch.zeros_like(numerator))


def precision_recall_f1(
    true_positives, false_positives, false_negatives
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Element-wise precision, recall and F1 from counts (tensors or numbers), 0 where undefined."""
    tp, fp, fn = (torch.as_tensor(value, dtype=torch.float64) for value in (true_positives, false_positives,
                                                                              false_negatives))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    # F1 = 2tp / (2tp + fp + fn): equals 2PR/(P+R) where defined, and 0 (not NaN) where P = R = 0
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return precision, recall, f1


def macro_precision_recall_f1(confusion: torch.Tensor) -> tuple[float, float, float]:
    """Unweighted means over the classes present (as target or prediction) of per-class precision, recall, F1."""
    confusion = confusion.double().cpu()
    true_positives = confusion.diagonal()
    predicted = confusion.sum(0)
    actual = confusion.sum(1)
    precision, recall, f1 = precision_recall_f1(true_positives, predicted - true_positives, actual - true_positives)
    present = (predicted + actual) > 0
    if not bool(present.any()):
        return float("nan"), float("nan"), float("nan")
    return tuple(float(values[present].mean()) for values in (precision, recall, f1))
