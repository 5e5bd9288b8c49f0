"""Likelihood (uncertainty) weighting after Kendall, Gal & Cipolla (2018): optimum, learned noise levels, refusal
of un-normalised losses, no weight decay on its parameters. Also the fixed weighting."""

import io
import math

import pytest
import torch
from torch import nn

from neural_cotraining.trainer import FixedWeighting, LikelihoodWeighting, build_weighting, cotrainer
from neural_cotraining.trainer.losses import build_loss

from .tiny_setup import TinyMultiTaskModel, flagship_dataloaders, make_loader


def test_with_fixed_losses_log_variances_converge_to_log_l_and_log_2l():
    weighting = LikelihoodWeighting(["reg", "cls"], forms={"reg": "regression", "cls": "classification"})
    optimizer = torch.optim.SGD(weighting.parameters(), lr=0.5)
    losses = {"reg": torch.tensor(3.0), "cls": torch.tensor(0.4)}
    for _ in range(300):
        optimizer.zero_grad()
        weighting.backward(losses, shared_parameters=[])
        optimizer.step()
    reg, cls = weighting.log_variances.tolist()
    assert reg == pytest.approx(math.log(3.0), abs=1e-4)
    assert cls == pytest.approx(math.log(2 * 0.4), abs=1e-4)
    report = weighting.report()
    assert report["reg"]["loss_weight"] == pytest.approx(0.5 / 3.0, rel=1e-3)  # 0.5 * exp(-s)
    assert report["cls"]["loss_weight"] == pytest.approx(1 / 0.8, rel=1e-3)  # exp(-s)


def test_combined_objective_follows_the_two_forms():
    weighting = LikelihoodWeighting(["r", "c"], forms={"r": "regression", "c": "classification"},
                                    initial_log_variance={"r": 0.5, "c": -1.0})
    value = weighting.combine({"r": torch.tensor(2.0), "c": torch.tensor(0.3)})
    expected = 0.5 * math.exp(-0.5) * 2.0 + 0.25 + math.exp(1.0) * 0.3 - 0.5
    assert value.item() == pytest.approx(expected, rel=1e-6)
    # a task missing from a round contributes nothing
    assert weighting.combine({"r": torch.tensor(2.0)}).item() == pytest.approx(0.5 * math.exp(-0.5) * 2.0 + 0.25)


def regression_dataloaders(noise, n=400, seed=0):
    """Two linear regression tasks y = x w_t + noise_t * eps, with known noise standard deviations."""
    generator = torch.Generator().manual_seed(seed)
    weights = {task: torch.randn(4, generator=generator) for task in noise}
    loaders = {}
    for split_index, split in enumerate(("train", "validation")):
        loaders[split] = {}
        for task, sigma in noise.items():
            x = torch.randn(n, 4, generator=generator)
            y = x @ weights[task] + sigma * torch.randn(n, generator=generator)
            loaders[split][task] = make_loader(x, y, batch_size=40, shuffle=split == "train", seed=seed + split_index)
    return loaders


class TwoHeads(nn.Module):
    def __init__(self, tasks):
        super().__init__()
        torch.manual_seed(0)
        self.heads = nn.ModuleDict({task: nn.Linear(4, 1) for task in tasks})

    def forward(self, x, task):
        return self.heads[task](x).squeeze(1)


def test_learned_log_variances_settle_at_each_tasks_noise_variance():
    noise = {"quiet": 0.3, "loud": 2.0}  # variances 0.09 and 4: log -2.41 and 1.39
    _, output, _ = cotrainer(
        TwoHeads(noise), regression_dataloaders(noise), seed=0, cycler="max_size_cycle",
        loss_functions={task: "mse" for task in noise}, loss_weighting="likelihood",
        monitor={"validation/quiet/loss": "min"}, patience=None, max_epochs=40, lr=0.05,
        lr_scheduler="cosine", verbose=False,
    )
    last = output["history"][-1]["metrics"]["train"]
    for task, sigma in noise.items():
        learned = last[task]["log_variance"]
        # theory: s* = log E[L]; the MSE of a well-fitted linear model is the noise variance (sampling error of
        # 400 squared residuals ~7%, so a tolerance of 0.2 in log units)
        assert learned == pytest.approx(math.log(sigma**2), abs=0.2)
        assert learned == pytest.approx(math.log(last[task]["loss"]), abs=0.05)  # measured: <= 0.03
    assert output["loss_weights"]["quiet"] > 10 * output["loss_weights"]["loud"]


def test_likelihood_weighting_refuses_a_loss_that_is_not_a_normalised_nll():
    with pytest.raises(ValueError, match="lgamma.*-inf"):
        LikelihoodWeighting.from_losses({"neural": build_loss("poisson_partial")})
    with pytest.raises(ValueError, match="poisson_partial"):
        cotrainer(TinyMultiTaskModel(), flagship_dataloaders(), seed=0, max_epochs=1, verbose=False,
                  loss_functions={"neural": "poisson_partial"}, loss_weighting="likelihood")


def test_weighting_and_loss_parameters_get_no_weight_decay():
    states = []

    def cb(epoch, metrics, state=None):
        if state is not None:
            buffer = io.BytesIO()
            torch.save(state, buffer)
            buffer.seek(0)
            states.append(torch.load(buffer, weights_only=True))

    model = TinyMultiTaskModel()
    cotrainer(model, flagship_dataloaders(), seed=0, cb=cb, max_epochs=1, checkpoint_every=1, verbose=False,
              optimizer="adamw", weight_decay=0.5, loss_weighting="likelihood",
              loss_functions={"neural": "negative_binomial"})
    model_group, extra_group = states[0]["optimizer"]["param_groups"]
    assert model_group["weight_decay"] == 0.5
    assert len(model_group["params"]) == len(list(model.parameters()))
    assert extra_group["weight_decay"] == 0.0
    assert len(extra_group["params"]) == 2  # the log-variance vector and the negative binomial dispersion
    assert states[0]["losses"]["neural"]["log_dispersion"].shape == ()


def test_fixed_weighting_weights_and_validation():
    weighting = build_weighting("fixed", {"a": build_loss("mse"), "b": build_loss("mse")}, {"weights": {"b": 3.0}})
    assert isinstance(weighting, FixedWeighting)
    assert weighting.weights() == {"a": 1.0, "b": 3.0}
    assert weighting.combine({"a": torch.tensor(2.0), "b": torch.tensor(1.0)}).item() == 5.0
    assert list(weighting.parameters()) == []
    with pytest.raises(ValueError, match="unknown task"):
        FixedWeighting(["a"], {"c": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        FixedWeighting(["a"], {"a": -1.0})
    with pytest.raises(ValueError, match="accepted"):
        build_weighting("fixed", {"a": build_loss("mse")}, {"alpha": 1.0})
    with pytest.raises(ValueError, match="unknown loss_weighting"):
        build_weighting("gradnorm-typo", {"a": build_loss("mse")})
