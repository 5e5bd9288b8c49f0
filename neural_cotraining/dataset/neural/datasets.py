"""The neural-response Dataset, the split of trials by image id, and the sampler that keeps repeats together."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .._config import derive_seed
from .session import NeuralSession

__all__ = ["NeuralBatch", "NeuralResponseDataset", "RepeatGroupBatchSampler", "split_trials_by_image_id"]

# Batches are (images, responses), the field names neuralpredictors' static datasets use.
NeuralBatch = namedtuple("NeuralBatch", ["images", "responses"])


class NeuralResponseDataset(Dataset):
    """Trials of one session: item ``i`` is ``NeuralBatch(image shown in trial i, responses of trial i)``.

    The images tensor is shared between the splits of a session (trials index into it), so a repeated test
    image is stored once.
    """

    def __init__(
        self, images: torch.Tensor, image_index, responses, trial_image_ids, data_key: str, mean=None, std=None
    ):
        self.images = images
        self.image_index = torch.as_tensor(np.asarray(image_index), dtype=torch.long)
        self.responses = torch.as_tensor(np.asarray(responses), dtype=torch.float32)
        self.trial_image_ids = np.asarray(trial_image_ids, dtype=np.int64)
        self.data_key = data_key
        self.mean, self.std = mean, std
        if not (len(self.image_index) == len(self.responses) == len(self.trial_image_ids)):
            raise ValueError(f"session {data_key}: trial arrays have different lengths")

    @property
    def n_neurons(self) -> int:
        return self.responses.shape[1]

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


def split_trials_by_image_id(
    sessions: list[NeuralSession], seed: int, validation_fraction: float, validation_source: str = "seed"
) -> list[dict[str, np.ndarray]]:
    """Trial indices of ``"train"``, ``"validation"`` and ``"test"`` for each session.

    ``validation_source="seed"``: the images of the train and validation tiers are pooled and a seeded
    permutation of their ids (the union over all sessions, so an image is on the same side in every session)
    puts ``validation_fraction`` of them into validation; all repeats of an image stay on one side.
    ``"tiers"``: the file's own validation tier is kept. The test tier is the test split either way.
    """
    if validation_source not in ("seed", "tiers"):
        raise ValueError(f"validation_source must be 'seed' or 'tiers', got {validation_source!r}")
    validation_ids = np.array([], dtype=np.int64)
    if validation_source == "seed":
        pool = np.unique(np.concatenate([s.trial_image_ids[s.tiers != "test"] for s in sessions]))
        order = np.random.default_rng(derive_seed(seed, "neural_validation_split")).permutation(pool)
        validation_ids = np.sort(order[: int(round(len(pool) * validation_fraction))])
    splits = []
    for session in sessions:
        test = session.trials_in("test")
        if validation_source == "seed":
            pooled = np.flatnonzero(session.tiers != "test")
            in_validation = np.isin(session.trial_image_ids[pooled], validation_ids)
            split = {"train": pooled[~in_validation], "validation": pooled[in_validation], "test": test}
        else:
            split = {"train": session.trials_in("train"), "validation": session.trials_in("validation"), "test": test}
        for name, trials in split.items():
            if len(trials) == 0:
                raise ValueError(
                    f"{session.source or session.data_key}: the {name!r} split of session {session.data_key!r} is "
                    f"empty (validation_fraction={validation_fraction}, validation_source={validation_source!r})"
                )
        splits.append(split)
    return splits
