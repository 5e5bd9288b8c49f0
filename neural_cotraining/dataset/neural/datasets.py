"""The neural-response Dataset, the split of trials by image id, and the sampler that keeps repeats together."""

from __future__ import annotations

import logging
from collections import namedtuple

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ...common.seeds import derive_data_seed
from .session import NeuralSession

logger = logging.getLogger(__name__)

__all__ = [
    "NNVISION_SEED",
    "SPLITS",
    "NeuralBatch",
    "NeuralResponseDataset",
    "RepeatGroupBatchSampler",
    "nnvision_validation_split",
    "split_trials_by_image_id",
]

SPLITS = ("seed", "tiers", "nnvision")
NNVISION_SEED = 1000  # nnvision's NeurIPS-era monkey_static_loader sets seed = 1000 whatever it is given

# Batches are (images, responses), the field names neuralpredictors' static datasets use.
NeuralBatch = namedtuple("NeuralBatch", ["images", "responses"])


class NeuralResponseDataset(Dataset):
    """Trials of one session: item ``i`` is ``NeuralBatch(image shown in trial i, responses of trial i)``.

    The images tensor is shared between the splits of a session (trials index into it), so a repeated test
    image is stored once. ``unit_ids`` (and ``area`` / ``layer`` where the data has them) name the response
    columns; ``oracle`` is the per-neuron leave-one-out oracle of this split's repeats (None without repeats).
    """

    def __init__(
        self,
        images: torch.Tensor,
        image_index,
        responses,
        trial_image_ids,
        data_key: str,
        mean=None,
        std=None,
        unit_ids=None,
        area=None,
        layer=None,
        oracle=None,
    ):
        self.images = images
        self.image_index = torch.as_tensor(np.asarray(image_index), dtype=torch.long)
        self.responses = torch.as_tensor(np.asarray(responses), dtype=torch.float32)
        self.trial_image_ids = np.asarray(trial_image_ids, dtype=np.int64)
        self.data_key = data_key
        self.mean, self.std = mean, std
        if not (len(self.image_index) == len(self.responses) == len(self.trial_image_ids)):
            raise ValueError(f"session {data_key}: trial arrays have different lengths")
        self.unit_ids = np.arange(self.n_neurons, dtype=np.int64) if unit_ids is None else np.asarray(unit_ids)
        self.area, self.layer, self.oracle = area, layer, oracle
        for name in ("unit_ids", "area", "layer", "oracle"):
            values = getattr(self, name)
            if values is not None and len(values) != self.n_neurons:
                raise ValueError(f"session {data_key}: {len(values)} {name} for {self.n_neurons} neurons")

    @property
    def n_neurons(self) -> int:
        return self.responses.shape[1]

    @property
    def mean_response(self) -> torch.Tensor:
        """(n_neurons,) mean response over every trial of this split: a fixed statistic (unlike a batch), so a
        model's readout biases initialised from it do not depend on where the loader's shuffling has got to."""
        return self.responses.mean(dim=0)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.responses)

    def __getitem__(self, index) -> NeuralBatch:
        return NeuralBatch(self.images[self.image_index[index]], self.responses[index])

    def __repr__(self) -> str:
        return (
            f"NeuralResponseDataset({self.data_key!r}, n_trials={len(self)}, n_images="
            f"{len(np.unique(self.trial_image_ids))}, n_neurons={self.n_neurons}, image_shape={self.image_shape})"
        )


