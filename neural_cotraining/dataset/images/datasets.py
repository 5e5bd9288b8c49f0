"""The image-classification Dataset and the seeded, stratified train/validation/test split."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ...common.seeds import derive_data_seed

__all__ = ["ImageBatch", "ImageClassificationDataset", "stratified_split"]

# Batches are (images, labels); a namedtuple survives default_collate and is still a tuple.
ImageBatch = namedtuple("ImageBatch", ["images", "labels"])


class ImageClassificationDataset(Dataset):
    """In-memory images (N, C, H, W) float32 and int64 labels; exposes ``n_classes`` and the normalisation used."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, class_names, mean=None, std=None, name: str = ""):
        if len(images) != len(labels):
            raise ValueError(f"{name or 'dataset'}: {len(images)} images but {len(labels)} labels")
        self.images = images.float().contiguous()
        self.labels = labels.long()
        self.class_names = list(class_names)
        self.mean = mean
        self.std = std
        self.name = name

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> ImageBatch:
        return ImageBatch(self.images[index], self.labels[index])

    def __repr__(self) -> str:
        return (
            f"ImageClassificationDataset({self.name!r}, n={len(self)}, image_shape={self.image_shape}, "
            f"n_classes={self.n_classes})"
        )


def stratified_split(
    labels, seed: int, validation_fraction: float, test_fraction: float, source: str = "images"
) -> dict[str, np.ndarray]:
    """Indices of the ``"train"``, ``"validation"`` and ``"test"`` splits, drawn per class with a seeded permutation.

    Each class contributes ``round(n * fraction)`` images to validation and test, so class proportions match
    across splits. The same seed always gives the same split; each split's indices are sorted.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(derive_data_seed(seed, "image_classification_split"))
    parts = {"train": [], "validation": [], "test": []}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(len(members) * test_fraction))
        n_validation = int(round(len(members) * validation_fraction))
        n_validation = min(n_validation, max(0, len(members) - n_test - 1))  # keep >= 1 training image per class
        parts["test"].append(members[:n_test])
        parts["validation"].append(members[n_test : n_test + n_validation])
        parts["train"].append(members[n_test + n_validation :])
    split = {name: np.sort(np.concatenate(chunks)).astype(np.int64) for name, chunks in parts.items()}
    for name, indices in split.items():
        if len(indices) == 0:
            raise ValueError(
                f"{source}: the {name!r} split is empty ({len(labels)} images, "
                f"validation_fraction={validation_fraction}, test_fraction={test_fraction}); "
                "use more images or a larger fraction"
            )
    return split
