"""The VGG core: layer naming, early stopping at a layer, shape probing, configuration errors."""

from __future__ import annotations

import pytest
import torch

from neural_cotraining.models import VGGCore


def make_core(**overrides) -> VGGCore:
    torch.manual_seed(0)
    config = {"input_channels": 2, "block_channels": [4, 6, 8], "convs_per_block": [1, 2, 1]}
    return VGGCore(**{**config, **overrides})


def test_layer_names_follow_blocks_convs_and_pools():
    core = make_core()
    assert core.layer_names == [
        "block0.conv0", "block0.pool",
        "block1.conv0", "block1.conv1", "block1.pool",
        "block2.conv0", "block2.pool",
    ]


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (None, (8, 2, 2)),
        (0, (4, 8, 8)),
        ("block1", (6, 4, 4)),
        (-1, (8, 2, 2)),
        ("block1.conv1", (6, 8, 8)),
        ("block0.conv0", (4, 16, 16)),
    ],
)
def test_forward_stops_at_the_requested_layer(layer, expected):
    core = make_core()
    x = torch.randn(3, 2, 16, 16)
    assert tuple(core(x, layer=layer).shape) == (3, *expected)
    assert core.output_shape((2, 16, 16), layer=layer) == expected


def test_intermediate_features_do_not_depend_on_later_layers():
    core = make_core().eval()
    x = torch.randn(2, 2, 16, 16)
    before_mid, before_last = core(x, layer="block1"), core(x)
    with torch.no_grad():
        for name, parameter in core.named_parameters():
            if name.startswith("stages.block2"):
                parameter.add_(1.0)
    assert torch.equal(core(x, layer="block1"), before_mid)
    assert not torch.allclose(core(x), before_last)


def test_no_pooling_keeps_the_spatial_size_and_has_no_pool_layers():
    core = make_core(pooling=None)
    assert not any(name.endswith("pool") for name in core.layer_names)
    assert core.output_shape((2, 10, 12)) == (8, 10, 12)


def test_output_shape_probe_leaves_batchnorm_statistics_and_mode_alone():
    core = make_core().train()
    running = [m.running_mean.clone() for m in core.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    core.output_shape((2, 16, 16))
    assert core.training
    after = [m.running_mean for m in core.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(running, after))


def test_batchnorm_core_is_deterministic_in_eval_mode_but_not_in_train_mode_with_dropout():
    core = make_core(dropout=0.5)
    x = torch.randn(4, 2, 16, 16)
    core.eval()
    assert torch.equal(core(x), core(x))
    core.train()
    assert not torch.equal(core(x), core(x))


def test_input_too_small_for_the_core_is_a_clear_error():
    core = make_core()
    with pytest.raises(ValueError, match="too small|no spatial extent"):
        core.output_shape((2, 4, 4))


def test_wrong_input_channels_are_reported():
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        make_core()(torch.randn(1, 3, 16, 16))


@pytest.mark.parametrize("layer", ["block7", "block0.conv3", 5])
def test_unknown_layer_names_the_known_ones(layer):
    with pytest.raises(ValueError, match="block"):
        make_core().resolve_layer(layer)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"block_channels": []}, "block_channels"),
        ({"convs_per_block": [1, 1]}, "convs_per_block"),
        ({"kernel_size": 4}, "kernel_size"),
        ({"pooling": "median"}, "pooling"),
        ({"activation": "swishy"}, "activation"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_core_config_is_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_core(**overrides)