class RepeatGroupBatchSampler(Sampler):
    """Batches holding all repeats of ``images_per_batch`` images (sorted by image id), so each image's repeated
    trials arrive together (needed for the oracle / repeat-averaged test correlation)."""

    def __init__(self, trial_image_ids, images_per_batch: int = 1):
        ids = np.asarray(trial_image_ids)
        unique, inverse = np.unique(ids, return_inverse=True)
        self.groups = [np.flatnonzero(inverse == k).tolist() for k in range(len(unique))]
        self.images_per_batch = int(images_per_batch)

    def __iter__(self):
        for start in range(0, len(self.groups), self.images_per_batch):
            yield [trial for group in self.groups[start : start + self.images_per_batch] for trial in group]

    def __len__(self) -> int:
        return -(-len(self.groups) // self.images_per_batch)


def nnvision_validation_split(n_images: int, train_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train ids, validation ids) as nnvision's NeurIPS-era ``get_validation_split`` draws them for the monkey
    loader: numpy's legacy generator seeded with 1000 permutes the ids ``1 .. n_images`` (every ``.npy`` file in
    the image folder counts) and the first ``int(n_images * train_fraction)`` are training images."""
    order = np.random.RandomState(NNVISION_SEED).permutation(np.arange(1, int(n_images) + 1))
    cut = int(n_images * train_fraction)
    return order[:cut], order[cut:]


def _seeded_validation_ids(sessions: list[NeuralSession], seed: int, validation_fraction: float) -> np.ndarray:
    pool = np.unique(np.concatenate([s.trial_image_ids[s.tiers != "test"] for s in sessions]))
    order = np.random.default_rng(derive_data_seed(seed, "neural_validation_split")).permutation(pool)
    return np.sort(order[: int(round(len(pool) * validation_fraction))])


def split_trials_by_image_id(
    sessions: list[NeuralSession],
    seed: int,
    validation_fraction: float,
    split: str = "seed",
    nnvision_image_count: int | None = None,
) -> list[dict[str, np.ndarray]]:
    """Trial indices of ``"train"``, ``"validation"`` and ``"test"`` for each session.

    ``split="seed"`` (this package's own): the images of the train and validation tiers are pooled and a seeded
    permutation of their ids (the union over all sessions, so an image is on the same side in every session)
    puts ``validation_fraction`` of them into validation; all repeats of an image stay on one side.
    ``"tiers"``: the file's own validation tier is kept. ``"nnvision"``: nnvision's split of the ids
    ``1 .. nnvision_image_count`` (:func:`nnvision_validation_split`, ``seed`` unused as in nnvision, train
    fraction ``1 - validation_fraction``); training trials whose id is in neither part are dropped, as nnvision
    drops them (logged). The test tier is the test split in every mode.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    validation_ids = train_ids = None
    if split == "seed":
        validation_ids = _seeded_validation_ids(sessions, seed, validation_fraction)
    elif split == "nnvision":
        if nnvision_image_count is None:
            raise ValueError("split 'nnvision' needs the image folder's file count (monkey_static_loaders only)")
        # round: 1 - 0.2 must be nnvision's train_frac 0.8 to the last bit, so that int(n * 0.8) agrees
        train_ids, validation_ids = nnvision_validation_split(nnvision_image_count, round(1 - validation_fraction, 12))
        logger.debug("split 'nnvision': ids 1..%d permuted with seed %d (the builder's seed %d is not used)",
                     nnvision_image_count, NNVISION_SEED, seed)
    splits = []
    for session in sessions:
        test = session.trials_in("test")
        if split == "tiers":
            parts = {"train": session.trials_in("train"), "validation": session.trials_in("validation"), "test": test}
        else:
            pooled = np.flatnonzero(session.tiers != "test")
            ids = session.trial_image_ids[pooled]
            in_validation = np.isin(ids, validation_ids)
            in_train = ~in_validation if train_ids is None else np.isin(ids, train_ids)
            dropped = int((~in_validation & ~in_train).sum())
            if dropped:
                logger.warning("%s: %d training trial(s) show image ids outside 1..%s and are left out, as nnvision "
                               "leaves them out", session.source or session.data_key, dropped, nnvision_image_count)
            parts = {"train": pooled[in_train], "validation": pooled[in_validation], "test": test}
        for name, trials in parts.items():
            if len(trials) == 0:
                raise ValueError(
                    f"{session.source or session.data_key}: the {name!r} split of session {session.data_key!r} is "
                    f"empty (validation_fraction={validation_fraction}, split={split!r})"
                )
        splits.append(parts)
    return splits
