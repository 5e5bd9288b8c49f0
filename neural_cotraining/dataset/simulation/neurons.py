"""Ground-truth model neurons: Gabor receptive fields, a static nonlinearity and spiking noise.

Each neuron is a linear-nonlinear (LN) unit in the classic V1 picture (Hubel & Wiesel 1962; Gabor receptive
fields after Jones & Palmer 1987; energy-model complex cells after Adelson & Bergen 1985):

- a Gabor filter (random position, orientation, spatial wavelength, phase, envelope width and aspect ratio);
- a *simple* cell takes the filter's output; a *complex* cell takes the energy of a quadrature pair,
  ``sqrt(even**2 + odd**2)``, which is invariant to the stimulus phase;
- the drive is standardised (with statistics fixed on a reference stimulus set), scaled by the tuning strength,
  shifted by a per-neuron threshold and passed through ``softplus`` or ``exp``; a per-neuron gain sets the
  mean rate on the reference set;
- responses are Poisson, or negative binomial (a gamma-Poisson mixture with variance ``mu + mu**2 / dispersion``,
  the over-dispersion of cortical spike counts; e.g. Goris, Movshon & Simoncelli 2014).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NONLINEARITIES", "NOISE_MODELS", "GaborPopulation", "random_gabor_population", "sample_responses"]

NONLINEARITIES = ("softplus", "exp")
NOISE_MODELS = ("poisson", "negative_binomial")


def _nonlinearity(name: str, x: np.ndarray) -> np.ndarray:
    if name == "softplus":
        return np.logaddexp(0.0, x)
    if name == "exp":
        return np.exp(np.minimum(x, 30.0))
    raise ValueError(f"unknown nonlinearity {name!r}; choose one of {list(NONLINEARITIES)}")


@dataclass
class GaborPopulation:
    """A fixed population; :meth:`rates` is its noise-free mean response to any images of the right shape."""

    even: np.ndarray  # (n_neurons, C, H, W) unit-norm Gabor filters
    odd: np.ndarray  # (n_neurons, C, H, W) their quadrature partners
    is_complex: np.ndarray  # (n_neurons,) bool
    pixel_mean: float  # stimulus standardisation fixed on the reference set
    pixel_std: float
    drive_mean: np.ndarray  # (n_neurons,) standardisation of the drive on the reference set
    drive_std: np.ndarray
    tuning_strength: float
    threshold: np.ndarray  # (n_neurons,)
    gain: np.ndarray  # (n_neurons,)
    nonlinearity: str

    @property
    def n_neurons(self) -> int:
        return len(self.even)

    def drive(self, images: np.ndarray) -> np.ndarray:
        """(n_images, n_neurons) filter output (simple cells) or quadrature energy (complex cells)."""
        x = (np.asarray(images, dtype=np.float64) - self.pixel_mean) / self.pixel_std
        flat = x.reshape(len(x), -1)
        even = flat @ self.even.reshape(self.n_neurons, -1).T
        odd = flat @ self.odd.reshape(self.n_neurons, -1).T
        return np.where(self.is_complex, np.sqrt(even**2 + odd**2), even)

    def rates(self, images: np.ndarray) -> np.ndarray:
        """(n_images, n_neurons) ground-truth mean responses."""
        z = (self.drive(images) - self.drive_mean) / self.drive_std
        return self.gain * _nonlinearity(self.nonlinearity, self.tuning_strength * z + self.threshold)


def _gabors(n: int, channels: int, height: int, width: int, rng: np.random.Generator):
    side = min(height, width)
    ys, xs = np.meshgrid(np.arange(height) - (height - 1) / 2, np.arange(width) - (width - 1) / 2, indexing="ij")
    centre_y = rng.uniform(-0.25, 0.25, n) * height  # central half of the image, so fields are not cut off
    centre_x = rng.uniform(-0.25, 0.25, n) * width
    orientation = rng.uniform(0, np.pi, n)
    wavelength = rng.uniform(0.25, 0.6, n) * side
    sigma = wavelength * rng.uniform(0.35, 0.6, n)
    aspect = rng.uniform(0.6, 1.0, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    channel_weights = rng.uniform(0.5, 1.0, (n, channels))
    filters = []
    for shift in (0.0, np.pi / 2):
        dx = xs[None] - centre_x[:, None, None]
        dy = ys[None] - centre_y[:, None, None]
        cos, sin = np.cos(orientation)[:, None, None], np.sin(orientation)[:, None, None]
        along, across = dx * cos + dy * sin, -dx * sin + dy * cos
        envelope = np.exp(-(along**2 + (aspect[:, None, None] * across) ** 2) / (2 * sigma[:, None, None] ** 2))
        carrier = np.cos(2 * np.pi * along / wavelength[:, None, None] + phase[:, None, None] + shift)
        spatial = envelope * carrier
        spatial -= spatial.mean(axis=(1, 2), keepdims=True)  # no response to uniform luminance
        full = spatial[:, None] * channel_weights[:, :, None, None]
        filters.append(full / np.linalg.norm(full.reshape(n, -1), axis=1)[:, None, None, None])
    return filters[0], filters[1]


def random_gabor_population(
    n_neurons: int,
    reference_images: np.ndarray,
    rng: np.random.Generator,
    mean_rate: float = 5.0,
    tuning_strength: float = 1.5,
    complex_fraction: float = 0.5,
    nonlinearity: str = "softplus",
) -> GaborPopulation:
    """Draw ``n_neurons`` random neurons; their mean rates on ``reference_images`` (N, C, H, W) scatter
    log-normally (sd 0.3 in log units) around ``mean_rate``."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; choose one of {list(NONLINEARITIES)}")
    if mean_rate <= 0:
        raise ValueError(f"mean_rate must be positive, got {mean_rate}")
    if not 0 <= complex_fraction <= 1:
        raise ValueError(f"complex_fraction must lie in [0, 1], got {complex_fraction}")
    reference = np.asarray(reference_images, dtype=np.float64)
    _, channels, height, width = reference.shape
    even, odd = _gabors(n_neurons, channels, height, width, rng)
    population = GaborPopulation(
        even=even.astype(np.float32),
        odd=odd.astype(np.float32),
        is_complex=rng.uniform(size=n_neurons) < complex_fraction,
        pixel_mean=float(reference.mean()),
        pixel_std=float(reference.std()) or 1.0,
        drive_mean=np.zeros(n_neurons),
        drive_std=np.ones(n_neurons),
        tuning_strength=float(tuning_strength),
        threshold=rng.uniform(-1.0, 0.0, n_neurons),
        gain=np.ones(n_neurons),
        nonlinearity=nonlinearity,
    )
    drive = population.drive(reference)
    population.drive_mean = drive.mean(axis=0)
    population.drive_std = np.maximum(drive.std(axis=0), 1e-8)
    target = mean_rate * np.exp(rng.normal(0.0, 0.3, n_neurons))
    population.gain = target / population.rates(reference).mean(axis=0)
    return population


def sample_responses(rates: np.ndarray, rng: np.random.Generator, noise: str = "poisson", dispersion: float = 5.0):
    """Spike counts with mean ``rates``: Poisson, or negative binomial with ``dispersion`` (gamma shape)."""
    if noise == "poisson":
        return rng.poisson(rates).astype(np.float32)
    if noise == "negative_binomial":
        if dispersion <= 0:
            raise ValueError(f"dispersion must be positive, got {dispersion}")
        return rng.poisson(rng.gamma(dispersion, rates / dispersion)).astype(np.float32)
    raise ValueError(f"unknown noise model {noise!r}; choose one of {list(NOISE_MODELS)}")
