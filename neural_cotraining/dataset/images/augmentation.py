"""Training-time augmentation of image batches, written in torch (no torchvision).

The augmentation runs on whole batches inside the DataLoader's ``collate_fn`` and draws its randomness from the
same ``torch.Generator`` that shuffles the loader, so reseeding that generator (as the trainer does per epoch)
reproduces both the order and the augmentation. Images arrive normalised, so the zero padding of crops and
rotations fills with the training-set mean colour.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

__all__ = [
    "BatchAugmentation",
    "NoiseAugmentation",
    "AugmentingCollate",
    "random_crop",
    "random_horizontal_flip",
    "rotate",
    "random_rotation",
]


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad by ``padding`` pixels, then crop each image back to its size at a random offset."""
    padding = int(padding)
    if padding <= 0:
        return images
    n, _, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
    return torch.stack(
        [padded[i, :, dy : dy + height, dx : dx + width] for i, (dy, dx) in enumerate(offsets.tolist())]
    )


def random_horizontal_flip(images: torch.Tensor, generator: torch.Generator, probability: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with ``probability``."""
    flip = torch.rand(images.shape[0], generator=generator) < probability
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate image ``i`` about its centre by ``degrees[i]`` (counter-clockwise as displayed, rows downwards).

    Uses ``affine_grid``/``grid_sample`` (bilinear, zero fill). The sampling matrix works in pixel units (the
    aspect-ratio terms), so non-square images rotate without shearing.
    """
    _, _, height, width = images.shape
    angles = torch.deg2rad(degrees.to(torch.float64))
    cos, sin = torch.cos(angles), torch.sin(angles)
    zeros = torch.zeros_like(cos)
    # grid_sample maps each output pixel to the input pixel it reads from, in x-right, y-down coordinates
    theta = torch.stack(
        [torch.stack([cos, -sin * height / width, zeros], 1), torch.stack([sin * width / height, cos, zeros], 1)], 1
    ).to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_rotation(images: torch.Tensor, max_degrees: float, generator: torch.Generator) -> torch.Tensor:
    """Rotate each image by an angle drawn uniformly from [-max_degrees, max_degrees]."""
    max_degrees = float(max_degrees)
    if max_degrees <= 0:
        return images
    degrees = (torch.rand(images.shape[0], generator=generator, dtype=torch.float64) * 2 - 1) * max_degrees
    return rotate(images, degrees)


@dataclass(frozen=True)
class BatchAugmentation:
    """Random crop with padding, horizontal flip and small rotation, applied in that order."""

    crop_padding: int = 0
    horizontal_flip: bool = False
    rotation_degrees: float = 0.0

    def __post_init__(self):
        padding = self.crop_padding
        if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
            raise ValueError(f"random_crop_padding must be a non-negative integer, got {self.crop_padding!r}")
        if isinstance(self.rotation_degrees, bool) or not isinstance(self.rotation_degrees, numbers.Real) or not (
            0 <= self.rotation_degrees <= 180
        ):
            raise ValueError(f"rotation_degrees must lie in [0, 180], got {self.rotation_degrees!r}")

    @property
    def active(self) -> bool:
        return self.crop_padding > 0 or self.horizontal_flip or self.rotation_degrees > 0

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        images = random_crop(images, self.crop_padding, generator)
        if self.horizontal_flip:
            images = random_horizontal_flip(images, generator)
        return random_rotation(images, self.rotation_degrees, generator)


@dataclass(frozen=True)
class NoiseAugmentation:
    """Gaussian noise training: each image draws one level uniformly from ``levels`` and gets i.i.d. Gaussian pixel
    noise of that standard deviation, clipped to [0, 1] pixel space, as the robustness sets' ``gaussian_noise``.

    This is the noise-trained baseline of Safarani et al. (NeurIPS 2021), "Towards robust vision by multi-task
    learning on monkey visual cortex" (their "Oracle": a network trained on the noise it is tested on). Images
    arrive normalised with ``mean``/``std`` per channel, so the noise is added in pixel units and the result is
    normalised again. A level of 0 leaves its images clean.
    """

    levels: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def active(self) -> bool:
        return any(level > 0 for level in self.levels)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n_channels = images.shape[1]
        mean = torch.as_tensor(self.mean, dtype=images.dtype).reshape(1, n_channels, 1, 1)
        std = torch.as_tensor(self.std, dtype=images.dtype).reshape(1, n_channels, 1, 1)
        levels = torch.as_tensor(self.levels, dtype=images.dtype)
        chosen = levels[torch.randint(len(levels), (images.shape[0],), generator=generator)].reshape(-1, 1, 1, 1)
        noise = torch.randn(images.shape, generator=generator, dtype=images.dtype)
        pixels = (images * std + mean + chosen * noise).clamp(0.0, 1.0)
        return (pixels - mean) / std


class AugmentingCollate:
    """``collate_fn`` that stacks a batch, then augments element 0 (the images) with each augmentation in turn,
    all drawing from the loader's generator."""

    def __init__(self, augmentations, generator: torch.Generator):
        self.augmentations = [augmentation for augmentation in augmentations if augmentation.active]
        self.generator = generator

    def __call__(self, samples):
        batch = default_collate(samples)
        images = batch[0]
        for augmentation in self.augmentations:
            images = augmentation(images, self.generator)
        items = [images, *batch[1:]]
        return batch._make(items) if hasattr(batch, "_make") else items
