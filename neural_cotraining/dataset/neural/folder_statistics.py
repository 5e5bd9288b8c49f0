"""nnvision's image normalisation statistics: one mean and one standard deviation over every image in the folder.

nnvision's NeurIPS-era ``ImageCache.zscore_images`` (used by ``monkey_static_loader`` when no statistics are given)
loads every ``.npy`` file of the image folder -- also images no session shows --, turns a 2-d grey image into three
identical channels, crops and subsamples it, and takes ``mean()`` and the unbiased ``std()`` over all pixels of all
images and channels, divided by 255. :func:`folder_statistics` computes the same numbers (in float64 where nnvision
used float32, so they agree to float32 rounding) on the package's pixel scale: divided by 255 when the folder's
values exceed 1, as the readers scale the pixels themselves.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ..images.preprocessing import crop_and_subsample
from .monkey_static import ImageFolder, read_image_file

logger = logging.getLogger(__name__)

__all__ = ["folder_statistics"]

NNVISION_GREY_COPIES = 3  # nnvision's ImageCache stacks a 2-d image into three channels before the statistics


def folder_statistics(images: ImageFolder, crop=0, subsample: int = 1) -> tuple[float, float]:
    """(mean, std) over every ``.npy`` image in ``images``' folder, cropped and subsampled, as nnvision does."""
    files = images.files()
    if not files:
        raise FileNotFoundError(f"image folder {images.path} holds no .npy images to compute statistics from")
    # running sums in float64: pixel values up to 255 over millions of pixels lose nothing that float32 keeps
    total = squares = count = 0.0
    largest = -np.inf
    for path in files:
        pixels = crop_and_subsample(torch.from_numpy(read_image_file(path))[None], crop, subsample)[0]
        pixels = pixels.double().numpy()
        copies = NNVISION_GREY_COPIES if pixels.shape[0] == 1 else 1
        total += copies * pixels.sum()
        squares += copies * np.square(pixels).sum()
        count += copies * pixels.size
        largest = max(largest, float(pixels.max()))
    mean = total / count
    std = float(np.sqrt(max(squares - count * mean * mean, 0.0) / (count - 1)))
    scale = 255.0 if largest > 1.0 else 1.0
    mean, std = float(mean) / scale, std / scale
    logger.debug("image statistics over the %d images in %s: mean %.6g, std %.6g", len(files), images.path, mean, std)
    return mean, std
