"""The co-trainer: multi-task training in plain PyTorch, no database (the pipeline hands it ``cb``).

Contract (nnfabrik): ``cotrainer(model, dataloaders, seed, uid=None, cb=None, **config) -> (score, output,
model_state)``. ``dataloaders = {"train": S, "validation": S, "test": S, ...}`` with ``S = {task: loader}`` or
``{task: {data_key: loader}}``; batch element 0 is the input, element 1 the target. The model is called as
``model(x, task=..., data_key=...)`` if its forward accepts those keywords (else ``model(x)``); an optional
``model.regularizer(task=..., data_key=...)`` is added to the objective unweighted. Gradient-based loss weightings
(gradnorm, pcgrad) look for shared parameters in ``model.shared_parameters()`` if the model has it, else in
``model.core``'s parameters if it has a ``core`` module, else in all parameters, and keep those that two or more tasks'
losses reach in the round's autograd graph (so heads and task-only core layers are never treated as shared).

Config keys (``inspect.signature(cotrainer)`` shows the same; an unknown key raises ``TypeError`` listing these)
--------------------------------------------------------------------------------------------------------------------
=========================  ==================  ==================================================================
key                        default             meaning
=========================  ==================  ==================================================================
``max_epochs``             100                 upper bound on epochs (epochs are numbered from 1)
``patience``               10                  epochs without improvement before stopping (None: never stop early)
``monitor``                None                ``{"validation/<task>/<metric>": "max"|"min"}``; None: the main
                                               task's accuracy (classification), correlation (neural) or loss
                                               (regression). Only validation metrics: the epoch is never chosen
                                               on test data
``monitor_combine``        "any"               "any": an epoch improves if any monitored metric beats its own best;
                                               "all": only if every one does
``min_delta``              0.0                 an improvement must exceed this
``score_metric``           None                the monitored metric returned as ``score`` (None: the first key)
``main_task``              None                task that defines the ratio cycler's epoch (None:
                                               "img_classification" if present, else the first training task)
``cycler``                 "ratio"             "ratio", "max_size_cycle", "min_size" or "proportional"
                                               (see ``trainer.cyclers``)
``ratio``                  None (= 1)          ratio cycler only: k auxiliary batches per main batch, a number or a
                                               schedule ``{epoch: k}`` such as ``{0: 1, 10: 2}`` (string keys ok)
``round_size``             None                batches per optimiser step; None: the cycler's own rounds (ratio:
                                               main batch + its auxiliary batches; round-robin: one batch per
                                               loader; proportional: one batch)
``loss_functions``         None                ``{task: loss name}`` (see ``trainer.losses``); None: what the model
                                               declares in ``model.task_losses`` (task graphs), else defaults:
                                               img_classification -> cross_entropy, neural -> poisson
``loss_weighting``         None                None: "declared" if the model declares ``loss_weights`` (numbers
                                               fixed, "auto" learned), else "fixed". Or "fixed", "equal",
                                               "likelihood" (Kendall, Gal & Cipolla 2018), "dwa" (Liu, Johns &
                                               Davison 2019), "gradnorm" (Chen et al. 2018), "pcgrad" (Yu et al.
                                               2020), "declared"; see ``trainer.weighting``
``loss_weighting_options`` None                fixed: ``{"weights": {task: w}}`` (default 1 each); equal:
                                               ``{"average": False}`` (True: weights 1/T); likelihood:
                                               ``{"initial_log_variance": 0.0}`` (number or ``{task: number}``),
                                               ``"log_variance_decay": 0.0`` (0.5*decay*s^2 added: Adam's coupled
                                               weight decay on s, as the original had), ``"log_variance_bounds":
                                               None`` ([low, high]: s projected after every step),
                                               ``"count_tasks": "kendall"`` ("dispersion": Poisson tasks become
                                               negative binomial without a Kendall factor, the original's scheme;
                                               "deviance": Poisson tasks weighed on their Poisson deviance);
                                               dwa: ``{"temperature": 2.0}``; gradnorm: ``{"alpha": 1.5, "lr":
                                               None (the trainer's lr), "gradient_parameters": "last"|"all"}``;
                                               pcgrad: none
``optimizer``              "adam"              "adam", "adamw" or "sgd"
``lr``                     1e-3                learning rate (all parameter groups but GradNorm's weights if their
                                               ``lr`` is set)
``weight_decay``           0.0                 weight decay of the model's parameters only (never of loss
                                               dispersions; the log-variances have ``log_variance_decay``)
``optimizer_options``      None                further optimiser arguments, e.g. ``{"momentum": 0.9}``
``lr_scheduler``           None                None, "plateau" (on ``score_metric``), "step", "multistep", "cosine"
``lr_scheduler_options``   None                torch scheduler arguments; defaults plateau {factor 0.3, patience 3,
                                               threshold 1e-4}, step {step_size 10, gamma 0.1}, multistep
                                               {milestones (required), gamma 0.1}, cosine {T_max max_epochs,
                                               eta_min 0}
``clip_grad_norm``         None                clip the model parameters' gradient norm to this
``device``                 None                torch device name; None: "cuda" if available, else "cpu"
``mixed_precision``        False               float16 autocast + GradScaler, on CUDA only (ignored with a warning
                                               elsewhere)
``checkpoint_every``       0                   pass the training state to ``cb`` every this many epochs (0: never)
``restore_best``           True                end with the weights of the best monitored epoch; False: with the last
                                               epoch's (``best_epoch`` is then the last epoch), e.g. to compare
                                               conditions after the same number of epochs, as the demo does
``verbose``                True                tqdm bar per epoch (only when stderr is a terminal)
``world_size``             1                   processes training this one job (data parallel, see
                                               ``trainer.distributed``): this process is rank 0 and starts the
                                               others; each training batch is split over them (same global batch)
``backend``                None                torch.distributed backend: None = "nccl" on CUDA, "gloo" on CPU
=========================  ==================  ==================================================================

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
