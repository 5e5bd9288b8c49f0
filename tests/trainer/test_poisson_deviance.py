"""The Poisson deviance and likelihood weighting's count_tasks="deviance": the deviance is the NLL less the
saturated model's, zero only at r = y; its learned log-variance settles at log D (the extended quasi-likelihood's
dispersion), so it follows the fit instead of the counts' entropy; the trainer builder swaps the loss."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from neural_cotraining.trainer import LikelihoodWeighting, cotrainer
from neural_cotraining.trainer.losses import build_loss

from .test_likelihood_bounds import settle
from .tiny_setup import TinyMultiTaskModel, flagship_dataloaders


def test_the_deviance_is_the_nll_less_the_saturated_models():
    y = torch.tensor([[0.0, 1.0, 3.0], [7.0, 2.0, 0.0]])
    r = torch.tensor([[0.5, 2.0, 3.0], [4.0, 2.5, 1.5]])
    nll = -stats.poisson.logpmf(y.numpy(), r.numpy())
    saturated = -stats.poisson.logpmf(y.numpy(), np.maximum(y.numpy(), 1e-300))  # rate = count (log 0 -> 0 at y = 0)
    expected = (2 * (nll - saturated)).mean()
    assert build_loss("poisson_deviance")(r, y).item() == pytest.approx(expected, rel=1e-5)
    assert build_loss("poisson_deviance")(y, y).item() == pytest.approx(0.0, abs=1e-6)
    # the same gradient for the rates as twice the Poisson NLL's
    for name, factor in (("poisson_deviance", 1.0), ("poisson", 2.0)):
        rates = r.clone().requires_grad_(True)
        (factor * build_loss(name)(rates, y)).backward()
        if name == "poisson_deviance":
            deviance_gradient = rates.grad.clone()
    assert torch.allclose(deviance_gradient, rates.grad, atol=1e-6)


def test_the_log_variance_settles_at_log_deviance_not_at_the_counts_entropy():
    rng = np.random.default_rng(0)
    rates = rng.uniform(1, 10, (4000, 1))
    counts = torch.tensor(rng.poisson(rates), dtype=torch.float32)
    rates = torch.tensor(rates, dtype=torch.float32)
    deviance = build_loss("poisson_deviance")(rates, counts)
    nll = build_loss("poisson")(rates, counts)
    assert 0.8 < deviance.item() < 1.2 and nll.item() > 2.0  # at the true rates: ~1 per count vs. the entropy
    weighting = LikelihoodWeighting.from_losses({"neural": build_loss("poisson_deviance")}, count_tasks="deviance")
    learned = settle(weighting, {"neural": deviance.detach()})
    assert learned["neural"] == pytest.approx(math.log(deviance.item()), abs=1e-4)


def test_count_tasks_deviance_swaps_the_poisson_loss_and_refuses_others():
    torch.manual_seed(0)
    _, output, _ = cotrainer(
        TinyMultiTaskModel(), flagship_dataloaders(), seed=0, max_epochs=1, verbose=False, patience=None,
        loss_weighting="likelihood", loss_weighting_options={"count_tasks": "deviance", "log_variance_decay": 1.0},
    )
    train = output["history"][-1]["metrics"]["train"]
    assert "log_variance" in train["neural"] and "log_variance" in train["img_classification"]
    assert train["neural"]["loss"] >= 0  # a deviance, not the NLL with its lgamma terms
    with pytest.raises(ValueError, match="poisson_deviance"):
        LikelihoodWeighting.from_losses({"neural": build_loss("poisson")}, count_tasks="deviance")
