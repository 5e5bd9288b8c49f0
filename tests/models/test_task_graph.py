"""Compiling and running task graphs: each node once, outputs selection, wrappers, registry, loss metadata."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neural_cotraining.models import TaskGraphModel, register_layer, registered_layers, unregister_layer
from neural_cotraining.models.graph import Concat, Select, parse_nodes


def diamond_nodes():
    """input -> a -> (b, c) -> d: b and c share a, d concatenates them."""
    return [
        {"name": "a", "layers": {"type": "linear", "in_features": 3, "out_features": 4}, "anchor": "input"},
        {"name": "b", "layers": {"type": "relu"}, "anchor": "a", "loss": "mse"},
        {"name": "c", "layers": {"type": "tanh"}, "anchor": "a", "loss": "mse", "loss_weight": 0.5},
        {"name": "d", "layers": {"type": "concat", "dim": 1}, "anchor": ["b", "c"], "loss": "mse",
         "loss_weight": "auto", "loss_init": -1.0},
    ]


def count_calls(model: TaskGraphModel) -> dict[str, int]:
    calls = dict.fromkeys(model.node_names, 0)
    for name in model.node_names:
        model.layer(name).register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
    return calls


def test_diamond_runs_the_shared_node_once_and_gives_the_composed_outputs():
    model = TaskGraphModel(diamond_nodes())
    calls = count_calls(model)
    x = torch.randn(5, 3)
    outputs = model.forward_all(x, ["b", "c", "d"])
    assert calls == {"a": 1, "b": 1, "c": 1, "d": 1}
    a = model.layer("a")(x)
    torch.testing.assert_close(outputs["b"], torch.relu(a))
    torch.testing.assert_close(outputs["c"], torch.tanh(a))
    torch.testing.assert_close(outputs["d"], torch.cat([torch.relu(a), torch.tanh(a)], dim=1))


def test_outputs_selection_computes_only_the_needed_nodes():
    model = TaskGraphModel(diamond_nodes())
    calls = count_calls(model)
    outputs = model.forward_all(torch.randn(2, 3), outputs="b")
    assert list(outputs) == ["b"]
    assert calls == {"a": 1, "b": 1, "c": 0, "d": 0}
    everything = model.forward_all(torch.randn(2, 3))  # default: every loss node
    assert list(everything) == ["b", "c", "d"]
    assert everything["d"].shape == (2, 8)


def test_forward_with_task_is_the_cotrainer_contract():
    model = TaskGraphModel(diamond_nodes())
    calls = count_calls(model)
    x = torch.randn(2, 3)
    out = model(x, task="c", data_key="ignored")
    torch.testing.assert_close(out, torch.tanh(model.layer("a")(x)))
    assert calls["b"] == 0 and calls["d"] == 0
    with pytest.raises(ValueError, match=r"task is required .*tasks: \['b', 'c', 'd'\]"):
        model(x)
    with pytest.raises(ValueError, match=r"unknown outputs \['zzz'\]"):
        model(x, task="zzz")


def test_single_task_graph_works_as_a_plain_model():
    model = TaskGraphModel([
        {"name": "trunk", "layers": {"type": "mlp", "sizes": [3, 5, 2]}, "anchor": "input"},
        {"name": "out", "layers": {"type": "identity"}, "anchor": "trunk", "loss": "mse"},
    ])
    assert model.default_task == "out"
    assert model(torch.randn(4, 3)).shape == (4, 2)


def test_loss_metadata_for_the_trainer():
    model = TaskGraphModel(diamond_nodes())
    assert model.tasks == ["b", "c", "d"]
    assert model.task_losses == {"b": "mse", "c": "mse", "d": "mse"}
    assert model.loss_weights == {"b": 1.0, "c": 0.5, "d": "auto"}
    assert model.loss_inits == {"b": None, "c": None, "d": -1.0}


def test_nodes_are_ordered_parents_first_keeping_the_spec_order_otherwise():
    specs = diamond_nodes()[::-1]  # children listed before their parents
    assert [n.name for n in parse_nodes(specs)] == ["a", "c", "b", "d"]
    assert [n.name for n in parse_nodes(diamond_nodes())] == ["a", "b", "c", "d"]


def test_shared_parameters_are_those_of_nodes_used_by_several_tasks():
    model = TaskGraphModel([
        {"name": "trunk", "layers": {"type": "linear", "in_features": 3, "out_features": 4}, "anchor": "input"},
        {"name": "t1", "layers": {"type": "linear", "in_features": 4, "out_features": 1}, "anchor": "trunk",
         "loss": "mse"},
        {"name": "t2", "layers": {"type": "linear", "in_features": 4, "out_features": 2}, "anchor": "trunk",
         "loss": "mse"},
    ])
    shared = {id(p) for p in model.shared_parameters()}
    assert shared == {id(p) for p in model.layer("trunk").parameters()}


def test_select_and_concat_wrappers():
    x = torch.arange(12.0).reshape(3, 4)
    model = TaskGraphModel([
        {"name": "double", "layers": {"type": "identity"}, "anchor": "input"},
        {"name": "both", "layers": {"type": "concat", "dim": 1}, "anchor": ["input", "double"]},
        {"name": "second", "layers": {"type": "select", "index": 1}, "anchor": ["input", "both"]},
        {"name": "column", "layers": {"type": "select", "index": 2, "dim": 1}, "anchor": "input"},
        {"name": "columns", "layers": {"type": "select", "index": [1, 3], "dim": 1}, "anchor": "input"},
        {"name": "head_of_both", "layers": [{"type": "concat"}, {"type": "select", "index": 0, "dim": 1}],
         "anchor": ["columns", "input"]},
    ])
    out = model.forward_all(x, ["both", "second", "column", "columns", "head_of_both"])
    torch.testing.assert_close(out["both"], torch.cat([x, x], dim=1))
    torch.testing.assert_close(out["second"], torch.cat([x, x], dim=1))
    torch.testing.assert_close(out["column"], x[:, 2])
    torch.testing.assert_close(out["columns"], x[:, 1:3])
    torch.testing.assert_close(out["head_of_both"], x[:, 1])  # sequential: concat gets both anchors
    torch.testing.assert_close(Concat(dim=0)(x, x + 1), torch.cat([x, x + 1]))
    torch.testing.assert_close(Select(-1)((x, x + 1)), x + 1)  # one tuple output: pick its element


def test_select_out_of_range_names_the_node():
    model = TaskGraphModel([{"name": "pick", "layers": {"type": "select", "index": 3}, "anchor": ["input", "input"]}])
    with pytest.raises(IndexError, match="out of range for 2 inputs") as caught:
        model(torch.zeros(1, 2))
    assert "task-graph node 'pick'" in "\n".join(getattr(caught.value, "__notes__", []))


def test_layers_may_be_modules_and_shared_between_nodes():
    shared = nn.Linear(2, 2)
    model = TaskGraphModel([
        {"name": "first", "layers": shared, "anchor": "input"},
        {"name": "second", "layers": shared, "anchor": "first", "loss": "mse"},
    ])
    x = torch.randn(3, 2)
    torch.testing.assert_close(model(x), shared(shared(x)))
    assert sum(p.numel() for p in model.parameters()) == 6  # one set of weights


def test_registered_custom_layer_builds_from_a_json_spec():
    class Scale(nn.Module):
        def __init__(self, factor: float) -> None:
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

    register_layer("test_scale", Scale)
    try:
        assert "test_scale" in registered_layers()
        model = TaskGraphModel([{"name": "s", "layers": {"type": "test_scale", "factor": 3.0}, "anchor": "input"}])
        torch.testing.assert_close(model(torch.ones(2, 2)), torch.full((2, 2), 3.0))
        with pytest.raises(ValueError, match="already registered"):
            register_layer("test_scale", Scale)
    finally:
        unregister_layer("test_scale")
    assert "test_scale" not in registered_layers()


def test_json_vgg_core_graph_reads_images():
    model = TaskGraphModel([
        {"name": "core", "layers": {"type": "vgg_core", "input_channels": 1, "block_channels": [4, 6],
                                    "convs_per_block": 1}, "anchor": "input"},
        {"name": "img_classification", "layers": [{"type": "global_avg_pool"},
                                                  {"type": "multiclass_head", "in_features": 6, "n_classes": 3}],
         "anchor": "core", "loss": "cross_entropy"},
    ])
    assert model(torch.randn(2, 1, 16, 16), task="img_classification").shape == (2, 3)
