"""A task-graph model's declared losses and weights ("auto" = learned likelihood) reach the co-trainer."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from neural_cotraining.models import hard_sharing_model, multiclass_head, regression_head
from neural_cotraining.trainer import cotrainer


class Labelled(TensorDataset):
    n_classes = 3


def loaders(seed=0):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(96, 4, generator=generator)
    classes = (inputs[:, 0] > 0).long() + (inputs[:, 1] > 0.5).long()
    values = inputs[:, 2:3] * 2 + 0.1 * torch.randn(96, 1, generator=generator)
    split = lambda part: {  # noqa: E731
        "kind": DataLoader(Labelled(inputs[part], classes[part]), batch_size=16, shuffle=True,
                           generator=torch.Generator().manual_seed(seed)),
        "value": DataLoader(TensorDataset(inputs[part], values[part]), batch_size=16, shuffle=True,
                            generator=torch.Generator().manual_seed(seed)),
    }
    return {"train": split(slice(0, 64)), "validation": split(slice(64, 96)), "test": split(slice(64, 96))}


def model(weights):
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
    return hard_sharing_model(
        encoder, {"kind": multiclass_head(8, 3), "value": regression_head(8, 1)}, loss_weights=weights,
        loss_inits={"value": 0.5} if weights.get("value") == "auto" else None,
    )


def test_declared_fixed_and_auto_weights_are_used():
    net = model({"kind": 2.0, "value": "auto"})
    assert net.task_losses == {"kind": "cross_entropy", "value": "mse"}
    _, output, _ = cotrainer(net, loaders(), seed=0, max_epochs=3, patience=None, main_task="kind", verbose=False)
    first = output["history"][0]["metrics"]["train"]
    assert first["kind"]["loss_weight"] == 2.0 and "log_variance" not in first["kind"]
    assert "log_variance" in first["value"]  # learned, from its declared start
    assert first["value"]["loss_weight"] == pytest.approx(0.5 * math.exp(-first["value"]["log_variance"]))
    last = output["history"][-1]["metrics"]["train"]["value"]["log_variance"]
    assert last != pytest.approx(0.5)


def test_explicit_weighting_overrides_the_declaration():
    net = model({"kind": 2.0, "value": "auto"})
    _, output, _ = cotrainer(net, loaders(), seed=0, max_epochs=1, main_task="kind", loss_weighting="equal",
                             verbose=False)
    train = output["history"][0]["metrics"]["train"]
    assert train["kind"]["loss_weight"] == train["value"]["loss_weight"] == 1.0
