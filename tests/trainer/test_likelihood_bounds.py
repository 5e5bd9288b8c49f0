"""Likelihood weighting that cannot run away: the log-variance decay's optimum, the bounds, the original co-trainer's
count-task scheme, and the per-epoch weight being the one used during the epoch."""

import math

import pytest
import torch
from scipy.optimize import brentq

from neural_cotraining.trainer import LikelihoodWeighting, build_weighting, cotrainer
from neural_cotraining.trainer.losses import build_loss

from .tiny_setup import TinyMultiTaskModel, flagship_dataloaders


def settle(weighting, losses, steps=2000, lr=0.2):
    optimizer = torch.optim.SGD(weighting.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        weighting.backward(losses, shared_parameters=[])
        optimizer.step()
        weighting.after_step()
    return dict(zip(weighting.tasks, weighting.log_variances.tolist()))


@pytest.mark.parametrize("decay", [0.1, 1.0])
def test_decay_moves_the_optimum_to_the_root_of_the_penalised_objective(decay):
    losses = {"reg": torch.tensor(3.0), "cls": torch.tensor(0.02)}
    weighting = LikelihoodWeighting(["reg", "cls"], forms={"reg": "regression", "cls": "classification"},
                                    log_variance_decay=decay)
    learned = settle(weighting, losses)
    # d/ds of factor*exp(-s)*L + s/2 + decay*s^2/2 = 0, solved by scipy
    expected_reg = brentq(lambda s: -0.5 * math.exp(-s) * 3.0 + 0.5 + decay * s, -50, 50)
    expected_cls = brentq(lambda s: -math.exp(-s) * 0.02 + 0.5 + decay * s, -50, 50)
    assert learned["reg"] == pytest.approx(expected_reg, abs=1e-4)
    assert learned["cls"] == pytest.approx(expected_cls, abs=1e-4)
    assert learned["cls"] > math.log(2 * 0.02) + 0.5  # pulled up from the undecayed optimum log(2L) = -3.2


def test_a_vanishing_loss_drives_the_weight_up_without_decay_and_not_with_it():
    losses = {"cls": torch.tensor(1e-6)}
    free = settle(LikelihoodWeighting(["cls"], forms={"cls": "classification"}), losses, steps=4000)
    decayed = settle(LikelihoodWeighting(["cls"], forms={"cls": "classification"}, log_variance_decay=1.0), losses)
    assert free["cls"] < -8  # heading for log(2e-6) = -13.1: a weight in the thousands
    assert -0.6 < decayed["cls"] < -0.4  # the root of exp(-s)*1e-6 = 0.5 + s is -0.5: weight ~1.65


def test_bounds_project_the_log_variance_after_every_step():
    weighting = LikelihoodWeighting(["cls", "reg"], forms={"cls": "classification", "reg": "regression"},
                                    log_variance_bounds=[-1.0, 2.0], initial_log_variance={"cls": 5.0})
    assert weighting.log_variances.tolist()[0] == 2.0  # the start is projected too
    learned = settle(weighting, {"cls": torch.tensor(1e-4), "reg": torch.tensor(100.0)}, steps=300)
    assert learned == {"cls": -1.0, "reg": 2.0}
    assert weighting.weights()["cls"] == pytest.approx(math.e)
    half_open = LikelihoodWeighting(["cls"], forms={"cls": "classification"}, log_variance_bounds=[0.0, None])
    assert settle(half_open, {"cls": torch.tensor(1e-4)}, steps=300) == {"cls": 0.0}


@pytest.mark.parametrize(
    "options, message",
    [
        ({"log_variance_decay": -0.1}, "log_variance_decay"),
        ({"log_variance_decay": float("nan")}, "log_variance_decay"),
        ({"log_variance_bounds": [1.0, 0.0]}, "low < high"),
        ({"log_variance_bounds": [0.0]}, "log_variance_bounds"),
        ({"count_tasks": "neither"}, "count_tasks"),
    ],
)
def test_bad_options_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        build_weighting("likelihood", {"a": build_loss("mse")}, options)


def test_epoch_report_gives_the_mean_weight_used_in_the_epoch_not_the_last_one():
    weighting = LikelihoodWeighting(["cls"], forms={"cls": "classification"})
    optimizer = torch.optim.SGD(weighting.parameters(), lr=0.3)
    used = []
    for _ in range(5):
        used.append(weighting.weights()["cls"])
        optimizer.zero_grad()
        weighting.backward({"cls": torch.tensor(0.05)}, shared_parameters=[])
        optimizer.step()
    after = weighting.weights()["cls"]
    report = weighting.epoch_report()["cls"]
    assert report["loss_weight"] == pytest.approx(sum(used) / len(used))
    assert report["loss_weight"] != pytest.approx(after, rel=1e-3)
    assert weighting.epoch_report()["cls"]["loss_weight"] == pytest.approx(after)  # nothing used since: now


def test_count_tasks_dispersion_is_the_original_scheme():
    """Safarani et al.'s co-trainer: no Kendall factor on the Poisson task; a negative binomial with a learned
    dispersion instead. The builder swaps the loss; the neural weight stays 1, classification keeps its s."""
    torch.manual_seed(0)
    _, output, _ = cotrainer(
        TinyMultiTaskModel(), flagship_dataloaders(), seed=0, max_epochs=2, verbose=False, patience=None,
        loss_weighting="likelihood", loss_weighting_options={"count_tasks": "dispersion"},
    )
    train = output["history"][-1]["metrics"]["train"]
    assert train["neural"]["loss_weight"] == 1.0 and "log_variance" not in train["neural"]
    assert "log_variance" in train["img_classification"]
    with pytest.raises(ValueError, match="negative_binomial"):
        LikelihoodWeighting.from_losses({"neural": build_loss("poisson")}, count_tasks="dispersion")
    weighting = LikelihoodWeighting.from_losses(
        {"neural": build_loss("negative_binomial"), "cls": build_loss("cross_entropy")}, count_tasks="dispersion"
    )
    value = weighting.combine({"neural": torch.tensor(2.0), "cls": torch.tensor(0.5)})
    assert value.item() == pytest.approx(2.0 + 0.5)  # s = 0: exp(0) * 0.5 + 0


def test_cotrainer_history_reports_weights_used_during_each_epoch():
    states = {}

    def cb(epoch, metrics, state=None):
        states[epoch] = (metrics, state)

    cotrainer(TinyMultiTaskModel(), flagship_dataloaders(), seed=0, cb=cb, max_epochs=2, checkpoint_every=1,
              patience=None, verbose=False, lr=0.05, loss_weighting="likelihood")
    metrics, state = states[1]
    s_after = state["weighting"]["log_variances"]
    reported = metrics["train"]["img_classification"]["loss_weight"]
    # epoch 1 starts at s = 0 (weight 1) and ends at s_after; the report lies between, not at the end value
    end_weight = math.exp(-float(s_after[0]))
    assert min(1.0, end_weight) < reported < max(1.0, end_weight)
