"""Per-task losses, chosen by name in the trainer config (``loss_functions={task: name}``).

====================  ==============  =================  ===========================================================
name                  kind (metrics)  likelihood form    what it is
====================  ==============  =================  ===========================================================
``cross_entropy``     classification  classification     softmax cross-entropy on logits, int64 labels
``bce_with_logits``   binary          classification     sigmoid cross-entropy on logits, targets in [0, 1]
``mse``               regression      regression         mean squared error
``smooth_l1``         regression      regression         Smooth-L1 / Huber (beta=1)
``poisson``           neural          regression         full Poisson NLL incl. lgamma(y+1); model outputs rates >= 0
``negative_binomial`` neural          regression         NB NLL, learned dispersion per task; rates >= 0
``poisson_partial``   neural          (refused)          Poisson NLL without lgamma(y+1) (not normalised)
====================  ==============  =================  ===========================================================

Every loss is the mean over the batch (and over output elements). Defaults when a task has no entry:
``img_classification`` -> cross_entropy, ``neural`` -> poisson; otherwise a dataset exposing ``n_classes`` ->
cross_entropy, ``n_neurons`` -> poisson; anything else must be named.
"""

from __future__ import annotations

from ...common.names import IMAGE_CLASSIFICATION, NEURAL
from .base import KINDS, LIKELIHOOD_FORMS, TaskLoss, match_shapes
from .classification import BCEWithLogitsLoss, CrossEntropyLoss
from .counts import NegativeBinomialLoss, PartialPoissonLoss, PoissonLoss
from .regression import MSELoss, SmoothL1Loss
from .registry import LOSSES, register_loss

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "FLAGSHIP_TASK_LOSSES",
    "KINDS",
    "LIKELIHOOD_FORMS",
    "LOSSES",
    "MSELoss",
    "NegativeBinomialLoss",
    "PartialPoissonLoss",
    "PoissonLoss",
    "SmoothL1Loss",
    "TaskLoss",
    "build_loss",
    "default_loss_name",
    "match_shapes",
    "register_loss",
]

#: the loss of each of the flagship experiment's task names (a task without a ``loss_functions`` entry)
FLAGSHIP_TASK_LOSSES = {IMAGE_CLASSIFICATION: "cross_entropy", NEURAL: "poisson"}


def build_loss(name: str) -> TaskLoss:
    """A fresh loss module by config name."""
    return LOSSES.lookup(name)()


def default_loss_name(task: str, loaders) -> str:
    """The loss for a task without a ``loss_functions`` entry: by flagship name, else by dataset attributes."""
    if task in FLAGSHIP_TASK_LOSSES:
        return FLAGSHIP_TASK_LOSSES[task]
    datasets = [getattr(loader, "dataset", None) for loader in loaders]
    if datasets and all(hasattr(dataset, "n_classes") for dataset in datasets):
        return "cross_entropy"
    if datasets and all(hasattr(dataset, "n_neurons") for dataset in datasets):
        return "poisson"
    raise ValueError(
        f"no loss for task {task!r}: name one in loss_functions={{{task!r}: ...}} (one of {sorted(LOSSES)}); "
        "defaults exist only for the tasks 'img_classification' and 'neural' and for datasets exposing "
        "n_classes or n_neurons"
    )
