"""Image classification data: readers (.npz, class folders, scikit-learn digits), preprocessing, torch
augmentation, ImageNet-C-style corruptions (Hendrycks & Dietterich 2019) and the dataset builders."""

from .augmentation import AugmentingCollate, BatchAugmentation
from .corruptions import CORRUPTIONS, SEVERITIES, corrupt, corruption_key, gaussian_noise, noise_key
from .datasets import ImageBatch, ImageClassificationDataset, stratified_split
from .loaders import IMAGE_TASK, ROBUSTNESS_SPLIT, digits_loaders, image_classification_loaders
from .sources import LabelledImages, load_digits_images, load_image_folder, load_npz_images

__all__ = [
    "AugmentingCollate",
    "BatchAugmentation",
    "CORRUPTIONS",
    "SEVERITIES",
    "corrupt",
    "corruption_key",
    "gaussian_noise",
    "noise_key",
    "ImageBatch",
    "ImageClassificationDataset",
    "stratified_split",
    "IMAGE_TASK",
    "ROBUSTNESS_SPLIT",
    "digits_loaders",
    "image_classification_loaders",
    "LabelledImages",
    "load_digits_images",
    "load_image_folder",
    "load_npz_images",
]
