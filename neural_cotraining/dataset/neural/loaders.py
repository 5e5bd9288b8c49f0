"""Neural-response dataset builders, ``fn(seed, **config) -> dataloaders`` (the nnfabrik signature).

Returned structure (``task`` defaults to ``"neural"``; one DataLoader per session, keyed by its data_key)::

    {"train":      {task: {data_key: DataLoader}},   # shuffled with the session's own torch.Generator
     "validation": {task: {data_key: DataLoader}},   # chosen by ``split`` (below)
     "test":       {task: {data_key: DataLoader}}}   # each batch = all repeats of ``test_images_per_batch`` images

Batches are ``NeuralBatch(images (N, C, H, W) float32, responses (N, n_neurons) float32)``; every dataset has
``n_neurons``, ``unit_ids`` (and ``area`` / ``layer`` where the data has them; else None), ``mean_response`` and,
in the test split, the per-neuron leave-one-out ``oracle`` (None without repeats). Images are standardised with one
mean/std per channel computed over the training images of all sessions together (or the given
``image_mean``/``image_std``), so a shared core sees one input scale.

``split`` picks the validation images: ``"seed"`` (this package's own: a ``seed``-dependent share
``validation_fraction`` of the non-test image ids, the same ids in every session), ``"tiers"`` (the file's own
validation tier; the FileTree default) or ``"nnvision"`` (monkey pickles only: exactly nnvision's split, see
``datasets.nnvision_validation_split``). ``three_channel_grey`` repeats a grey image into three identical channels,
as nnvision's NeurIPS-era image cache hands them out.
"""

from __future__ import annotations

import inspect
import logging

import numpy as np
import torch
from torch.utils.data import DataLoader

from ...registry import checks_config, register_builder
from ...common.names import NEURAL as NEURAL_TASK  # the default task name
from ...common.names import SPLITS, TRAIN, VALIDATION
from ...common.seeds import derive_data_seed
from ...common.value_checks import check_fraction, check_int
from ..neural_formats import register_neural_format
from .._config import as_pair, batch_sizes, make_generator, strict_builder
from ..images.preprocessing import (
    as_channel_values,
    channel_statistics,
    crop_and_subsample,
    normalize,
    resize,
    to_grayscale,
)
from .datasets import NeuralResponseDataset, RepeatGroupBatchSampler, split_trials_by_image_id
from .filetree import read_filetree_session
from .folder_statistics import folder_statistics
from .monkey_static import ImageFolder, image_folder_path, read_monkey_static_session
from .oracle import leave_one_out_oracle
from .own_format import read_sessions
from .shuffle import shuffle_responses_across_images
from .session import NeuralSession

logger = logging.getLogger(__name__)

__all__ = ["NEURAL_TASK", "build_neural_loaders", "neural_loaders", "monkey_static_loaders", "filetree_static_loaders"]

IMAGE_STATISTICS = ("train", "folder")


def _prepare_images(session: NeuralSession, crop, subsample, size, grayscale, three_channel_grey) -> torch.Tensor:
    images = torch.from_numpy(session.images)
    images = crop_and_subsample(images, crop, subsample)
    if grayscale:
        images = to_grayscale(images)
    if three_channel_grey and images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1).contiguous()
    return resize(images, size)


def _test_oracle(responses: np.ndarray, trial_image_ids: np.ndarray) -> np.ndarray | None:
    """Per-neuron leave-one-out oracle of the test trials; None when no test image repeats."""
    if len(np.unique(trial_image_ids)) == len(trial_image_ids):
        return None
    return leave_one_out_oracle(responses, trial_image_ids, per_neuron=True)[1]


