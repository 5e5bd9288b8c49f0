"""Common image corruptions at severities 1-5, for robustness test sets, written in torch.

In the spirit of ImageNet-C (Hendrycks & Dietterich 2019, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations", ICLR): each corruption has five severities whose parameters follow that paper's
ones where they transfer to small images (noise amounts, contrast factors, brightness shifts). Blur widths and
pixelation blocks are in pixels and grow with the image size (blur relative to a 32-pixel side, blocks to a
64-pixel side), because the paper's 224-pixel values would erase small images; on images smaller than about
12 pixels the top pixelation severities saturate (blocks of 5 or 6 pixels no longer fit). Brightness adds to all
channels (the paper shifts the HSV value channel; for grayscale images the two agree).

All functions take images in [0, 1] shaped (N, C, H, W) and return the same shape, clipped to [0, 1]. The
stochastic ones draw from the ``generator`` they are given, so a test set is reproducible from the seed.

Robustness-set keys (the data_keys of the ``"robustness"`` split):

- ``"gaussian_noise_<std>"``: additive Gaussian noise of standard deviation ``<std>`` (pixel units, e.g.
  ``"gaussian_noise_0.05"``), one set per entry of ``noise_levels``;
- ``"<corruption>_<severity>"``: ``<corruption>`` one of :data:`CORRUPTIONS` and ``<severity>`` in 1..5, e.g.
  ``"gaussian_blur_3"``.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Iterable

import torch
import torch.nn.functional as F

__all__ = [
    "CORRUPTIONS",
    "SEVERITIES",
    "gaussian_noise",
    "shot_noise",
    "salt_and_pepper",
    "gaussian_blur",
    "contrast",
    "brightness",
    "pixelate",
    "corrupt",
    "noise_key",
    "corruption_key",
    "check_noise_levels",
]

SEVERITIES = (1, 2, 3, 4, 5)

# Parameters per severity 1..5 (ImageNet-C values where they transfer, see the module docstring).
_SHOT_PHOTONS = (60.0, 25.0, 12.0, 5.0, 3.0)
_IMPULSE_AMOUNT = (0.03, 0.06, 0.09, 0.17, 0.27)
_BLUR_SIGMA = (0.5, 0.75, 1.0, 1.5, 2.0)
_CONTRAST_FACTOR = (0.4, 0.3, 0.2, 0.1, 0.05)
_BRIGHTNESS_SHIFT = (0.1, 0.2, 0.3, 0.4, 0.5)
_PIXELATE_BLOCK = (2, 3, 4, 5, 6)


def _parameter(table, severity: int):
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    return table[severity - 1]


def gaussian_noise(images: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Add i.i.d. Gaussian noise of standard deviation ``std`` to every pixel."""
    if std < 0:
        raise ValueError(f"noise standard deviation must not be negative, got {std}")
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype)
    return (images + std * noise).clamp(0.0, 1.0)


def shot_noise(images: torch.Tensor, severity: int, generator: torch.Generator) -> torch.Tensor:
    """Poisson (photon) noise: fewer photons per unit intensity at higher severity."""
    photons = _parameter(_SHOT_PHOTONS, severity)
    return (torch.poisson(images * photons, generator=generator) / photons).clamp(0.0, 1.0)


def salt_and_pepper(images: torch.Tensor, severity: int, generator: torch.Generator) -> torch.Tensor:
    """Impulse noise: a fraction of pixel values set to 0 (pepper) or 1 (salt), half each."""
    amount = _parameter(_IMPULSE_AMOUNT, severity)
    draw = torch.rand(images.shape, generator=generator)
    corrupted = torch.where(draw < amount / 2, torch.zeros_like(images), images)
    return torch.where(draw > 1 - amount / 2, torch.ones_like(images), corrupted)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Separable Gaussian blur; sigma in pixels scales with the image side relative to 32 pixels (at least 1x)."""
    sigma = _parameter(_BLUR_SIGMA, severity) * max(1.0, min(images.shape[-2:]) / 32.0)
    kernel = _gaussian_kernel(sigma).to(images.dtype)
    radius = len(kernel) // 2
    channels = images.shape[1]
    horizontal = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    vertical = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    # replicate padding has no size limit, unlike reflect, which fails for radius >= side on tiny images
    blurred = F.conv2d(F.pad(images, (radius, radius, 0, 0), mode="replicate"), horizontal, groups=channels)
    blurred = F.conv2d(F.pad(blurred, (0, 0, radius, radius), mode="replicate"), vertical, groups=channels)
    return blurred.clamp(0.0, 1.0)


def contrast(images: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shrink each image's deviations from its per-channel mean by a factor (0.4 down to 0.05)."""
    factor = _parameter(_CONTRAST_FACTOR, severity)
    means = images.mean(dim=(-2, -1), keepdim=True)
    return ((images - means) * factor + means).clamp(0.0, 1.0)


