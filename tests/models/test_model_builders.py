"""The nnfabrik-style builder: shapes inferred from the loaders, seeding, config validation."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from neural_cotraining.models import MultiTaskModel, UnknownConfigKeyError, multitask_model

from .tiny_data import TINY_CORE, classification_loader, neural_loader, regression_loader


def build(loaders, seed=0, **config):
    return multitask_model(loaders, seed, **{**TINY_CORE, **config})


def weights(model):
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


@pytest.mark.parametrize("readout_type", ["gaussian", "factorized"])
def test_cotraining_model_shapes_per_task_and_session(cotraining_loaders, readout_type):
    model = build(cotraining_loaders, readout_type=readout_type).eval()
    assert isinstance(model, MultiTaskModel)
    assert model.task_types == {"img_classification": "classification", "neural": "neural"}
    assert model(torch.randn(2, 1, 16, 16), task="img_classification").shape == (2, 3)
    # sessions with different stimulus sizes each get a readout sized for their own feature map
    rates_a = model(torch.randn(2, 1, 32, 32), task="neural", data_key="session_a")
    rates_b = model(torch.randn(2, 1, 24, 24), task="neural", data_key="session.b")
    assert rates_a.shape == (2, 5) and rates_b.shape == (2, 7)
    assert (rates_a > 0).all() and (rates_b > 0).all()


def test_readout_input_shape_is_computed_per_session_at_the_readout_layer(cotraining_loaders):
    model = build(cotraining_loaders, readout_layer="block1.conv0")
    readouts = model.heads["neural"].readouts
    assert tuple(readouts["session_a"].in_shape) == (6, 16, 16)
    assert tuple(readouts["session__b"].in_shape) == (6, 12, 12)
    assert model.core_layers["neural"] == "block1.conv0"


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        (["img_classification"], {"img_classification": "classification"}),
        ("neural", {"neural": "neural"}),
        (None, {"img_classification": "classification", "neural": "neural"}),
    ],
)
def test_tasks_selects_the_heads(cotraining_loaders, tasks, expected):
    assert build(cotraining_loaders, tasks=tasks).task_types == expected


def test_image_only_baseline_works_as_a_plain_model(cotraining_loaders):
    model = build(cotraining_loaders, tasks=["img_classification"], head_hidden_features=5)
    assert model(torch.randn(2, 1, 16, 16)).shape == (2, 3)


def test_regression_and_plain_loader_neural_tasks():
    loaders = {
        "train": {
            "angle": regression_loader(),
            "pose": regression_loader(n_outputs=3),
            "v1": neural_loader(n_neurons=4, size=16),
        }
    }
    model = build(loaders).eval()
    x = torch.randn(2, 1, 16, 16)
    assert model.task_types == {"angle": "regression", "pose": "regression", "v1": "neural"}
    assert model(x, task="angle").shape == (2,)
    assert model(x, task="pose").shape == (2, 3)
    assert model(x, task="v1").shape == (2, 4)
    assert model.regularizer(task="v1").item() > 0


def test_n_classes_from_config_when_the_dataset_has_none():
    loaders = {"train": {"digits": classification_loader(n_classes=4, with_attribute=False)}}
    with pytest.raises(ValueError, match="n_classes"):
        build(loaders)
    assert build(loaders, n_classes={"digits": 10})(torch.randn(1, 1, 16, 16)).shape == (1, 10)
    assert build(loaders, n_classes=10)(torch.randn(1, 1, 16, 16)).shape == (1, 10)


def test_n_classes_in_config_must_agree_with_the_dataset(cotraining_loaders):
    with pytest.raises(ValueError, match="n_classes=5 but the dataset says"):
        build(cotraining_loaders, n_classes=5)


def test_task_types_overrides_inference(cotraining_loaders):
    model = build(cotraining_loaders, task_types={"img_classification": "regression"}, tasks=["img_classification"])
    assert model.task_types == {"img_classification": "regression"}


def test_same_seed_same_weights_different_seed_different(cotraining_loaders):
    first, again = weights(build(cotraining_loaders, seed=3)), weights(build(cotraining_loaders, seed=3))
    other = weights(build(cotraining_loaders, seed=4))
    assert first.keys() == again.keys() == other.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)
    conv = "core.stages.block0_conv0.conv.weight"
    mu = "heads.neural.readouts.session_a._mu"
    assert not torch.equal(first[conv], other[conv]) and not torch.equal(first[mu], other[mu])


def test_numpy_seed_is_accepted_and_same_as_int(cotraining_loaders):
    from_numpy = weights(build(cotraining_loaders, seed=np.int64(7)))
    from_int = weights(build(cotraining_loaders, seed=7))
    assert all(torch.equal(from_numpy[k], from_int[k]) for k in from_int)


def test_building_leaves_global_rng_and_loader_order_unchanged(cotraining_loaders):
    loader = cotraining_loaders["train"]["img_classification"]
    expected_order = [labels.tolist() for _, labels in loader]
    loader.generator.manual_seed(0)
    global_state = torch.get_rng_state()
    build(cotraining_loaders, seed=11)
    assert torch.equal(torch.get_rng_state(), global_state)
    assert [labels.tolist() for _, labels in loader] == expected_order


def test_readout_bias_starts_at_the_mean_rate_of_the_whole_training_split(cotraining_loaders):
    model = build(cotraining_loaders, readout_type="factorized").eval()
    readout = model.heads["neural"].readouts["session_a"]
    with torch.no_grad():
        readout.features.zero_()
    responses = neural_loader(n_neurons=5, seed=1).dataset.tensors[1]
    rates = model(torch.randn(2, 1, 32, 32), task="neural", data_key="session_a")
    assert torch.allclose(rates, responses.mean(0).clamp(min=1e-3).expand(2, 5), atol=1e-5)


def test_readout_bias_uses_the_datasets_own_mean_response(cotraining_loaders):
    declared = torch.tensor([0.5, 1.0, 2.0, 3.0, 4.0])
    cotraining_loaders["train"]["neural"]["session_a"].dataset.mean_response = declared
    model = build(cotraining_loaders, readout_type="factorized").eval()
    with torch.no_grad():
        model.heads["neural"].readouts["session_a"].features.zero_()
    rates = model(torch.randn(2, 1, 32, 32), task="neural", data_key="session_a")
    assert torch.allclose(rates, declared.expand(2, 5), atol=1e-5)


@pytest.mark.parametrize("readout_type", ["gaussian", "factorized"])
def test_same_seed_and_config_give_identical_weights_after_the_loaders_were_iterated(readout_type):
    def loaders():
        return {"train": {"img_classification": classification_loader(),
                          "neural": {"a": neural_loader(n_neurons=5, seed=1), "b": neural_loader(seed=2, size=24)}}}

    fresh = weights(build(loaders(), seed=5, readout_type=readout_type))
    used = loaders()
    for _ in range(3):  # a few epochs: each advances the shuffling generators
        for loader in (used["train"]["img_classification"], *used["train"]["neural"].values()):
            for _batch in loader:
                pass
    again = weights(build(used, seed=5, readout_type=readout_type))
    assert fresh.keys() == again.keys()
    assert [name for name in fresh if not torch.equal(fresh[name], again[name])] == []


def test_batchnorm_model_is_deterministic_in_eval_mode(cotraining_loaders):
    model = build(cotraining_loaders, batch_norm=True, dropout=0.3).eval()
    x = torch.randn(3, 1, 32, 32)
    assert torch.equal(model(x, task="neural", data_key="session_a"), model(x, task="neural", data_key="session_a"))
    assert torch.equal(model(x, task="img_classification"), model(x, task="img_classification"))


def test_signature_lists_the_accepted_keys():
    parameters = inspect.signature(multitask_model).parameters
    assert list(parameters)[:2] == ["dataloaders", "seed"]
    assert parameters["readout_layer"].default == 1
    assert parameters["readout_type"].default == "gaussian"
    assert set(multitask_model.accepted_keys) == set(list(parameters)[2:])


def test_unknown_config_key_names_the_accepted_keys(cotraining_loaders):
    with pytest.raises(UnknownConfigKeyError, match=r"does not accept config keys \['readout_layr'\].*readout_layer"):
        build(cotraining_loaders, readout_layr=2)
    with pytest.raises(ValueError):  # also a ValueError, the pipeline's "bad config" error
        build(cotraining_loaders, readout_layr=2)


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({"tasks": ["segmentation"]}, ValueError, r"not in dataloaders\['train'\].*available tasks"),
        ({"readout_layer": "block9"}, ValueError, "unknown core layer 'block9'"),
        ({"readout_type": "attention"}, ValueError, "unknown readout_type"),
        ({"readout_config": {"gamma": 1}}, ValueError, r"unknown readout_config keys \['gamma'\]"),
        ({"readout_bias_init": "mean"}, ValueError, "readout_bias_init"),
        ({"task_types": {"neural": "ranking"}}, ValueError, "must be one of"),
        ({"block_channels": [4, 4, 4, 4, 4]}, ValueError, "too small|no spatial extent"),
    ],
)
def test_bad_config_is_a_clear_error(cotraining_loaders, config, error, message):
    with pytest.raises(error, match=message):
        build(cotraining_loaders, **config)


@pytest.mark.parametrize(
    "config", [{"readout_layer": "block9"}, {"readout_config": {"gamma": 1}}, {"readout_type": "attention"}]
)
def test_readout_settings_are_checked_even_without_a_neural_task(cotraining_loaders, config):
    with pytest.raises(ValueError, match="block9|gamma|attention"):
        build(cotraining_loaders, tasks=["img_classification"], **config)


def test_bad_dataloaders_are_clear_errors():
    with pytest.raises(ValueError, match="'train' split"):
        build({"validation": {"digits": classification_loader()}})
    with pytest.raises(ValueError, match="same channel count"):
        build({"train": {"digits": classification_loader(channels=3), "v1": neural_loader(channels=1)}})
    with pytest.raises(TypeError, match="seed must be an int"):
        multitask_model({"train": {"digits": classification_loader()}}, None)


def test_empty_loader_is_reported():
    empty = classification_loader(n=0, shuffle=False)
    with pytest.raises(ValueError, match="'digits'.*empty"):
        build({"train": {"digits": empty}})


def test_state_dict_restores_a_model_built_with_another_seed(cotraining_loaders):
    trained, fresh = build(cotraining_loaders, seed=1).eval(), build(cotraining_loaders, seed=2).eval()
    x = torch.randn(2, 1, 32, 32)

    def rates(model):
        return model(x, task="neural", data_key="session_a")

    assert not torch.equal(rates(fresh), rates(trained))
    fresh.load_state_dict(trained.state_dict())
    assert torch.equal(rates(fresh), rates(trained))


def test_input_channels_repeats_grey_inputs_into_a_three_channel_core():
    loaders = {"train": {"img_classification": classification_loader(channels=1),
                         "neural": {"a": neural_loader(channels=3, n_neurons=4)}}}
    with pytest.raises(ValueError, match="inputs need the same channel count"):
        build(loaders)
    model = build(loaders, input_channels=3).eval()
    assert model.core.input_channels == 3
    grey = torch.randn(2, 1, 32, 32)
    for task, key in (("img_classification", None), ("neural", "a")):
        assert torch.equal(model(grey, task=task, data_key=key), model(grey.expand(-1, 3, -1, -1), task=task,
                                                                         data_key=key))
    with pytest.raises(ValueError, match=r"input_channels=2: inputs must have 1 or 2 channels"):
        build(loaders, input_channels=2)
