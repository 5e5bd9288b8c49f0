"""Read labelled images into one array: from a ``.npz`` file, from a folder of class sub-folders, or the digits.

Every reader returns :class:`LabelledImages`: float32 images shaped (N, C, H, W) scaled to [0, 1], int64 labels
in ``0 .. n_classes - 1`` and the class names. Scaling to [0, 1] here means corruptions and augmentation see
pixel values on one scale, whatever the file stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger(__name__)

__all__ = ["LabelledImages", "load_npz_images", "load_image_folder", "load_digits_images", "to_unit_range", "to_nchw"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
_CHANNEL_COUNTS = (1, 3, 4)


@dataclass
class LabelledImages:
    images: torch.Tensor  # (N, C, H, W) float32 in [0, 1]
    labels: torch.Tensor  # (N,) int64
    class_names: list[str]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def __post_init__(self):
        if self.images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        if len(self.images) == 0:
            raise ValueError("no images")


def to_nchw(images: np.ndarray, source: str, channels_last: bool | None = None) -> np.ndarray:
    """(N, H, W), (N, H, W, C) or (N, C, H, W) -> (N, C, H, W); ``channels_last`` settles ambiguous shapes."""
    if images.ndim == 3:
        return images[:, None]
    if images.ndim != 4:
        raise ValueError(f"{source}: images must have 3 or 4 dimensions (N,H,W[,C]) or (N,C,H,W), got {images.shape}")
    if channels_last is None:
        first, last = images.shape[1] in _CHANNEL_COUNTS, images.shape[3] in _CHANNEL_COUNTS
        if first == last:
            raise ValueError(
                f"{source}: cannot tell whether images of shape {images.shape} are (N,C,H,W) or (N,H,W,C); "
                "set channels_last to true or false"
            )
        channels_last = last
    return np.moveaxis(images, 3, 1) if channels_last else images


def to_unit_range(images: np.ndarray, source: str, pixel_max: float | None = None) -> torch.Tensor:
    """Images as float32 in [0, 1]: divided by ``pixel_max``, or by 255 for integer images whose values exceed 1.

    Float images already inside [0, 1] are kept. Non-finite pixels are refused.
    """
    if not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"{source}: images must be numeric, got dtype {images.dtype}")
    array = images.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{source}: images contain NaN or inf values")
    if pixel_max is None:
        low, high = float(array.min()), float(array.max())
        if low < 0:
            raise ValueError(f"{source}: images have negative values (min {low}); set pixel_max or rescale them")
        pixel_max = 1.0 if high <= 1.0 else 255.0
        if high > 255.0:
            raise ValueError(f"{source}: images exceed 255 (max {high}); set pixel_max to their full-scale value")
    if pixel_max <= 0:
        raise ValueError(f"{source}: pixel_max must be positive, got {pixel_max}")
    return torch.from_numpy(np.clip(array / pixel_max, 0.0, 1.0))


def _encode_labels(labels: np.ndarray, source: str) -> tuple[torch.Tensor, list[str]]:
    """Integer labels 0..K-1 keep their values (K = max + 1); any other labels map to sorted class names."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{source}: labels must be one-dimensional, got shape {labels.shape}")
    if np.issubdtype(labels.dtype, np.integer) and labels.size and labels.min() >= 0:
        n_classes = int(labels.max()) + 1
        return torch.from_numpy(labels.astype(np.int64)), [str(k) for k in range(n_classes)]
    if np.issubdtype(labels.dtype, np.floating) and not np.all(np.isfinite(labels)):
        raise ValueError(f"{source}: labels contain NaN or inf values")
    names, codes = np.unique(labels, return_inverse=True)
    return torch.from_numpy(codes.astype(np.int64)), [str(name) for name in names]


def load_npz_images(
    path: str | Path, channels_last: bool | None = None, pixel_max: float | None = None
) -> LabelledImages:
    """Read ``images`` and ``labels`` from a ``.npz`` file (images (N,H,W), (N,H,W,C) or (N,C,H,W))."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {path} does not exist")
    with np.load(path, allow_pickle=False) as archive:
        missing = [key for key in ("images", "labels") if key not in archive.files]
        if missing:
            raise ValueError(f"{path}: missing array(s) {missing}; found {sorted(archive.files)}")
        images, labels = archive["images"], archive["labels"]
    if len(images) != len(labels):
        raise ValueError(f"{path}: {len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError(f"{path}: contains no images")
    tensor = to_unit_range(to_nchw(images, str(path), channels_last), str(path), pixel_max)
    codes, names = _encode_labels(labels, str(path))
    return LabelledImages(tensor, codes, names)


def load_image_folder(path: str | Path, grayscale: bool | None = None) -> LabelledImages:
    """Read ``path/<class name>/<image file>``; class names sorted alphabetically give the labels 0..K-1.

    Images are read with Pillow as grayscale when every file is single-channel (or ``grayscale`` is true) and as
    RGB otherwise. All images must share one size (resize afterwards with the ``image_size`` option).
    """
    from PIL import Image

    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    class_dirs = sorted(child for child in root.iterdir() if child.is_dir())
    if not class_dirs:
        raise ValueError(f"image folder {root} has no class sub-folders")
    files, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        found = sorted(f for f in class_dir.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise ValueError(f"class folder {class_dir} has no image files ({', '.join(IMAGE_SUFFIXES)})")
        files += found
        labels += [label] * len(found)
    opened = []
    for file in files:
        try:
            with Image.open(file) as image:
                image.load()
                opened.append(image.copy())
        except OSError as error:
            raise ValueError(f"{file}: not a readable image ({error})") from error
    if grayscale is None:
        grayscale = all(image.mode in ("L", "1", "I", "I;16", "F") for image in opened)
    mode = "L" if grayscale else "RGB"
    arrays = [np.asarray(image.convert(mode)) for image in opened]
    sizes = sorted({array.shape[:2] for array in arrays})
    if len(sizes) > 1:
        raise ValueError(f"image folder {root}: images have different sizes {sizes[:5]}; they must all be equal")
    stacked = np.stack(arrays)
    tensor = to_unit_range(to_nchw(stacked, str(root), channels_last=not grayscale), str(root), 255.0)
    logger.debug("read %d images in %d classes from %s", len(files), len(class_dirs), root)
    return LabelledImages(tensor, torch.tensor(labels, dtype=torch.int64), [d.name for d in class_dirs])


def load_digits_images() -> LabelledImages:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes; pixel values 0..16), offline."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy((digits.images / 16.0).astype(np.float32))[:, None]
    return LabelledImages(images, torch.from_numpy(digits.target.astype(np.int64)), [str(k) for k in range(10)])
