"""Models: a shared VGG-style core, task heads, per-session neural readouts and the multi-task network.

Contract:

* Builders follow nnfabrik: ``multitask_model(dataloaders, seed, **config) -> MultiTaskModel``. Shapes, class and
  neuron counts are inferred from ``dataloaders["train"]`` (``{task: loader}`` or ``{task: {data_key: loader}}``,
  batches ``(inputs (N, C, H, W), targets, ...)``); the same seed and config give identical initial weights; an
  unknown config key raises :class:`UnknownConfigKeyError` listing the accepted keys.
* ``model(x, task=task_name, data_key=None)`` returns class logits (N, n_classes) for a classification task,
  (N, n_outputs) or (N,) for regression, and positive rates (N, n_neurons) from ``data_key``'s readout for a neural
  task. ``task`` may be omitted when the model has a single task. Unknown tasks / data_keys raise ValueError.
* ``model.regularizer(task=..., data_key=None)`` is a scalar tensor (readout feature L1 times its weight for
  neural tasks, 0 otherwise) that the trainer adds to the loss.
* The neural readouts read an intermediate core layer (``readout_layer``), classification the last one, as in
  Safarani et al. 2021 (NeurIPS).
* General multi-task learning (``models.graph``): a declarative task graph of nodes ``{name, layers, anchor, loss,
  loss_weight, loss_init}`` compiled into :class:`TaskGraphModel` (``model(x, task=..., data_key=None)`` and
  ``model.forward_all(x, outputs)``; each needed node runs once per call; construction rejects cycles, unknown
  anchors, duplicate names, missing or unknown keys, unknown layer types and negative / non-finite loss weights).
  Losses are metadata for the trainer: ``model.task_losses`` ({task: loss name}), ``model.loss_weights`` ({task:
  number or "auto"}), ``model.loss_inits``. :func:`hard_sharing_model` shares an encoder between per-task decoders
  (:func:`binary_head`, :func:`multiclass_head`, :func:`regression_head`); :func:`register_layer` adds layer types
  for JSON configs; :func:`draw_task_graph` writes a PNG. Builders: :func:`task_graph_model` (JSON node specs) and
  :func:`hard_sharing_mlp` (heads sized from the loaders).

This subpackage never imports ``trainer``, ``dataset`` or datajoint.
"""

from .builders import UnknownConfigKeyError, hard_sharing_mlp, multitask_model, strict_config, task_graph_model
from .cores import VGGCore
from .graph import (
    TaskGraphModel,
    binary_head,
    draw_task_graph,
    hard_sharing_model,
    multiclass_head,
    register_layer,
    registered_layers,
    regression_head,
    unregister_layer,
)
from .heads import ClassificationHead, PooledLinearHead, RegressionHead
from .multitask import MultiTaskModel
from .readouts import READOUT_OPTIONS, FactorizedReadout, SessionReadouts, build_readout

__all__ = [
    "READOUT_OPTIONS",
    "ClassificationHead",
    "FactorizedReadout",
    "MultiTaskModel",
    "PooledLinearHead",
    "RegressionHead",
    "SessionReadouts",
    "TaskGraphModel",
    "UnknownConfigKeyError",
    "VGGCore",
    "binary_head",
    "build_readout",
    "draw_task_graph",
    "hard_sharing_mlp",
    "hard_sharing_model",
    "multiclass_head",
    "multitask_model",
    "register_layer",
    "registered_layers",
    "regression_head",
    "strict_config",
    "task_graph_model",
    "unregister_layer",
]