def build_neural_loaders(
    sessions: list[NeuralSession],
    seed: int,
    batch_size=64,
    eval_batch_size=None,
    validation_fraction=0.2,
    split="seed",
    test_images_per_batch=1,
    image_size=None,
    crop=0,
    subsample=1,
    grayscale=False,
    three_channel_grey=False,
    normalize_images=True,
    image_mean=None,
    image_std=None,
    normalize_responses=False,
    shuffle_responses=False,
    task=NEURAL_TASK,
    num_workers=0,
    *,
    nnvision_image_count=None,
) -> dict:
    """DataLoaders for already-read sessions; the builders below read files and call this."""
    batch_size, eval_batch_size = batch_sizes(batch_size, eval_batch_size)
    test_images_per_batch = check_int("test_images_per_batch", test_images_per_batch, minimum=1)
    check_shuffle_option(shuffle_responses)
    validation_fraction = check_fraction("validation_fraction", validation_fraction)
    size = as_pair(image_size, "image_size")
    if not sessions:
        raise ValueError("no sessions to build loaders from")
    keys = [s.data_key for s in sessions]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"data_key(s) {duplicates} occur in more than one session ({[s.source for s in sessions]})")

    splits = split_trials_by_image_id(sessions, seed, validation_fraction, split, nnvision_image_count)
    images = [_prepare_images(s, crop, subsample, size, grayscale, three_channel_grey) for s in sessions]
    channel_counts = sorted({im.shape[1] for im in images})
    if len(channel_counts) > 1:
        raise ValueError(f"sessions have images with different channel counts {channel_counts}; set grayscale=true")
    n_channels = channel_counts[0]
    if normalize_images:
        train_images = [
            im[np.unique(s.trial_image_index[parts["train"]])] for s, im, parts in zip(sessions, images, splits)
        ]
        computed_mean, computed_std = channel_statistics(train_images)
        mean = computed_mean if image_mean is None else as_channel_values(image_mean, n_channels, "image_mean")
        std = computed_std if image_std is None else as_channel_values(image_std, n_channels, "image_std")
    else:
        mean, std = [0.0] * n_channels, [1.0] * n_channels

    loaders = {"train": {task: {}}, "validation": {task: {}}, "test": {task: {}}}
    for session, pixels, parts in zip(sessions, images, splits):
        normalized = normalize(pixels, mean, std)
        responses = session.responses
        if normalize_responses:
            # divide by the training std per neuron (as neuralpredictors' NeuroNormalizer does); keeps zero at zero
            scale = responses[parts["train"]].std(axis=0)
            responses = responses / np.where(scale > 1e-8, scale, 1.0)
        if shuffle_responses:
            responses = _shuffled(responses, session, parts, seed)
        dataset = {
            name: NeuralResponseDataset(
                normalized, session.trial_image_index[trials], responses[trials], session.trial_image_ids[trials],
                session.data_key, mean, std, unit_ids=session.unit_ids, area=session.area, layer=session.layer,
                oracle=_test_oracle(responses[trials], session.trial_image_ids[trials]) if name == "test" else None,
            )
            for name, trials in parts.items()
        }
        key = session.data_key
        generator = make_generator(seed, task, key, "train")
        loaders["train"][task][key] = DataLoader(
            dataset["train"], batch_size=batch_size, shuffle=True, generator=generator, num_workers=num_workers
        )
        loaders["validation"][task][key] = DataLoader(
            dataset["validation"], batch_size=eval_batch_size, shuffle=False, num_workers=num_workers
        )
        loaders["test"][task][key] = DataLoader(
            dataset["test"],
            batch_sampler=RepeatGroupBatchSampler(dataset["test"].trial_image_ids, test_images_per_batch),
            num_workers=num_workers,
        )
        logger.debug(
            "session %s: %d neurons, %d/%d/%d train/validation/test trials, images %s",
            key, session.n_neurons, *(len(parts[n]) for n in SPLITS), tuple(pixels.shape[1:]),
        )
    return loaders


def check_shuffle_option(shuffle_responses) -> None:
    if not isinstance(shuffle_responses, bool):
        raise ValueError(f"shuffle_responses must be true or false, got {shuffle_responses!r}")


def check_neural_config(config: dict) -> None:
    """Value checks run when an entry is added (``builders.checks_config``)."""
    check_shuffle_option(config.get("shuffle_responses", False))


def _shuffled(responses: np.ndarray, session: NeuralSession, parts: dict, seed: int) -> np.ndarray:
    """The shuffled-responses control (``shuffle``): training and validation responses re-paired with other images
    of their own split, test responses untouched."""
    responses = np.array(responses, copy=True)
    for name in (TRAIN, VALIDATION):
        trials = parts[name]
        shuffle_seed = derive_data_seed(seed, "shuffle_responses", session.data_key, name)
        image_ids = session.trial_image_ids[trials]
        responses[trials] = shuffle_responses_across_images(responses[trials], image_ids, shuffle_seed)
    logger.debug("session %s: training and validation responses shuffled across images (control)", session.data_key)
    return responses


LOADER_OPTIONS = tuple(
    name for name, p in inspect.signature(build_neural_loaders).parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD
)[2:]


def loader_options(arguments: dict, leave_out: tuple[str, ...] = ()) -> dict:
    """The options of :func:`build_neural_loaders` among a builder's arguments, but those in ``leave_out``."""
    return {name: arguments[name] for name in LOADER_OPTIONS if name in arguments and name not in leave_out}


@register_builder("dataset")
@register_neural_format("own")
@checks_config(check_neural_config)
@strict_builder
def neural_loaders(
    seed,
    path=None,
    data_keys=None,
    batch_size=64,
    eval_batch_size=None,
    validation_fraction=0.2,
    split="seed",
    test_images_per_batch=1,
    image_size=None,
    crop=0,
    subsample=1,
    grayscale=False,
    three_channel_grey=False,
    normalize_images=True,
    image_mean=None,
    image_std=None,
    normalize_responses=False,
    shuffle_responses=False,
    task=NEURAL_TASK,
    num_workers=0,
):
    """Loaders for sessions in our on-disk format (see ``own_format``) under the folder ``path``.

    ``data_keys`` picks sessions (default: every sub-folder with a ``session.json``). ``split``: ``"seed"``
    splits validation images off the training pool by id with ``seed``; ``"tiers"`` keeps the file's validation
    tier. ``crop``/``subsample`` (nnvision's convention), ``grayscale``, ``three_channel_grey`` and ``image_size``
    preprocess the images; ``normalize_responses`` divides each neuron by its training standard deviation;
    ``shuffle_responses`` is the shuffled-responses control (``neural.shuffle``: training and validation responses
    re-paired with other images by a permutation seeded from ``seed``, test responses untouched).
    """
    if path is None:
        raise ValueError("neural_loaders needs path: the folder holding the session folders")
    sessions = read_sessions(path, data_keys)
    return build_neural_loaders(sessions, seed, **loader_options(locals()))


