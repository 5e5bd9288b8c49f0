"""A bad task graph fails on construction with an error that names the problem."""

from __future__ import annotations

import math

import pytest

from neural_cotraining.models import TaskGraphModel

IDENTITY = {"type": "identity"}


def node(name, anchor="input", **extra):
    return {"name": name, "layers": IDENTITY, "anchor": anchor, **extra}


def test_cycle_is_named_in_order_without_the_nodes_leading_into_it():
    specs = [node("pre"), node("a", ["pre", "c"]), node("b", "a"), node("c", "b"), node("out", "a", loss="mse")]
    with pytest.raises(ValueError, match=r"has a cycle: a -> b -> c -> a$"):
        TaskGraphModel(specs)


def test_self_loop_is_a_cycle():
    with pytest.raises(ValueError, match=r"cycle: a -> a"):
        TaskGraphModel([node("a", "a")])


def test_unknown_anchor():
    with pytest.raises(ValueError, match=r"node 'b' anchors on unknown nodes \['encoder'\]"):
        TaskGraphModel([node("a"), node("b", ["a", "encoder"])])


def test_duplicate_names():
    with pytest.raises(ValueError, match=r"duplicate node names in the task graph: \['a'\]"):
        TaskGraphModel([node("a"), node("b", "a"), node("a", "b")])


def test_input_is_a_reserved_name():
    with pytest.raises(ValueError, match="may not be called 'input'"):
        TaskGraphModel([node("input")])


@pytest.mark.parametrize("missing", ["name", "layers", "anchor"])
def test_missing_required_key(missing):
    spec = node("a")
    del spec[missing]
    with pytest.raises(ValueError, match=rf"missing required keys \['{missing}'\]"):
        TaskGraphModel([spec])


def test_unknown_key_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"node 'a' has unknown keys \['los'\]; allowed keys: \['name'"):
        TaskGraphModel([node("a", los="mse")])


@pytest.mark.parametrize("weight", [-1.0, -1e-9, math.nan, math.inf, "half", True])
def test_loss_weight_must_be_finite_non_negative_or_auto(weight):
    with pytest.raises(ValueError, match=r"loss_weight of node 'a' must be a finite non-negative number or 'auto'"):
        TaskGraphModel([node("a", loss="mse", loss_weight=weight)])


def test_zero_loss_weight_is_allowed():
    assert TaskGraphModel([node("a", loss="mse", loss_weight=0)]).loss_weights == {"a": 0.0}


def test_loss_weight_without_loss():
    with pytest.raises(ValueError, match="node 'a' has loss_weight=2.0 but no loss"):
        TaskGraphModel([node("a", loss_weight=2.0)])


def test_loss_init_only_for_auto_weights_and_finite():
    with pytest.raises(ValueError, match="loss_init.*initial log-variance of loss_weight='auto'"):
        TaskGraphModel([node("a", loss="mse", loss_weight=1.0, loss_init=0.0)])
    with pytest.raises(ValueError, match="loss_init of node 'a' must be a finite number"):
        TaskGraphModel([node("a", loss="mse", loss_weight="auto", loss_init=math.nan)])


def test_unknown_layer_type_lists_registered_types():
    with pytest.raises(ValueError, match=r"node 'a': unknown layer type 'linearr'; registered types: \[.*'linear'"):
        TaskGraphModel([{"name": "a", "layers": {"type": "linearr"}, "anchor": "input"}])


def test_unknown_layer_type_inside_a_stack():
    layers = [{"type": "identity"}, {"type": "nope"}]
    with pytest.raises(ValueError, match=r"node 'a' layer #1: unknown layer type 'nope'"):
        TaskGraphModel([{"name": "a", "layers": layers, "anchor": "input"}])


def test_bad_layer_arguments_name_the_node_and_type():
    with pytest.raises(TypeError, match=r"node 'a': cannot build layer type 'linear' from \{'in_features': 2\}"):
        TaskGraphModel([{"name": "a", "layers": {"type": "linear", "in_features": 2}, "anchor": "input"}])
    with pytest.raises(TypeError, match="cannot build layer type 'identity'"):
        TaskGraphModel([{"name": "a", "layers": {"type": "identity", "size": 3}, "anchor": "input"}])


@pytest.mark.parametrize(
    ("specs", "error", "message"),
    [
        ({"name": "a"}, TypeError, "a task graph is a list of node specs"),
        ([], ValueError, "at least one node"),
        (["a"], TypeError, "node #0 must be a dict"),
        ([node("a", [])], TypeError, "anchor of node 'a' must be"),
        ([{"name": "a", "layers": 3, "anchor": "input"}], TypeError, "layers must be an nn.Module"),
        ([node("a", loss=3)], TypeError, "loss of node 'a' must be a loss name"),
    ],
)
def test_malformed_specs(specs, error, message):
    with pytest.raises(error, match=message):
        TaskGraphModel(specs)


def test_unknown_default_task():
    with pytest.raises(ValueError, match=r"unknown default_task \['b'\]"):
        TaskGraphModel([node("a", loss="mse")], default_task="b")
