"""Drawing a task graph as a PNG with matplotlib only; layered layout by depth."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from neural_cotraining.models import TaskGraphModel, draw_task_graph
from neural_cotraining.models.graph import layered_layout
from neural_cotraining.models.graph.draw import LOSS_NODE_COLOR

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def graph_specs():
    return [
        {"name": "trunk", "layers": {"type": "mlp", "sizes": [4, 8], "activate_last": True}, "anchor": "input"},
        {"name": "left", "layers": {"type": "linear", "in_features": 8, "out_features": 2}, "anchor": "trunk"},
        {"name": "right", "layers": {"type": "binary_head", "in_features": 8}, "anchor": "trunk",
         "loss": "bce_with_logits"},
        {"name": "fused", "layers": [{"type": "concat"}, {"type": "regression_head", "in_features": 10}],
         "anchor": ["left", "trunk"], "loss": "mse", "loss_weight": "auto"},
    ]


def loss_colour_pixels(path):
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(int)
    colour = np.array([int(LOSS_NODE_COLOR[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - colour).sum(axis=1) < 10).sum())


def test_draws_a_valid_png_with_highlighted_loss_nodes(tmp_path):
    path = draw_task_graph(TaskGraphModel(graph_specs()), tmp_path / "graph.png", title="demo")
    assert path == tmp_path / "graph.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > 10_000
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.width >= 400 and image.height >= 300
    assert loss_colour_pixels(path) > 500  # the two loss nodes are filled in the highlight colour


def test_graph_without_loss_nodes_has_no_highlight(tmp_path):
    inner_only = [{"name": "trunk", "layers": {"type": "identity"}, "anchor": "input"}]
    path = draw_task_graph(inner_only, tmp_path / "inner.png")
    # the legend shows one small swatch of the colour; no node box is filled with it
    assert loss_colour_pixels(path) < 300 < loss_colour_pixels(draw_task_graph(graph_specs(), tmp_path / "g.png"))


def test_specs_can_be_drawn_without_building_weights(tmp_path):
    specs = [{"name": "big", "layers": {"type": "linear", "in_features": 10**6, "out_features": 10**6},
              "anchor": "input", "loss": "mse"}]
    assert draw_task_graph(specs, tmp_path / "big.png").stat().st_size > 0


def test_layout_columns_are_depths():
    position = layered_layout(graph_specs())
    assert {name: x for name, (x, _) in position.items()} == {
        "input": 0.0, "trunk": 1.0, "left": 2.0, "right": 2.0, "fused": 3.0,
    }
    assert position["left"][1] != position["right"][1]


def test_bad_paths(tmp_path):
    with pytest.raises(ValueError, match=r"drawn as a PNG; .*graph.pdf does not end in .png"):
        draw_task_graph(graph_specs(), tmp_path / "graph.pdf")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        draw_task_graph(graph_specs(), tmp_path / "missing" / "graph.png")


def test_model_draw_method(tmp_path):
    assert TaskGraphModel(graph_specs()).draw(tmp_path / "m.png").read_bytes()[:8] == PNG_SIGNATURE
