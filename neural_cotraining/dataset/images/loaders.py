"""Image-classification dataset builders, ``fn(seed, **config) -> dataloaders`` (the nnfabrik signature).

Returned structure (``task`` defaults to ``"img_classification"``)::

    {"train":      {task: DataLoader},      # shuffled with its own torch.Generator, augmented
     "validation": {task: DataLoader},
     "test":       {task: DataLoader},
     "robustness": {task: {key: DataLoader}}}   # only when noise_levels or corruptions are given

Robustness keys are ``"gaussian_noise_<std>"`` and ``"<corruption>_<severity>"`` (see ``corruptions``); they are
corrupted copies of the test split, made in [0, 1] pixel space before normalisation, reproducible from the seed.
Batches are ``ImageBatch(images (N, C, H, W) float32, labels (N,) int64)``.
"""

from __future__ import annotations

import logging

from torch.utils.data import DataLoader

from ...common.names import IMAGE_CLASSIFICATION as IMAGE_TASK  # the default task name
from ...common.value_checks import check_fraction
from ...registry import checks_config, register_builder
from .._config import as_pair, batch_sizes, make_generator, strict_builder
from .augmentation import AugmentingCollate, BatchAugmentation, NoiseAugmentation
from .corruptions import (
    CORRUPTIONS,
    SEVERITIES,
    check_noise_levels,
    check_robustness_options,
    corrupt,
    corruption_key,
    gaussian_noise,
    noise_key,
)
from .datasets import ImageClassificationDataset, stratified_split
from .preprocessing import as_channel_values, channel_statistics, normalize as normalize_images, resize, to_grayscale
from .sources import LabelledImages, load_digits_images, load_image_folder, load_npz_images

logger = logging.getLogger(__name__)

__all__ = ["image_classification_loaders", "digits_loaders", "ROBUSTNESS_SPLIT", "IMAGE_TASK", "IMAGE_SOURCES"]

ROBUSTNESS_SPLIT = "robustness"
IMAGE_SOURCES = ("digits", "npz", "folder")
DEFAULT_NOISE_LEVELS = (0.05, 0.1, 0.2, 0.4)


def check_image_config(config: dict) -> None:
    """Value checks run when an entry is added (``builders.checks_config``)."""
    check_noise_levels(config.get("train_noise_levels"))
    check_robustness_options(
        list(config.get("noise_levels") or []), list(config.get("corruptions") or []),
        list(config.get("severities") or SEVERITIES),
    )


def _read_source(source: str, path, channels_last, pixel_max) -> LabelledImages:
    if source == "digits":
        if path is not None:
            raise ValueError("source 'digits' takes no path (the digits ship with scikit-learn)")
        return load_digits_images()
    if path is None:
        raise ValueError(f"source {source!r} needs a path")
    if source == "npz":
        return load_npz_images(path, channels_last=channels_last, pixel_max=pixel_max)
    if source == "folder":
        return load_image_folder(path)
    raise ValueError(f"unknown image source {source!r}; choose one of {list(IMAGE_SOURCES)}")


def _loader(dataset, batch_size: int, num_workers: int, generator=None, augmentations=()) -> DataLoader:
    """A DataLoader; shuffling (and augmentation) only when a generator is given, both drawing from it."""
    active = [augmentation for augmentation in augmentations if augmentation.active]
    collate = AugmentingCollate(active, generator) if active and generator is not None else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=generator is not None,
        generator=generator,
        num_workers=num_workers,
        **({"collate_fn": collate} if collate is not None else {}),
    )


