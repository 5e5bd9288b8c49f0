"""Every dataset builder of the package, ``fn(seed, **config) -> dataloaders`` (the nnfabrik signature).

- :func:`cotraining_loaders`: image classification (task ``"img_classification"``) and neural responses (task
  ``"neural"``) in one dataloaders dict, for the co-trainer;
- :func:`oracle_cotraining_loaders`: the same, MTL-Oracle style: the neural training targets are a predictor's
  responses to the classification training images (``mtl_oracle``);
- :func:`teacher_neural_loaders`: a positive control, units of a trained network read out through Poisson noise
  (``simulation.teacher``; also the neural format ``"teacher"`` of :func:`cotraining_loaders`);
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
from .mtl_oracle import check_outputs, check_predictor, oracle_predictor, oracle_training_loaders
from .simulation.loaders import simulated_neural_loaders
from .simulation.teacher import teacher_neural_loaders
from .tabular import tabular_loaders
from .trained_networks import trained_networks_available

logger = logging.getLogger(__name__)

__all__ = [
    "cotraining_loaders",
    "oracle_cotraining_loaders",
    "teacher_neural_loaders",
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
            (:func:`monkey_static_loaders`), ``"filetree"`` (:func:`filetree_static_loaders`) or ``"teacher"``
            (:func:`teacher_neural_loaders`).
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
    logger.debug("co-training bundle: splits %s", {split: sorted(tasks) for split, tasks in bundle.items()})
    return bundle


def _neural_format_and_options(neural) -> tuple[str, dict]:
    options = dict(neural or {})
    return options.pop("format", "simulated"), options


def check_oracle_config(config: dict) -> None:
    """Checks of :func:`oracle_cotraining_loaders` run when an entry is added: those of :func:`cotraining_loaders`,
    the predictor's form and, inside the pipeline, that a trained predictor exists and predicts exactly the
    neural config's sessions."""
    check_cotraining_config(config)
    if not isinstance(config.get("shuffle_targets", False), bool):
        raise ValueError(f"shuffle_targets must be true or false, got {config['shuffle_targets']!r}")
    format_name, options = _neural_format_and_options(config.get("neural"))
    predictor = config.get("predictor")
    check_predictor(predictor, format_name)
    if predictor.get("trained_model") is not None and trained_networks_available():
        outputs, _ = oracle_predictor(predictor, 0, options)
        neural = NEURAL_FORMATS[format_name](0, **options)["train"][NEURAL_TASK]
        check_outputs(outputs, {key: loader.dataset.n_neurons for key, loader in neural.items()})


@register_builder("dataset")
@checks_config(check_oracle_config)
@strict_builder
def oracle_cotraining_loaders(
    seed,
    predictor=None,
    image=None,
    neural=None,
    shuffle_targets=False,
    shared_normalization=True,
    image_task=IMAGE_TASK,
    neural_task=NEURAL_TASK,
):
    """MTL-Oracle (``mtl_oracle``): :func:`cotraining_loaders` with each session's training targets replaced by
    ``predictor``'s responses to the classification training images.

    Args:
        predictor: ``{"trained_model": <TrainedModel key>}`` (a neural-predictive model trained by the pipeline, its
            outputs one per session of ``neural``) or ``{"ground_truth": true}`` (simulated neurons' noise-free
            rates).
        image, neural, shared_normalization, image_task, neural_task: as :func:`cotraining_loaders`; the neural
            sessions give the data_keys, the neurons and the validation and test trials.
        shuffle_targets: the control: the predicted response vectors re-paired with other images.
    """
    check_predictor(predictor, _neural_format_and_options(neural)[0])
    bundle = cotraining_loaders(seed, image=image, neural=neural, shared_normalization=shared_normalization,
                                image_task=image_task, neural_task=neural_task)
    _, options = _neural_format_and_options(neural)
    outputs, predict = oracle_predictor(predictor, seed, options)
    return oracle_training_loaders(bundle, image_task, neural_task, outputs, predict, seed, shuffle_targets)