@register_builder("dataset")
@register_neural_format("monkey_static")
@checks_config(check_neural_config)
@strict_builder
def monkey_static_loaders(
    seed,
    neuronal_data_files=None,
    image_cache_path=None,
    time_bins_sum=12,
    average_time_bins=False,
    image_id_offset=0,
    filename_precision=6,
    batch_size=64,
    eval_batch_size=None,
    validation_fraction=0.2,
    split="seed",
    test_images_per_batch=1,
    image_size=None,
    crop=0,
    subsample=1,
    grayscale=False,
    three_channel_grey=False,
    normalize_images=True,
    image_statistics="train",
    image_mean=None,
    image_std=None,
    normalize_responses=False,
    shuffle_responses=False,
    task=NEURAL_TASK,
    num_workers=0,
):
    """Loaders for nnvision "monkey static" session pickles (see ``monkey_static``), one per session.

    ``neuronal_data_files``: list of pickle paths (read as plain data only); ``image_cache_path``: the folder of
    ``<image_id>.npy`` files (a trailing ``individual`` is dropped, as nnvision does). ``time_bins_sum``: the
    first n time bins (int) or a list of bin indices, summed (or averaged with ``average_time_bins``).
    ``split="nnvision"``: nnvision's train/validation split (seed 1000 whatever ``seed`` is; train fraction
    ``1 - validation_fraction``); ``"seed"``: this package's own. ``image_statistics``: ``"train"`` normalises
    with per-channel statistics of the sessions' training images, ``"folder"`` with nnvision's single mean/std
    over every image file in the folder, cropped and subsampled (see ``folder_statistics``); ``image_mean`` /
    ``image_std`` give them outright. The other options are those of :func:`neural_loaders`.
    """
    if not neuronal_data_files:
        raise ValueError("monkey_static_loaders needs neuronal_data_files: a list of session pickle files")
    if image_cache_path is None:
        raise ValueError("monkey_static_loaders needs image_cache_path: the folder of <image_id>.npy files")
    if image_statistics not in IMAGE_STATISTICS:
        raise ValueError(f"image_statistics must be one of {list(IMAGE_STATISTICS)}, got {image_statistics!r}")
    if image_statistics == "folder" and (image_mean is not None or image_std is not None):
        raise ValueError("image_statistics='folder' computes image_mean and image_std: do not set them as well")
    if isinstance(neuronal_data_files, str):
        neuronal_data_files = [neuronal_data_files]
    images = ImageFolder(image_folder_path(image_cache_path), filename_precision)
    sessions = [
        read_monkey_static_session(f, images, time_bins_sum, average_time_bins, image_id_offset)
        for f in neuronal_data_files
    ]
    options = loader_options(locals())
    if image_statistics == "folder" and normalize_images:
        options["image_mean"], options["image_std"] = folder_statistics(images, crop, subsample)
    image_count = len(images.files()) if split == "nnvision" else None
    return build_neural_loaders(sessions, seed, nnvision_image_count=image_count, **options)


@register_builder("dataset")
@register_neural_format("filetree")
@checks_config(check_neural_config)
@strict_builder
def filetree_static_loaders(
    seed,
    paths=None,
    image_id_key=None,
    data_key_naming="folder",
    batch_size=64,
    eval_batch_size=None,
    validation_fraction=0.2,
    split="tiers",
    test_images_per_batch=1,
    image_size=None,
    crop=0,
    subsample=1,
    grayscale=False,
    three_channel_grey=False,
    normalize_images=True,
    image_mean=None,
    image_std=None,
    normalize_responses=False,
    shuffle_responses=False,
    task=NEURAL_TASK,
    num_workers=0,
):
    """Loaders for neuralpredictors FileTree static datasets (the Sensorium layout, see ``filetree``).

    ``paths``: list of dataset folders. ``data_key_naming``: ``"folder"`` (the folder name) or ``"nnvision"``
    (nnvision's ``mouse_static_loader`` name, e.g. ``90001-1-1-0``). ``image_id_key`` names the
    ``meta/trials/<key>.npy`` file of image ids (default: the first of frame_image_id, image_id,
    colorframeprojector_image_id). ``split="tiers"`` (default) keeps the files' train/validation/test tiers, as
    neuralpredictors and nnvision do; ``"seed"`` re-splits the train and validation images by ``seed``.
    """
    if not paths:
        raise ValueError("filetree_static_loaders needs paths: a list of FileTree dataset folders")
    if isinstance(paths, str):
        paths = [paths]
    sessions = [read_filetree_session(p, image_id_key, data_key_naming) for p in paths]
    return build_neural_loaders(sessions, seed, **loader_options(locals()))
