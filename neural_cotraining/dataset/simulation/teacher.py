"""A positive control: a "teacher" population, units of a trained network read out through spiking noise.

The demo's Gabor neurons carry nothing that makes a classifier robust to noise, so co-training on them and on their
shuffled responses ends level; that is a finding only if the set-up could show the other outcome. These neurons are
known to carry noise-robust, class-relevant information: each is one unit (channel, row, column) of a core layer of
a network trained by the pipeline (e.g. the demo's ``noise_trained`` classifier), its rate that unit's rectified
activation scaled to a target mean rate, its responses Poisson (or negative binomial) counts around that rate. A
probe on these machines (DESIGN.md) found units from the teacher's second block detectable at the demo's scale and
units from its first block harmful. The sessions are laid out as the simulated ones (``sessions``): shared repeated
test images, training images drawn per session, the same seeds.

``rates = gain * max(activation, 0)``, ``gain = target / mean activation on the stimulus set``, ``target =
mean_rate * exp(N(0, 0.3))`` per unit (the Gabor neurons' spread of rates); units are drawn without replacement from
those active (positive mean and variance) on the stimulus set, with the session's own generator.
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...common.config_keys import check_config_keys
from ...registry import checks_config, register_builder
from .._config import strict_builder
from ..neural_formats import register_neural_format
from ..neural.loaders import NEURAL_TASK, check_neural_config
from ..trained_networks import (
    TrainedNetwork,
    check_trained_model_reference,
    load_trained_network,
    trained_networks_available,
)
from .loaders import simulate, simulated_loaders, simulation_config

logger = logging.getLogger(__name__)

__all__ = ["TeacherPopulation", "teacher_population", "teacher_sessions", "teacher_neural_loaders",
           "check_teacher_config"]

DATA_KEY_PREFIX = "teacher"


@dataclass
class TeacherPopulation:
    """Units ``units`` (flat indices into a layer's C*H*W activations) of ``network``'s core at ``layer``."""

    network: TrainedNetwork
    layer: Any
    units: np.ndarray
    gain: np.ndarray

    @property
    def n_neurons(self) -> int:
        return len(self.units)

    def activations(self, images: np.ndarray) -> np.ndarray:
        """(n_images, n_neurons) the units' activations, rectified."""
        features = np.asarray(self.network.features(images, self.layer), dtype=np.float64)
        return np.maximum(features.reshape(len(features), -1)[:, self.units], 0.0)

    def rates(self, images: np.ndarray) -> np.ndarray:
        """(n_images, n_neurons) mean responses: the scaled activations."""
        return self.gain * self.activations(images)


def teacher_population(network: TrainedNetwork, layer: Any, mean_rate: float):
    """A ``make_population(n_neurons, stimuli, rng)`` for :func:`sessions.simulate_sessions` (module docstring)."""

    def make(n_neurons: int, stimuli: np.ndarray, rng: np.random.Generator) -> TeacherPopulation:
        features = np.asarray(network.features(stimuli, layer), dtype=np.float64)
        activations = np.maximum(features.reshape(len(features), -1), 0.0)
        active = np.flatnonzero((activations.mean(axis=0) > 0) & (activations.std(axis=0) > 0))
        if len(active) < n_neurons:
            raise ValueError(
                f"teacher layer {layer!r} has {len(active)} active units on the stimuli, fewer than n_neurons "
                f"({n_neurons})"
            )
        units = np.sort(rng.choice(active, size=n_neurons, replace=False))
        target = mean_rate * np.exp(rng.normal(0.0, 0.3, n_neurons))
        return TeacherPopulation(network, layer, units, target / activations[:, units].mean(axis=0))

    return make


def _check_layer(layer: Any) -> None:
    if isinstance(layer, bool) or not isinstance(layer, (numbers.Integral, str)):
        raise ValueError(f"layer must be a core block index or a layer name, got {layer!r}")


def check_teacher_config(config: dict) -> None:
    """Checks run when an entry is added: the options' form, and inside the pipeline that the teacher is a trained
    model whose ``layer`` has enough active units."""
    check_neural_config(config)
    reference = config.get("teacher")
    check_trained_model_reference(reference, "teacher")
    _check_layer(config.get("layer", 1))
    if trained_networks_available():
        teacher_sessions(0, **{name: value for name, value in config.items() if name in TEACHER_DEFAULTS})


def teacher_sessions(seed: int, **config) -> list:
    """The teacher's sessions (``sessions.SimulatedSession``: session, rates, population) for the builder's
    population keywords ``config`` (defaults as the builder's)."""
    check_config_keys("teacher_sessions", config, TEACHER_DEFAULTS)
    options = {**TEACHER_DEFAULTS, **config}
    simulation = simulation_config(seed, options)
    network = load_trained_network(options["teacher"], "teacher")
    return simulate(simulation, data_key_prefix=DATA_KEY_PREFIX,
                    make_population=teacher_population(network, options["layer"], float(options["mean_rate"])))


TEACHER_DEFAULTS = dict(
    teacher=None, layer=1, n_sessions=2, n_neurons=24, n_train_images=400, n_test_images=30, train_repeats=1,
    test_repeats=10, images="digits", image_size=16, noise="poisson", dispersion=5.0, mean_rate=5.0,
    simulation_seed=None,
)


@register_builder("dataset")
@register_neural_format("teacher")
@checks_config(check_teacher_config)
@strict_builder
def teacher_neural_loaders(
    seed,
    teacher=None,
    layer=1,
    n_sessions=2,
    n_neurons=24,
    n_train_images=400,
    n_test_images=30,
    train_repeats=1,
    test_repeats=10,
    images="digits",
    image_size=16,
    noise="poisson",
    dispersion=5.0,
    mean_rate=5.0,
    simulation_seed=None,
    batch_size=64,
    eval_batch_size=None,
    validation_fraction=0.2,
    test_images_per_batch=1,
    normalize_images=True,
    image_mean=None,
    image_std=None,
    normalize_responses=False,
    shuffle_responses=False,
    task=NEURAL_TASK,
    num_workers=0,
):
    """Loaders for a teacher population (module docstring): ``teacher`` = ``{"trained_model": <TrainedModel key>}``,
    ``layer`` the teacher core's block index (or layer name) whose units respond. Sessions are ``"teacher0"``,
    ``"teacher1"``, ...; the other options and the structure are those of ``simulated_neural_loaders``
    (``shuffle_responses``: the shuffled control)."""
    _check_layer(layer)
    arguments = locals()
    sessions = teacher_sessions(seed, **{name: value for name, value in arguments.items() if name in TEACHER_DEFAULTS})
    for simulated in sessions:
        logger.debug("teacher session %s: units %s of layer %r", simulated.session.data_key,
                     simulated.population.units.tolist(), layer)
    return simulated_loaders([s.session for s in sessions], seed, arguments)
