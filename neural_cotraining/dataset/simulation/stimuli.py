"""Stimulus sets for the neuron simulator: the digits, 1/f ("pink") noise images, or images from a .npz file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..images.preprocessing import resize, to_grayscale
from ..images.sources import load_digits_images, to_nchw, to_unit_range

__all__ = ["STIMULUS_SETS", "pink_noise_images", "load_stimuli"]

STIMULUS_SETS = ("digits", "pink_noise")


def pink_noise_images(n_images: int, size: tuple[int, int], rng: np.random.Generator, exponent: float = 1.0):
    """Random images whose amplitude spectrum falls as 1/f**exponent (natural images have about 1/f),
    each scaled to [0, 1]; (n_images, 1, H, W) float32."""
    height, width = size
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    frequency = np.sqrt(fx**2 + fy**2)
    frequency[0, 0] = 1.0
    amplitude = 1.0 / frequency**exponent
    amplitude[0, 0] = 0.0
    phases = rng.uniform(0, 2 * np.pi, (n_images, height, width))
    images = np.real(np.fft.ifft2(amplitude * np.exp(1j * phases)))
    low = images.min(axis=(1, 2), keepdims=True)
    high = images.max(axis=(1, 2), keepdims=True)
    return ((images - low) / np.maximum(high - low, 1e-12)).astype(np.float32)[:, None]


def load_stimuli(images, image_size, n_needed: int, rng: np.random.Generator, grayscale: bool = True) -> torch.Tensor:
    """The stimulus set named by ``images`` as (N, C, H, W) float32 in [0, 1].

    ``images``: ``"digits"`` (scikit-learn's 1797 digits), ``"pink_noise"`` (``n_needed`` random 1/f images) or
    the path of a .npz file with an ``images`` array. ``image_size`` (h, w) resizes (required for pink noise).
    """
    if images == "digits":
        stimuli = load_digits_images().images
    elif images == "pink_noise":
        if image_size is None:
            raise ValueError("images='pink_noise' needs image_size")
        stimuli = torch.from_numpy(pink_noise_images(n_needed, image_size, rng))
    elif isinstance(images, (str, Path)) and str(images).endswith(".npz"):
        path = Path(images)
        if not path.is_file():
            raise FileNotFoundError(f"stimulus file {path} does not exist")
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive.files:
                raise ValueError(f"{path}: no 'images' array; found {sorted(archive.files)}")
            array = archive["images"]
        stimuli = to_unit_range(to_nchw(array, str(path)), str(path))
    else:
        raise ValueError(f"images must be one of {list(STIMULUS_SETS)} or a path to a .npz file, got {images!r}")
    if grayscale:
        stimuli = to_grayscale(stimuli)
    stimuli = resize(stimuli, image_size)
    if len(stimuli) < n_needed:
        raise ValueError(f"the stimulus set {images!r} has {len(stimuli)} images but {n_needed} are needed")
    return stimuli.contiguous()
