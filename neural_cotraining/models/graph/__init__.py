"""Declarative task graphs: multi-task networks from node specs, hard parameter sharing, vector heads, drawing.

Contract:

* A graph is a list of node specs ``{name, layers, anchor, loss, loss_weight, loss_init}`` (dicts, JSON-able when
  ``layers`` are registered layer specs such as ``{"type": "linear", "in_features": 8, "out_features": 4}``).
  ``anchor`` is "input" or one or more parent node names; a node's layers are called with its anchors' outputs as
  positional arguments. ``loss`` names the trainer's loss for an output node (None for inner nodes);
  ``loss_weight`` is a finite non-negative number or "auto" (learned likelihood weighting, Kendall et al. 2018);
  ``loss_init`` is the initial log-variance of an "auto" weight.
* :class:`TaskGraphModel` checks the specs on construction (missing / unknown keys, duplicate names, unknown anchors,
  cycles named as ``a -> b -> a``, unknown layer types, bad loss weights: ValueError or TypeError) and runs each
  needed node once per call in topological order: ``model(x, task=name, data_key=None)`` is the co-trainer's
  contract, ``model.forward_all(x, outputs=None) -> {name: tensor}`` returns several nodes at once. The trainer
  reads ``model.task_losses``, ``model.loss_weights``, ``model.loss_inits`` and ``model.shared_parameters()``.
* :func:`hard_sharing_model` (encoder + {task: decoder}) builds the same kind of graph; :func:`binary_head`,
  :func:`multiclass_head` and :func:`regression_head` are its heads, also registered as layer types.
* :func:`register_layer` adds layer types; :func:`draw_task_graph` writes a PNG with matplotlib only.
* Builders (nnfabrik signature, re-exported by ``models.builders``): :func:`task_graph_model`,
  :func:`hard_sharing_mlp`.

Never imports ``trainer``, ``dataset`` or datajoint.
"""

from .builders import HEAD_OPTIONS, hard_sharing_mlp, task_graph_model
from .draw import draw_task_graph, layered_layout
from .heads import HEAD_KIND_LOSSES, HEAD_KINDS, DenseHead, binary_head, multiclass_head, regression_head
from .layers import (
    build_layer,
    check_layer_spec,
    describe_layer,
    register_layer,
    registered_layers,
    unregister_layer,
)
from .model import TaskGraphModel
from .modules import ACTIVATIONS, MLP, Concat, GraphSequential, Select
from .sharing import default_head_loss, hard_sharing_model, hard_sharing_nodes
from .spec import AUTO_WEIGHT, INPUT, NODE_KEYS, REQUIRED_NODE_KEYS, NodeSpec, parse_nodes

__all__ = [
    "ACTIVATIONS",
    "AUTO_WEIGHT",
    "Concat",
    "HEAD_KIND_LOSSES",
    "DenseHead",
    "GraphSequential",
    "HEAD_KINDS",
    "HEAD_OPTIONS",
    "INPUT",
    "MLP",
    "NODE_KEYS",
    "NodeSpec",
    "REQUIRED_NODE_KEYS",
    "Select",
    "TaskGraphModel",
    "binary_head",
    "build_layer",
    "check_layer_spec",
    "default_head_loss",
    "describe_layer",
    "draw_task_graph",
    "hard_sharing_mlp",
    "hard_sharing_model",
    "hard_sharing_nodes",
    "layered_layout",
    "multiclass_head",
    "parse_nodes",
    "register_layer",
    "registered_layers",
    "regression_head",
    "task_graph_model",
    "unregister_layer",
]
