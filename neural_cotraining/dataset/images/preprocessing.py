"""Deterministic image preprocessing in torch: grayscale, crop/subsample, resize, normalisation statistics.

All functions take and return float tensors shaped (N, C, H, W).
"""

from __future__ import annotations

import numbers
from typing import Sequence

import torch
import torch.nn.functional as F

from ...common.value_checks import check_int

__all__ = ["to_grayscale", "crop_and_subsample", "resize", "channel_statistics", "normalize", "as_channel_values"]

# ITU-R BT.601 luma weights, the ones Pillow's "L" conversion uses.
_LUMA = (0.299, 0.587, 0.114)


def to_grayscale(images: torch.Tensor) -> torch.Tensor:
    """RGB(A) -> one luminance channel (alpha ignored); single-channel images pass through unchanged."""
    channels = images.shape[1]
    if channels == 1:
        return images
    if channels not in (3, 4):
        raise ValueError(f"grayscale needs 1, 3 or 4 channels, got {channels}")
    weights = images.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (images[:, :3] * weights).sum(dim=1, keepdim=True)


def crop_and_subsample(images: torch.Tensor, crop=0, subsample: int = 1) -> torch.Tensor:
    """Remove ``crop`` pixels from the borders, then keep every ``subsample``-th pixel (nnvision's convention).

    ``crop`` is an int (all sides) or ``[[top, bottom], [left, right]]``.
    """
    if isinstance(crop, numbers.Integral):
        crop = [[crop, crop], [crop, crop]]
    try:
        (top, bottom), (left, right) = [(int(a), int(b)) for a, b in crop]
    except (TypeError, ValueError) as error:
        raise ValueError(f"crop must be an int or [[top, bottom], [left, right]], got {crop!r}") from error
    if min(top, bottom, left, right) < 0:
        raise ValueError(f"crop must not be negative, got {crop!r}")
    subsample = check_int("subsample", subsample, minimum=1)
    height, width = images.shape[-2:]
    if top + bottom >= height or left + right >= width:
        raise ValueError(f"crop {crop!r} removes the whole {height}x{width} image")
    return images[..., top : height - bottom : subsample, left : width - right : subsample]


def resize(images: torch.Tensor, size: tuple[int, int] | None) -> torch.Tensor:
    """Bilinear resize to ``size`` (antialiased when shrinking); ``None`` or the current size is a no-op."""
    if size is None or tuple(images.shape[-2:]) == tuple(size):
        return images
    shrinking = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    resized = F.interpolate(images, size=tuple(size), mode="bilinear", align_corners=False, antialias=shrinking)
    return resized.clamp(float(images.min()), float(images.max()))


def channel_statistics(images) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation over images and pixels.

    ``images`` is one (N, C, H, W) tensor or a list of them (sizes may differ; channel counts must agree).
    """
    parts = [images] if isinstance(images, torch.Tensor) else list(images)
    flat = torch.cat([part.transpose(0, 1).reshape(part.shape[1], -1) for part in parts], dim=1).double()
    return flat.mean(dim=1).tolist(), flat.std(dim=1).tolist()


def as_channel_values(value, n_channels: int, name: str) -> list[float]:
    """A scalar or a per-channel list as a list of ``n_channels`` floats."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return [float(value)] * n_channels
    if isinstance(value, Sequence) and len(value) in (1, n_channels):
        values = [float(v) for v in value]
        return values * n_channels if len(values) == 1 else values
    raise ValueError(f"{name} must be a number or a list of {n_channels} numbers (one per channel), got {value!r}")


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(images - mean) / std per channel; a (near-)zero std is refused because it would blow values up."""
    if any(s <= 1e-8 for s in std):
        raise ValueError(f"cannot normalise with standard deviation {list(std)}: the images are (nearly) constant")
    mean_t = images.new_tensor(list(mean)).view(1, -1, 1, 1)
    std_t = images.new_tensor(list(std)).view(1, -1, 1, 1)
    return (images - mean_t) / std_t