def brightness(images: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add a constant (0.1 up to 0.5) to every pixel value."""
    return (images + _parameter(_BRIGHTNESS_SHIFT, severity)).clamp(0.0, 1.0)


def pixelate(images: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace each block of ``b x b`` pixels by its mean, ``b`` = 2..6 pixels (times side/64 for larger images).

    Integer blocks, rather than ImageNet-C's resize by a fraction, because on small images a fractional resize
    misaligns blocks and makes the damage jump up and down between severities.
    """
    height, width = images.shape[-2:]
    block = max(2, round(_parameter(_PIXELATE_BLOCK, severity) * max(1.0, min(height, width) / 64.0)))
    pad_bottom, pad_right = -height % block, -width % block
    padded = F.pad(images, (0, pad_right, 0, pad_bottom), mode="replicate")
    means = F.avg_pool2d(padded, block)
    blocks = means.repeat_interleave(block, dim=-2).repeat_interleave(block, dim=-1)
    return blocks[..., :height, :width].clamp(0.0, 1.0)


CORRUPTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "gaussian_blur": gaussian_blur,
    "contrast": contrast,
    "brightness": brightness,
    "salt_and_pepper": salt_and_pepper,
    "pixelate": pixelate,
    "shot_noise": shot_noise,
}


def noise_key(std: float) -> str:
    """The robustness-set key of a Gaussian noise level, e.g. ``"gaussian_noise_0.05"``."""
    return f"gaussian_noise_{float(std):g}"


def corruption_key(name: str, severity: int) -> str:
    """The robustness-set key of a corruption at a severity, e.g. ``"gaussian_blur_3"``."""
    return f"{name}_{int(severity)}"


def corrupt(images: torch.Tensor, name: str, severity: int, generator: torch.Generator) -> torch.Tensor:
    """Apply the corruption ``name`` (a key of :data:`CORRUPTIONS`) at ``severity`` (1..5)."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; known corruptions: {sorted(CORRUPTIONS)}")
    return CORRUPTIONS[name](images, severity, generator)


def check_noise_levels(levels, name: str = "train_noise_levels") -> tuple[float, ...]:
    """A list of finite, non-negative noise standard deviations (pixel units) as a tuple; raises naming ``name``."""
    if levels is None:
        return ()
    if isinstance(levels, (str, bytes)) or not isinstance(levels, (list, tuple)):
        raise ValueError(f"{name} must be a list of noise standard deviations, got {levels!r}")
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, numbers.Real) or not math.isfinite(level) or level < 0:
            raise ValueError(f"{name} must hold finite numbers >= 0 (pixel standard deviations), got {level!r}")
    return tuple(float(level) for level in levels)


def check_robustness_options(noise_levels: Iterable, corruptions: Iterable, severities: Iterable) -> None:
    """Refuse unknown corruption names, severities outside 1..5 and negative noise levels before any work."""
    unknown = sorted(set(corruptions) - set(CORRUPTIONS))
    if unknown:
        raise ValueError(f"unknown corruption(s) {unknown}; known corruptions: {sorted(CORRUPTIONS)}")
    bad = [s for s in severities if s not in SEVERITIES]
    if bad:
        raise ValueError(f"severities must be among {list(SEVERITIES)}, got {bad}")
    check_noise_levels(list(noise_levels), "noise_levels")
