"""A neuron simulator with known ground truth: Gabor LN neurons, Poisson / negative-binomial noise, several
sessions with repeated test images, oracle correlations, and a builder that simulates or loads in one call."""

from .loaders import simulated_neural_loaders, simulated_sessions_folder
from .neurons import GaborPopulation, random_gabor_population, sample_responses
from .sessions import SimulatedSession, simulate_sessions, write_simulated_sessions
from .stimuli import load_stimuli, pink_noise_images

__all__ = [
    "simulated_neural_loaders",
    "simulated_sessions_folder",
    "GaborPopulation",
    "random_gabor_population",
    "sample_responses",
    "SimulatedSession",
    "simulate_sessions",
    "write_simulated_sessions",
    "load_stimuli",
    "pink_noise_images",
]
