"""Each loss against an independent reference."""

import math

import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from neural_cotraining.trainer.losses import LOSSES, build_loss, default_loss_name

from .tiny_setup import make_loader


@pytest.fixture
def counts():
    generator = torch.Generator().manual_seed(0)
    rates = torch.rand(16, 5, generator=generator) * 4 + 0.05
    responses = torch.poisson(rates * 1.3, generator=generator)
    return rates, responses


def test_poisson_is_the_full_nll_matching_torch_plus_lgamma_and_scipy(counts):
    rates, responses = counts
    value = build_loss("poisson")(rates, responses)
    torch_reference = F.poisson_nll_loss(rates, responses, log_input=False, full=False, reduction="none")
    torch_reference = (torch_reference + torch.lgamma(responses + 1)).mean()
    scipy_reference = -stats.poisson.logpmf(responses.numpy(), rates.double().numpy()).mean()
    assert value.item() == pytest.approx(torch_reference.item(), rel=1e-6)
    assert value.item() == pytest.approx(scipy_reference, rel=1e-5)


def test_partial_poisson_drops_lgamma_and_can_be_negative(counts):
    rates, responses = counts
    reference = F.poisson_nll_loss(rates, responses, log_input=False, full=False)
    assert build_loss("poisson_partial")(rates, responses).item() == pytest.approx(reference.item(), rel=1e-6)
    y = torch.full((4, 1), 5.0)
    assert build_loss("poisson_partial")(y, y).item() < 0 < build_loss("poisson")(y, y).item()


def test_negative_binomial_matches_scipy_and_learns_its_dispersion(counts):
    rates, responses = counts
    loss = build_loss("negative_binomial")
    with torch.no_grad():
        loss.log_dispersion.fill_(math.log(2.5))
    theta = 2.5
    reference = -stats.nbinom.logpmf(responses.numpy(), theta, (theta / (theta + rates.double())).numpy()).mean()
    assert loss(rates, responses).item() == pytest.approx(reference, rel=1e-5)
    loss(rates, responses).backward()
    assert loss.log_dispersion.grad is not None and loss.log_dispersion.grad.abs() > 0


def test_cross_entropy_is_the_mean_negative_log_softmax():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.1, 0.2, 0.3]])
    labels = torch.tensor([0, 2])
    expected = -(torch.log_softmax(logits, 1)[torch.arange(2), labels]).mean()
    assert build_loss("cross_entropy")(logits, labels).item() == pytest.approx(expected.item(), rel=1e-6)


def test_bce_with_logits_matches_the_formula():
    logits, targets = torch.tensor([1.5, -0.5, 0.2]), torch.tensor([1.0, 0.0, 0.0])
    p = torch.sigmoid(logits)
    expected = -(targets * p.log() + (1 - targets) * (1 - p).log()).mean()
    assert build_loss("bce_with_logits")(logits, targets).item() == pytest.approx(expected.item(), rel=1e-5)


def test_mse_and_smooth_l1_match_the_formulas_and_reshape_n_by_1_outputs():
    output, target = torch.tensor([[0.0], [2.0], [0.5]]), torch.tensor([0.2, 0.0, 3.0])
    error = output.squeeze(1) - target
    assert build_loss("mse")(output, target).item() == pytest.approx(error.square().mean().item(), rel=1e-6)
    huber = torch.where(error.abs() < 1, 0.5 * error.square(), error.abs() - 0.5).mean()
    assert build_loss("smooth_l1")(output, target).item() == pytest.approx(huber.item(), rel=1e-6)
    with pytest.raises(ValueError, match="does not match"):
        build_loss("mse")(torch.zeros(3, 2), target)


def test_count_losses_refuse_negative_rates():
    with pytest.raises(ValueError, match="non-negative rates"):
        build_loss("poisson")(torch.tensor([[-0.5]]), torch.tensor([[1.0]]))


def test_likelihood_forms_and_registry():
    forms = {name: cls.likelihood_form for name, cls in LOSSES.items()}
    assert forms == {
        "cross_entropy": "classification",
        "bce_with_logits": "classification",
        "mse": "regression",
        "smooth_l1": "regression",
        "poisson": "regression",
        "negative_binomial": "regression",
        "poisson_deviance": "regression",
        "poisson_partial": None,
    }
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("hinge")


def test_default_losses_by_task_name_and_dataset_attributes():
    x, y = torch.zeros(4, 1, 2, 2), torch.zeros(4, dtype=torch.long)
    assert default_loss_name("img_classification", []) == "cross_entropy"
    assert default_loss_name("neural", []) == "poisson"
    assert default_loss_name("digits", [make_loader(x, y, n_classes=3)]) == "cross_entropy"
    assert default_loss_name("v4", [make_loader(x, y.float(), n_neurons=1)]) == "poisson"
    with pytest.raises(ValueError, match="loss_functions"):
        default_loss_name("depth", [make_loader(x, y.float())])