@register_builder("dataset")
@checks_config(check_image_config)
@strict_builder
def image_classification_loaders(
    seed,
    source="digits",
    path=None,
    batch_size=64,
    eval_batch_size=None,
    validation_fraction=0.15,
    test_fraction=0.15,
    image_size=None,
    grayscale=False,
    normalize=True,
    mean=None,
    std=None,
    random_crop_padding=0,
    horizontal_flip=False,
    rotation_degrees=0.0,
    train_noise_levels=None,
    noise_levels=DEFAULT_NOISE_LEVELS,
    corruptions=tuple(CORRUPTIONS),
    severities=SEVERITIES,
    channels_last=None,
    pixel_max=None,
    task=IMAGE_TASK,
    num_workers=0,
):
    """Image-classification dataloaders split by ``seed``; see the module docstring for the structure.

    Args:
        source: ``"digits"`` (scikit-learn's 8x8 digits, offline), ``"npz"`` (``path`` to a .npz with ``images``
            (N,H,W) / (N,H,W,C) / (N,C,H,W) and ``labels``) or ``"folder"`` (``path`` to class sub-folders of
            PNG/JPEG files; sorted folder names give labels 0..K-1).
        validation_fraction, test_fraction: per-class fractions of the images, drawn with a permutation seeded
            by ``seed`` (stratified).
        image_size: resize to this side (int) or [height, width] (bilinear, torch); ``None`` keeps the size.
        grayscale: convert RGB to one luminance channel.
        normalize, mean, std: standardise per channel with ``mean``/``std`` (scalars or per-channel lists) or,
            when they are ``None``, with the train split's statistics.
        random_crop_padding, horizontal_flip, rotation_degrees: training-only augmentation.
        train_noise_levels: Gaussian noise training (``augmentation.NoiseAugmentation``, the paper's noise-trained
            baseline): each training image gets pixel noise with a standard deviation drawn from this list
            (include 0 for clean images), after the other augmentations; None or [] turns it off.
        noise_levels, corruptions, severities: robustness sets from the test split; empty lists turn them off.
        channels_last, pixel_max: for ``"npz"``: the axis order of ambiguous 4-d arrays; the full-scale value.
    """
    batch_size, eval_batch_size = batch_sizes(batch_size, eval_batch_size)
    validation_fraction = check_fraction("validation_fraction", validation_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    if validation_fraction + test_fraction >= 1:
        total = validation_fraction + test_fraction
        raise ValueError(f"validation_fraction + test_fraction must be below 1, got {total}")
    size = as_pair(image_size, "image_size")
    noise_levels, corruptions, severities = list(noise_levels or []), list(corruptions or []), list(severities or [])
    check_robustness_options(noise_levels, corruptions, severities)
    augmentation = BatchAugmentation(random_crop_padding, bool(horizontal_flip), rotation_degrees)
    train_noise_levels = check_noise_levels(train_noise_levels)

    data = _read_source(source, path, channels_last, pixel_max)
    images = to_grayscale(data.images) if grayscale else data.images
    images = resize(images, size)
    where = source if path is None else f"{source} {path}"
    split = stratified_split(data.labels.numpy(), seed, validation_fraction, test_fraction, where)

    n_channels = images.shape[1]
    if normalize:
        train_mean, train_std = channel_statistics(images[split["train"]])
        mean = train_mean if mean is None else as_channel_values(mean, n_channels, "mean")
        std = train_std if std is None else as_channel_values(std, n_channels, "std")
    else:
        mean, std = [0.0] * n_channels, [1.0] * n_channels

    def dataset(pixels, indices, name):
        return ImageClassificationDataset(
            normalize_images(pixels, mean, std), data.labels[indices], data.class_names, mean, std, f"{where}: {name}"
        )

    train_generator = make_generator(seed, task, "train")
    noise_training = NoiseAugmentation(train_noise_levels, tuple(mean), tuple(std))
    loaders = {
        "train": {task: _loader(dataset(images[split["train"]], split["train"], "train"), batch_size, num_workers,
                                train_generator, [augmentation, noise_training])},
        "validation": {task: _loader(dataset(images[split["validation"]], split["validation"], "validation"),
                                     eval_batch_size, num_workers)},
        "test": {task: _loader(dataset(images[split["test"]], split["test"], "test"), eval_batch_size, num_workers)},
    }
    test_images = images[split["test"]]
    robustness = {}
    for level in noise_levels:
        key = noise_key(level)
        corrupted = gaussian_noise(test_images, float(level), make_generator(seed, task, ROBUSTNESS_SPLIT, key))
        robustness[key] = _loader(dataset(corrupted, split["test"], key), eval_batch_size, num_workers)
    for name in corruptions:
        for severity in severities:
            key = corruption_key(name, severity)
            corrupted = corrupt(test_images, name, int(severity), make_generator(seed, task, ROBUSTNESS_SPLIT, key))
            robustness[key] = _loader(dataset(corrupted, split["test"], key), eval_batch_size, num_workers)
    if robustness:
        loaders[ROBUSTNESS_SPLIT] = {task: robustness}
    logger.debug(
        "%s: %d train / %d validation / %d test images of shape %s, %d classes, %d robustness sets",
        where, len(split["train"]), len(split["validation"]), len(split["test"]), tuple(images.shape[1:]),
        data.n_classes, len(robustness),
    )
    return loaders


@register_builder("dataset")
@checks_config(check_image_config)
@strict_builder
def digits_loaders(
    seed,
    batch_size=64,
    eval_batch_size=None,
    validation_fraction=0.15,
    test_fraction=0.15,
    image_size=16,
    normalize=True,
    mean=None,
    std=None,
    random_crop_padding=0,
    horizontal_flip=False,
    rotation_degrees=0.0,
    train_noise_levels=None,
    noise_levels=DEFAULT_NOISE_LEVELS,
    corruptions=tuple(CORRUPTIONS),
    severities=SEVERITIES,
    task=IMAGE_TASK,
    num_workers=0,
):
    """scikit-learn's digits (1797 images, 10 classes) upsampled to ``image_size`` (8 keeps the original 8x8).

    A shortcut for ``image_classification_loaders(seed, source="digits", ...)``; same structure and options.
    Flips are off by default because mirrored digits are different symbols.
    """
    return image_classification_loaders(
        seed, source="digits", batch_size=batch_size, eval_batch_size=eval_batch_size,
        validation_fraction=validation_fraction, test_fraction=test_fraction, image_size=image_size,
        normalize=normalize, mean=mean, std=std, random_crop_padding=random_crop_padding,
        horizontal_flip=horizontal_flip, rotation_degrees=rotation_degrees, train_noise_levels=train_noise_levels,
        noise_levels=noise_levels,
        corruptions=corruptions, severities=severities, task=task, num_workers=num_workers,
    )
