"""Oracle correlations: how well a perfect model could predict single-trial responses.

- :func:`true_rate_oracle`: correlation of the ground-truth rate (known only for simulated neurons) with the
  noisy single-trial responses -- the exact ceiling for any model's correlation on those trials.
- :func:`leave_one_out_oracle`: correlation of each repeated trial with the mean of the *other* repeats of the
  same image, the estimate used with real data (e.g. Cadena et al. 2019, PLoS Comput Biol; Lurz et al. 2021).
  It approaches the true-rate oracle from below as the number of repeats grows.

Both return the mean over neurons (neurons without variance are skipped) and, with ``per_neuron=True``, the
per-neuron values.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pearson_per_column", "true_rate_oracle", "leave_one_out_oracle"]


def pearson_per_column(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching columns of two (n, k) arrays; NaN where a column is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two (n, k) arrays of one shape, got {a.shape} and {b.shape}")
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denominator = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=0) / denominator, np.nan)


def _summary(values: np.ndarray, per_neuron: bool):
    mean = float(np.nanmean(values)) if np.any(np.isfinite(values)) else float("nan")
    return (mean, values) if per_neuron else mean


def true_rate_oracle(rates: np.ndarray, responses: np.ndarray, per_neuron: bool = False):
    """Mean over neurons of corr(ground-truth rate, single-trial response); both (n_trials, n_neurons)."""
    return _summary(pearson_per_column(rates, responses), per_neuron)


def leave_one_out_oracle(responses: np.ndarray, trial_image_ids, per_neuron: bool = False):
    """Mean over neurons of corr(trial response, mean of the other repeats of its image).

    Only images shown at least twice count. ``responses`` is (n_trials, n_neurons).
    """
    responses = np.asarray(responses, dtype=np.float64)
    ids = np.asarray(trial_image_ids)
    unique, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    repeated = counts[inverse] >= 2
    if not repeated.any():
        raise ValueError("the leave-one-out oracle needs images shown at least twice; no image repeats")
    sums = np.zeros((len(unique), responses.shape[1]))
    np.add.at(sums, inverse, responses)
    n = counts[inverse][:, None]
    others = (sums[inverse] - responses) / np.maximum(n - 1, 1)
    return _summary(pearson_per_column(responses[repeated], others[repeated]), per_neuron)
