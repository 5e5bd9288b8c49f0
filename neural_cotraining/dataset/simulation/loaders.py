"""``simulated_neural_loaders``: simulate sessions with known ground truth (or load them from a cache) in one call."""

from __future__ import annotations

import inspect
import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ...registry import checks_config, register_builder
from ...hashing import make_hash
from ...common.config_keys import check_config_keys
from ...common.seeds import derive_data_seed
from ..neural_formats import register_neural_format
from .._config import as_pair, strict_builder
from ..neural.loaders import NEURAL_TASK, build_neural_loaders, check_neural_config, loader_options
from ..neural.own_format import read_sessions
from .sessions import simulate_sessions, write_simulated_sessions
from .stimuli import load_stimuli

logger = logging.getLogger(__name__)

__all__ = ["simulated_neural_loaders", "simulated_sessions_folder", "simulated_populations", "simulation_config",
           "simulate", "simulated_loaders"]

MANIFEST = "simulation.json"


def simulated_sessions_folder(path, simulation: dict) -> Path:
    """The cache folder for one simulation config: ``<path>/simulated-<the config's hash>``."""
    return Path(path) / f"simulated-{make_hash(simulation)}"


def simulation_config(seed, options: dict, **population) -> dict:
    """What fixes simulated sessions, from a builder's keywords ``options``: the stimuli, the sessions' shape and
    noise, and the seed (``simulation_seed``, else ``seed``); ``population``: the population's own options, as
    :func:`sessions.simulate_sessions` takes them (the Gabor neurons'; none for a teacher's)."""
    simulation_seed = options.get("simulation_seed")
    return dict(
        images=str(options["images"]), image_size=options["image_size"], n_sessions=int(options["n_sessions"]),
        n_neurons=int(options["n_neurons"]), n_train_images=int(options["n_train_images"]),
        n_test_images=int(options["n_test_images"]), train_repeats=int(options["train_repeats"]),
        test_repeats=int(options["test_repeats"]), noise=options["noise"], dispersion=float(options["dispersion"]),
        **population, seed=int(seed if simulation_seed is None else simulation_seed),
    )


def simulate(simulation: dict, **make) -> list:
    """The sessions (``sessions.SimulatedSession``) of ``simulation`` (a :func:`simulation_config`): its stimuli
    loaded, its neurons simulated; ``make``: ``data_key_prefix`` and ``make_population`` of
    :func:`sessions.simulate_sessions` (default: Gabor neurons named ``sim0``, ``sim1``, ...)."""
    size = as_pair(simulation["image_size"], "image_size")
    needed = simulation["n_train_images"] + simulation["n_test_images"]
    rng = np.random.default_rng(derive_data_seed(simulation["seed"], "simulation_stimuli"))
    stimuli = load_stimuli(simulation["images"], size, needed, rng).numpy()
    options = {k: v for k, v in simulation.items() if k not in ("images", "image_size", "seed")}
    return simulate_sessions(stimuli, simulation["seed"], **options, **make)


def simulated_loaders(sessions: list, seed, arguments: dict) -> dict:
    """:func:`neural.loaders.build_neural_loaders` for simulated ``sessions``, with the loader options among a
    builder's ``arguments`` (its ``image_size`` is the stimuli's size, already applied: not a resize)."""
    return build_neural_loaders(sessions, seed, **loader_options(arguments, leave_out=("image_size",)))


def _load_or_simulate(path, simulation: dict):
    folder = simulated_sessions_folder(path, simulation)
    if (folder / MANIFEST).is_file():
        logger.debug("loading simulated sessions from the cache %s", folder)
        return read_sessions(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".simulating-", dir=folder.parent))
    try:
        write_simulated_sessions(simulate(simulation), staging)
        (staging / MANIFEST).write_text(json.dumps(simulation, indent=2, sort_keys=True))
        try:
            staging.rename(folder)  # atomic: a concurrent worker sees a complete folder or none
        except OSError:
            if not (folder / MANIFEST).is_file():
                raise
            logger.debug("another process cached %s first; using its copy", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_sessions(folder)


def _gabor_simulation(seed, options: dict) -> dict:
    """What fixes the simulated neurons and stimuli, from :func:`simulated_neural_loaders`'s keywords."""
    return simulation_config(
        seed, options, mean_rate=float(options["mean_rate"]), tuning_strength=float(options["tuning_strength"]),
        complex_fraction=float(options["complex_fraction"]), nonlinearity=options["nonlinearity"],
    )


def simulated_populations(seed, **config) -> dict:
    """The noise-free ground truth of :func:`simulated_neural_loaders` ``(seed, **config)``: ``{data_key:
    population}``, each population's ``rates(images)`` the mean responses of its session's neurons."""
    defaults = {name: p.default for name, p in inspect.signature(simulated_neural_loaders).parameters.items()
                if name != "seed"}
    check_config_keys("simulated_populations", config, defaults)
    return {s.session.data_key: s.population for s in simulate(_gabor_simulation(seed, {**defaults, **config}))}


@register_builder("dataset")
@register_neural_format("simulated")
@checks_config(check_neural_config)
@strict_builder
def simulated_neural_loaders(
    seed,
    n_sessions=2,
    n_neurons=16,
    n_train_images=300,
    n_test_images=30,
    train_repeats=1,
    test_repeats=10,
    images="digits",
    image_size=16,
    noise="poisson",
    dispersion=5.0,
    mean_rate=5.0,
    tuning_strength=1.5,
    complex_fraction=0.5,
    nonlinearity="softplus",
    simulation_seed=None,
    path=None,
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
    """Loaders for simulated neurons with known ground truth (Gabor LN neurons, see ``simulation.neurons``).

    Sessions are named ``"sim0"``, ``"sim1"``, ...; the structure is that of ``neural_loaders``. Stimuli
    (``images``): ``"digits"``, ``"pink_noise"`` or a .npz path, resized to ``image_size``, grayscale.
    ``simulation_seed`` fixes the neurons and stimuli (default: ``seed``; set it to keep one simulated dataset
    across training seeds, whose ``seed`` then only changes the validation split and the batch order).
    ``path``: when given, the simulation is cached in ``<path>/simulated-<config digest>/`` in our on-disk format
    and read back from there on later calls. Each session's oracle correlations are in the cached
    ``session.json`` (``metadata.oracle``).
    """
    arguments = locals()
    simulation = _gabor_simulation(seed, arguments)
    if path is None:
        sessions = [s.session for s in simulate(simulation)]
    else:
        sessions = _load_or_simulate(path, simulation)
    return simulated_loaders(sessions, seed, arguments)
