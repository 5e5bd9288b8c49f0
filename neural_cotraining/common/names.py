"""The names of the shipped tasks and of the data splits, as configs, loaders and stored results spell them."""

from __future__ import annotations

__all__ = ["IMAGE_CLASSIFICATION", "NEURAL", "TRAIN", "VALIDATION", "TEST", "SPLITS"]

IMAGE_CLASSIFICATION = "img_classification"  # the image task's default name
NEURAL = "neural"  # the neural-response task's default name

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"
SPLITS = (TRAIN, VALIDATION, TEST)  # the keys of a dataset builder's result, in this order
