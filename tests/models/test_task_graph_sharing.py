"""Hard parameter sharing and vector heads: shapes, default losses, shared encoder computed once."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neural_cotraining.models import binary_head, hard_sharing_model, multiclass_head, regression_head
from neural_cotraining.models.graph import DenseHead, hard_sharing_nodes


@pytest.mark.parametrize(
    ("head", "kind", "shape"),
    [
        (binary_head(6), "binary", (5,)),
        (binary_head(6, squeeze_output=False), "binary", (5, 1)),
        (multiclass_head(6, 4, hidden_features=3), "multiclass", (5, 4)),
        (regression_head(6, 3, dropout=0.2), "regression", (5, 3)),
        (regression_head(6, squeeze_output=True), "regression", (5,)),
    ],
)
def test_head_kinds_and_output_shapes(head, kind, shape):
    assert isinstance(head, DenseHead) and head.kind == kind
    assert head(torch.randn(5, 6)).shape == shape


def test_head_is_a_linear_map_of_the_features_without_hidden_layer():
    head = regression_head(3, 2)
    x = torch.randn(4, 3)
    linear = head.layers[-1]
    torch.testing.assert_close(head(x), x @ linear.weight.T + linear.bias)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: multiclass_head(4, 1), "n_classes >= 2"),
        (lambda: regression_head(4, 2, squeeze_output=True), "squeeze_output needs n_outputs == 1"),
        (lambda: binary_head(0), "in_features and n_outputs must be >= 1"),
        (lambda: binary_head(4, dropout=1.0), r"dropout must be in \[0, 1\)"),
        (lambda: binary_head(4, hidden_features=2, activation="swishy"), "unknown activation 'swishy'"),
    ],
)
def test_bad_head_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_hard_sharing_model_shapes_losses_and_one_encoder_pass():
    encoder = nn.Sequential(nn.Linear(5, 8), nn.ReLU())
    model = hard_sharing_model(
        encoder,
        {"bin": binary_head(8), "cls": multiclass_head(8, 4), "reg": regression_head(8, 3)},
        loss_weights={"reg": "auto"},
        loss_inits={"reg": 0.5},
    )
    calls = []
    encoder.register_forward_hook(lambda *_: calls.append(1))
    outputs = model.forward_all(torch.randn(7, 5))
    assert {task: out.shape for task, out in outputs.items()} == {"bin": (7,), "cls": (7, 4), "reg": (7, 3)}
    assert len(calls) == 1
    assert model.task_losses == {"bin": "bce_with_logits", "cls": "cross_entropy", "reg": "mse"}
    assert model.loss_weights == {"bin": 1.0, "cls": 1.0, "reg": "auto"}
    assert model.loss_inits == {"bin": None, "cls": None, "reg": 0.5}
    assert model.anchors("cls") == ("encoder",) and model.anchors("encoder") == ("input",)
    assert {id(p) for p in model.shared_parameters()} == {id(p) for p in encoder.parameters()}
    assert model(torch.randn(2, 5), task="cls").shape == (2, 4)


def test_hard_sharing_from_layer_specs_with_explicit_losses():
    model = hard_sharing_model(
        {"type": "mlp", "sizes": [3, 6], "activate_last": True},
        {
            "counts": {"type": "linear", "in_features": 6, "out_features": 2},
            "labels": {"type": "multiclass_head", "in_features": 6, "n_classes": 3},
        },
        losses={"counts": "poisson", "labels": "cross_entropy"},
        encoder_name="trunk",
    )
    assert model.node_names == ["trunk", "counts", "labels"]
    assert model.task_losses == {"counts": "poisson", "labels": "cross_entropy"}
    assert model(torch.randn(4, 3), task="counts").shape == (4, 2)


def test_a_decoder_that_is_not_a_head_needs_a_loss():
    with pytest.raises(ValueError, match=r"no loss for task 'x'.*losses=\{'x': \.\.\.\}"):
        hard_sharing_model(nn.Identity(), {"x": nn.Linear(2, 2)})


def test_per_task_options_must_name_decoders():
    with pytest.raises(ValueError, match=r"loss_weights names tasks without a decoder: \['typo'\]"):
        hard_sharing_nodes(nn.Identity(), {"a": binary_head(2)}, loss_weights={"typo": 1.0})


def test_negative_weight_is_rejected_in_hard_sharing_too():
    with pytest.raises(ValueError, match="loss_weight of node 'a' must be a finite non-negative number"):
        hard_sharing_model(nn.Identity(), {"a": binary_head(2)}, loss_weights={"a": -0.5})


def test_encoder_name_may_not_clash_with_a_task():
    with pytest.raises(ValueError, match=r"duplicate node names in the task graph: \['encoder'\]"):
        hard_sharing_model(nn.Identity(), {"encoder": binary_head(2)})
