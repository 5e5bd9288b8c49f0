"""Simulate recording sessions with known ground truth and write them in our on-disk format.

Every session has its own random neurons (see ``neurons``) but all sessions see one shared set of test images,
each shown ``test_repeats`` times, as in the monkey V1 recordings the co-training paper uses. Training images
are drawn per session from the remaining stimuli. Image ids are row indices into the stimulus set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...common.seeds import derive_data_seed
from ..neural.oracle import leave_one_out_oracle, true_rate_oracle
from ..neural.own_format import write_session
from ..neural.session import NeuralSession
from .neurons import GaborPopulation, random_gabor_population, sample_responses

logger = logging.getLogger(__name__)

__all__ = ["SimulatedSession", "simulate_sessions", "write_simulated_sessions"]


@dataclass
class SimulatedSession:
    session: NeuralSession
    rates: np.ndarray  # (n_images, n_neurons) ground-truth rate per row of session.images
    population: GaborPopulation  # or any population with rates(images) (e.g. simulation.teacher's)

    @property
    def trial_rates(self) -> np.ndarray:
        """(n_trials, n_neurons) ground-truth rate of every trial."""
        return self.rates[self.session.trial_image_index]

    def oracles(self) -> dict[str, float]:
        """Oracle correlations on the test trials: ground-truth rate vs. single trials, and leave-one-out."""
        test = self.session.trials_in("test")
        responses = self.session.responses[test]
        return {
            "true_rate_oracle": true_rate_oracle(self.trial_rates[test], responses),
            "leave_one_out_oracle": leave_one_out_oracle(responses, self.session.trial_image_ids[test]),
        }


def simulate_sessions(
    stimuli: np.ndarray,
    seed: int,
    n_sessions: int = 2,
    n_neurons: int = 16,
    n_train_images: int = 300,
    n_test_images: int = 30,
    train_repeats: int = 1,
    test_repeats: int = 10,
    noise: str = "poisson",
    dispersion: float = 5.0,
    mean_rate: float = 5.0,
    tuning_strength: float = 1.5,
    complex_fraction: float = 0.5,
    nonlinearity: str = "softplus",
    data_key_prefix: str = "sim",
    make_population=None,
) -> list[SimulatedSession]:
    """Simulate ``n_sessions`` sessions on ``stimuli`` (N, C, H, W) in [0, 1], reproducibly from ``seed``.

    data_keys are ``f"{data_key_prefix}{i}"`` (``"sim0"``, ``"sim1"``, ...). Each session's metadata holds the
    simulation parameters and its oracle correlations. ``make_population(n_neurons, stimuli, rng)`` makes each
    session's neurons (anything with ``rates(images)``; default: :func:`random_gabor_population` with the tuning
    options above), drawn from the session's own ``rng`` after its training images.
    """
    stimuli = np.asarray(stimuli, dtype=np.float32)
    for name, value in (("n_sessions", n_sessions), ("n_neurons", n_neurons), ("n_train_images", n_train_images),
                        ("n_test_images", n_test_images), ("train_repeats", train_repeats)):
        if int(value) < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if int(test_repeats) < 2:
        raise ValueError(f"test_repeats must be at least 2 (the oracle needs repeats), got {test_repeats}")
    if n_train_images + n_test_images > len(stimuli):
        raise ValueError(
            f"n_train_images + n_test_images = {n_train_images + n_test_images} exceeds the {len(stimuli)} stimuli"
        )
    order = np.random.default_rng(derive_data_seed(seed, "simulation_images")).permutation(len(stimuli))
    test_ids, remaining = np.sort(order[:n_test_images]), order[n_test_images:]
    parameters = dict(
        n_neurons=int(n_neurons), train_repeats=int(train_repeats), test_repeats=int(test_repeats), noise=noise,
        dispersion=float(dispersion), mean_rate=float(mean_rate), tuning_strength=float(tuning_strength),
        complex_fraction=float(complex_fraction), nonlinearity=nonlinearity, seed=int(seed),
    )
    sessions = []
    for index in range(int(n_sessions)):
        rng = np.random.default_rng(derive_data_seed(seed, "simulation_session", index))
        train_ids = np.sort(rng.choice(remaining, size=n_train_images, replace=False))
        image_ids = np.sort(np.concatenate([train_ids, test_ids]))
        if make_population is None:
            population = random_gabor_population(
                int(n_neurons), stimuli, rng, mean_rate, tuning_strength, complex_fraction, nonlinearity
            )
        else:
            population = make_population(int(n_neurons), stimuli, rng)
        rates = population.rates(stimuli[image_ids]).astype(np.float32)
        trial_ids = np.concatenate([np.repeat(train_ids, train_repeats), np.repeat(test_ids, test_repeats)])
        tiers = np.array(["train"] * (len(train_ids) * train_repeats) + ["test"] * (len(test_ids) * test_repeats))
        rows = np.searchsorted(image_ids, trial_ids)
        responses = sample_responses(rates[rows], rng, noise, dispersion)
        data_key = f"{data_key_prefix}{index}"
        session = NeuralSession(
            data_key=data_key, images=stimuli[image_ids], image_ids=image_ids, trial_image_ids=trial_ids,
            responses=responses, tiers=tiers, source=f"simulated session {data_key}",
            metadata={"simulation": dict(parameters, session_index=index)},
        )
        simulated = SimulatedSession(session, rates, population)
        session.metadata["oracle"] = simulated.oracles()
        logger.debug("simulated %s: %d neurons, oracles %s", data_key, n_neurons, session.metadata["oracle"])
        sessions.append(simulated)
    return sessions


def write_simulated_sessions(sessions: list[SimulatedSession], root: str | Path) -> list[Path]:
    """Write each session (with ``ground_truth.npz``: rates and receptive fields) under ``root``."""
    return [
        write_session(s.session, root, ground_truth={"rates": s.rates, "receptive_fields": s.population.even})
        for s in sessions
    ]
