"""The co-trainer: multi-task training in plain PyTorch, no database (the pipeline hands it ``cb``).

Contract (nnfabrik): ``cotrainer(model, dataloaders, seed, uid=None, cb=None, **config) -> (score, output,
model_state)``. ``dataloaders = {"train": S, "validation": S, "test": S, ...}`` with ``S = {task: loader}`` or
``{task: {data_key: loader}}``; batch element 0 is the input, element 1 the target. The model is called as
``model(x, task=..., data_key=...)`` if its forward accepts those keywords (else ``model(x)``); an optional
``model.regularizer(task=..., data_key=...)`` is added to the objective unweighted. Gradient-based loss weightings
(gradnorm, pcgrad) look for shared parameters in ``model.shared_parameters()`` if the model has it, else in
``model.core``'s parameters if it has a ``core`` module, else in all parameters, and keep those that two or more tasks'
losses reach in the round's autograd graph (so heads and task-only core layers are never treated as shared).

Config keys, their defaults and meaning: ``docs/configuration.md`` (``tests/test_docs.py`` holds it to
``inspect.signature(cotrainer)``; an unknown key raises ``TypeError`` listing the accepted ones).

Rounds: a task's loss in a round is the mean of its batch losses in that round; the weighting combines the tasks'
round losses and does the backward pass; then one optimiser step (gradient clipping first, if set), then the
weighting's ``after_step()``. After each epoch the weighting reports its weights and gets each task's mean training
loss (``epoch_end``); at each epoch start it is reseeded from (seed, epoch).

``cb`` protocol (``trainer.callbacks``): None; or a heartbeat ``cb()`` called once per epoch; or a callback taking
``epoch`` and ``metrics`` (and ``state``), called after each epoch as ``cb(epoch=e, metrics=M)`` and at checkpoint
epochs as ``cb(epoch=e, metrics=M, state=S)``. ``M = {split: {task: {metric: float}}}``: "train" holds each task's
mean training ``loss`` (and ``regularizer``), plus the weighting's ``loss_weight`` used in that epoch (and
``log_variance`` / ``gradient_norm`` / ``conflict_fraction``); "validation" the task metrics (``trainer.metrics``:
classification accuracy, macro precision/recall/f1; binary auc, accuracy, precision, recall, f1; regression mae,
rmse, mse; neural correlation; always loss). Any of them can be monitored, e.g. ``{"validation/<task>/auc":
"max"}``. ``S`` is the whole training state (model, optimiser, scheduler, weighting, loss parameters, early
stopping, best weights, history, RNG states, epoch), only plain types and tensors, so it survives ``torch.save`` +
``torch.load(weights_only=True)``. If ``cb.resume_state`` is callable, ``cb.resume_state()`` is called before
training; a returned S continues that run exactly (all randomness of an epoch is reseeded from (seed, epoch)).

Errors: a NaN/inf training loss raises ``NonFiniteLossError`` (a ``ValueError``) naming task, data_key and epoch.

``output`` (JSON-able)::

    {"best_epoch": int, "epochs_run": int, "stopped_early": bool,
     "score_metric": "validation/<task>/<metric>",
     "final": {split: {task: {metric: float}}},        # every split, best weights, computed once at the end;
                                                      # tasks with data_keys also get f"{metric}/{data_key}"
     "history": [{"epoch": e, "metrics": M}, ...],
     "loss_weights": {task: float},                    # at the best epoch
     "per_neuron": {task: {data_key: {"unit_ids": [int], "correlation": [float],      # test split, best weights,
                                      "oracle": [float], "fraction_oracle": [float],  # oracle where images repeat
                                      "area": [str], "layer": [str]}}}}               # where the data has them

``score`` = ``score_metric`` at the best epoch; ``model_state`` = the best ``model.state_dict()`` on CPU.
"""

from .builders import cotrainer
from .cotrainer import STATE_FORMAT, CoTrainer
from .cyclers import CYCLERS, ProportionalCycler, RatioCycler, RoundRobinCycler, build_cycler
from .early_stopping import EarlyStopping
from .errors import NonFiniteLossError
from .losses import LOSSES, TaskLoss, build_loss
from .weighting import (
    WEIGHTINGS,
    DynamicWeightAverage,
    EqualWeighting,
    FixedWeighting,
    GradNormWeighting,
    LikelihoodWeighting,
    LossWeighting,
    PCGradWeighting,
    build_weighting,
)

__all__ = [
    "CYCLERS",
    "CoTrainer",
    "DynamicWeightAverage",
    "EarlyStopping",
    "EqualWeighting",
    "FixedWeighting",
    "GradNormWeighting",
    "LOSSES",
    "LikelihoodWeighting",
    "LossWeighting",
    "NonFiniteLossError",
    "PCGradWeighting",
    "ProportionalCycler",
    "RatioCycler",
    "RoundRobinCycler",
    "STATE_FORMAT",
    "TaskLoss",
    "WEIGHTINGS",
    "build_cycler",
    "build_loss",
    "build_weighting",
    "cotrainer",
]
