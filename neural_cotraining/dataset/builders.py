"""Every dataset builder of the package, ``fn(seed, **config) -> dataloaders`` (the nnfabrik signature).

- :func:`cotraining_loaders`: image classification (task ``"img_classification"``) and neural responses (task
  ``"neural"``) in one dataloaders dict, for the co-trainer;
- image only: :func:`digits_loaders`, :func:`image_classification_loaders`;
- neural only: :func:`simulated_neural_loaders`, :func:`neural_loaders` (our format),
  :func:`monkey_static_loaders` (nnvision pickles), :func:`filetree_static_loaders` (neuralpredictors FileTree);
- tabular: :func:`tabular_loaders` (several binary / regression tasks on the same inputs, from scikit-learn's bundled
  breast-cancer and diabetes data; see ``dataset.tabular``).

Unknown config keys raise ``ConfigKeyError`` naming the accepted keys, also for the nested ``image`` and
``neural`` configs of :func:`cotraining_loaders`.
"""

from __future__ import annotations

import inspect
import logging

from ..registry import checks_config, ConfigKeyError, register_builder
from ._config import strict_builder
from .images.loaders import IMAGE_TASK, digits_loaders, image_classification_loaders
from .neural.loaders import NEURAL_TASK, filetree_static_loaders, monkey_static_loaders, neural_loaders
from .neural_formats import NEURAL_FORMATS  # the "format" of a neural config picks the builder that reads it
from .simulation.loaders import simulated_neural_loaders
from .tabular import tabular_loaders

logger = logging.getLogger(__name__)

__all__ = [
    "cotraining_loaders",
    "digits_loaders",
    "image_classification_loaders",
    "simulated_neural_loaders",
    "neural_loaders",
    "monkey_static_loaders",
    "filetree_static_loaders",
    "tabular_loaders",
    "NEURAL_FORMATS",
    "DEFAULT_IMAGE_CONFIG",
]

DEFAULT_IMAGE_CONFIG = {"source": "digits", "image_size": 16}


def _sub_config(config, name: str, defaults: dict) -> dict:
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError(f"cotraining_loaders: {name} must be a dict of builder options, got {type(config).__name__}")
    if "task" in config:
        raise ConfigKeyError(f"cotraining_loaders: set the task name with {name}_task, not inside {name}")
    return {**defaults, **config}


def _check_sub_config(config, name: str, builder) -> None:
    """The nested ``image``/``neural`` config against the builder that will read it: keys, then values."""
    if not isinstance(config, dict):
        raise TypeError(f"cotraining_loaders: {name} must be a dict of builder options, got {type(config).__name__}")
    accepted = [key for key in inspect.signature(builder).parameters if key not in ("seed", "task")]
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        raise ConfigKeyError(
            f"cotraining_loaders: {name} does not accept key(s) {unknown} ({builder.__name__}); accepted: "
            f"{sorted(accepted)}"
        )
    builder.check_config_values(config)


def check_cotraining_config(config: dict) -> None:
    """Value checks of :func:`cotraining_loaders` run when an entry is added (``builders.checks_config``)."""
    image = config.get("image") or {}
    neural = dict(config.get("neural") or {})
    _check_sub_config(image, "image", image_classification_loaders)
    format_name = neural.pop("format", "simulated")
    try:
        reader = NEURAL_FORMATS.lookup(format_name)
    except ValueError as error:
        raise ValueError(f"cotraining_loaders: {error}") from None
    _check_sub_config(neural, "neural", reader)


@register_builder("dataset")
@checks_config(check_cotraining_config)
@strict_builder
def cotraining_loaders(
    seed,
    image=None,
    neural=None,
    shared_normalization=True,
    image_task=IMAGE_TASK,
    neural_task=NEURAL_TASK,
):
    """Image classification and neural loaders bundled for the co-trainer.

    Args:
        image: options of :func:`image_classification_loaders`, on top of ``{"source": "digits",
            "image_size": 16}``.
        neural: ``{"format": ..., **options}``; ``format`` is ``"simulated"`` (default;
            :func:`simulated_neural_loaders`), ``"own"`` (:func:`neural_loaders`), ``"monkey_static"``
            (:func:`monkey_static_loaders`) or ``"filetree"`` (:func:`filetree_static_loaders`).
        shared_normalization: standardise the neural images with the image task's training mean/std (unless the
            neural config sets ``image_mean``/``image_std`` or ``image_statistics: folder``), so the shared core
            sees one input scale.
        image_task, neural_task: the task names.

    Returns::

        {"train":      {image_task: DataLoader, neural_task: {data_key: DataLoader}},
         "validation": {image_task: DataLoader, neural_task: {data_key: DataLoader}},
         "test":       {image_task: DataLoader, neural_task: {data_key: DataLoader}},
         "robustness": {image_task: {"gaussian_noise_0.05": DataLoader, ..., "gaussian_blur_3": DataLoader, ...}}}
    """
    if image_task == neural_task:
        raise ValueError(f"image_task and neural_task must differ, both are {image_task!r}")
    image_config = _sub_config(image, "image", DEFAULT_IMAGE_CONFIG)
    neural_config = _sub_config(neural, "neural", {"format": "simulated"})
    format_name = neural_config.pop("format")
    read_neural = NEURAL_FORMATS.lookup(format_name)

    image_loaders = image_classification_loaders(seed, task=image_task, **image_config)
    own_statistics = neural_config.get("image_statistics", "train") != "train"  # e.g. nnvision's folder statistics
    if shared_normalization and neural_config.get("normalize_images", True) and not own_statistics:
        train_set = image_loaders["train"][image_task].dataset
        neural_config.setdefault("image_mean", train_set.mean)
        neural_config.setdefault("image_std", train_set.std)
    neural_loaders_ = read_neural(seed, task=neural_task, **neural_config)

    bundle = {}
    for part in (image_loaders, neural_loaders_):
        for split, tasks in part.items():
            bundle.setdefault(split, {}).update(tasks)
    logger.info("co-training bundle: splits %s", {split: sorted(tasks) for split, tasks in bundle.items()})
    return bundle
