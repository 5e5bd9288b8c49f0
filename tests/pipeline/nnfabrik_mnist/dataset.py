"""nnfabrik's ``mnist_dataset_fn`` on a stand-in for MNIST: scikit-learn's 8x8 digits (see the package docstring)."""

from functools import lru_cache
from typing import Dict

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, Dataset, TensorDataset

N_TEST = 500


class _RandomHorizontalFlip(Dataset):
    """torchvision's RandomHorizontalFlip (p=0.5) on a tensor dataset, drawing from torch's generator."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        image, label = self.dataset[index]
        return (image.flip(-1) if torch.rand(()) < 0.5 else image), label


@lru_cache(maxsize=1)
def _load_digits():
    return load_digits()  # parsing the file takes a moment; the tensors made from it are never changed


def _digits(train: bool) -> TensorDataset:
    digits = _load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # like ToTensor: in [0, 1]
    labels = torch.tensor(digits.target, dtype=torch.int64)
    mean, std = images[:-N_TEST].mean(), images[:-N_TEST].std()  # of the training images, as MNIST's constants are
    images = (images - mean) / std
    part = slice(None, -N_TEST) if train else slice(-N_TEST, None)
    return TensorDataset(images[part], labels[part])


def mnist_dataset_fn(seed: int, **config) -> Dict:
    """Data loaders ``train``, ``validation`` (the test set, as nnfabrik's) and ``test``; config keys
    ``batch_size`` (64), ``shuffle`` (True), ``apply_augmentation`` (False)."""
    np.random.seed(seed)
    train_dataset = _digits(train=True)
    if config.get("apply_augmentation"):
        train_dataset = _RandomHorizontalFlip(train_dataset)
    validation_dataset = _digits(train=False)
    test_dataset = _digits(train=False)
    batch_size = config.get("batch_size", 64)
    return {
        "train": DataLoader(train_dataset, batch_size=batch_size, shuffle=config.get("shuffle", True)),
        "validation": DataLoader(validation_dataset, batch_size=batch_size),
        "test": DataLoader(test_dataset, batch_size=batch_size),
    }
