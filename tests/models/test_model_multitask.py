"""Routing of the multi-task model: task -> head, data_key -> readout, each head reading its own core layer."""

from __future__ import annotations

import pytest
import torch

from neural_cotraining.models import (
    ClassificationHead,
    MultiTaskModel,
    RegressionHead,
    SessionReadouts,
    VGGCore,
    build_readout,
)


@pytest.fixture
def model() -> MultiTaskModel:
    torch.manual_seed(0)
    core = VGGCore(1, block_channels=[4, 6, 8], convs_per_block=1)
    readout_shape = core.output_shape((1, 16, 16), layer="block1")
    heads = {
        "img_classification": ClassificationHead(8, n_classes=3),
        "neural": SessionReadouts({"a": build_readout("gaussian", readout_shape, 5),
                                   "b": build_readout("gaussian", readout_shape, 2)}),
        "depth": RegressionHead(8, 2),
    }
    return MultiTaskModel(core, heads, core_layers={"neural": "block1"}).eval()


def test_forward_routes_by_task_and_data_key(model):
    x = torch.randn(3, 1, 16, 16)
    assert model(x, task="img_classification").shape == (3, 3)
    assert model(x, task="depth").shape == (3, 2)
    rates_a, rates_b = model(x, task="neural", data_key="a"), model(x, task="neural", data_key="b")
    assert rates_a.shape == (3, 5) and rates_b.shape == (3, 2)
    assert (rates_a > 0).all() and (rates_b > 0).all()
    assert model.task_types == {"img_classification": "classification", "neural": "neural", "depth": "regression"}
    assert model.core_layers == {"img_classification": "block2.pool", "neural": "block1.pool", "depth": "block2.pool"}


def test_classification_head_ignores_a_robustness_data_key(model):
    x = torch.randn(2, 1, 16, 16)
    assert torch.equal(model(x, task="img_classification", data_key="gaussian_noise_0.1"),
                       model(x, task="img_classification"))


def test_neural_readout_reads_the_intermediate_layer_only(model):
    x = torch.randn(2, 1, 16, 16)
    rates, logits = model(x, task="neural", data_key="a"), model(x, task="img_classification")
    with torch.no_grad():
        for name, parameter in model.core.named_parameters():
            if name.startswith("stages.block2"):
                parameter.mul_(-3.0).add_(0.5)
    assert torch.equal(model(x, task="neural", data_key="a"), rates)
    assert not torch.allclose(model(x, task="img_classification"), logits)
    # and it does read the core: changing an earlier layer changes the rates
    with torch.no_grad():
        model.core.stages["block0_conv0"].conv.weight.add_(0.5)
    assert not torch.allclose(model(x, task="neural", data_key="a"), rates)


def test_regularizer_per_task(model):
    penalty = model.regularizer(task="neural", data_key="a")
    assert penalty.ndim == 0 and penalty.item() > 0 and penalty.requires_grad
    penalty.backward()
    assert model.heads["neural"].readouts["a"]._features.grad.abs().sum() > 0
    assert model.heads["neural"].readouts["b"]._features.grad is None  # only the asked session's readout
    for task in ("img_classification", "depth"):
        zero = model.regularizer(task=task)
        assert zero.ndim == 0 and zero.item() == 0.0


def test_unknown_task_and_data_key_messages(model):
    x = torch.randn(1, 1, 16, 16)
    with pytest.raises(ValueError, match=r"unknown task 'segmentation'.*'img_classification'"):
        model(x, task="segmentation")
    with pytest.raises(ValueError, match=r"unknown data_key 'c'.*\['a', 'b'\]"):
        model(x, task="neural", data_key="c")
    with pytest.raises(ValueError, match="task is required"):
        model(x)
    with pytest.raises(ValueError, match="unknown task"):
        model.regularizer(task="segmentation")


def test_single_task_model_works_as_a_plain_model():
    core = VGGCore(1, block_channels=[4], convs_per_block=1)
    model = MultiTaskModel(core, {"digits": ClassificationHead(4, n_classes=10)})
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert model.regularizer().item() == 0.0


def test_core_layers_must_name_built_tasks():
    core = VGGCore(1, block_channels=[4], convs_per_block=1)
    with pytest.raises(ValueError, match="without a head"):
        MultiTaskModel(core, {"digits": ClassificationHead(4, n_classes=10)}, core_layers={"neural": 0})
