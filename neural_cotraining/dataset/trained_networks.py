"""Trained networks as data: the hook through which a dataset builder uses a model trained by the pipeline.

Two dataset options need a trained model: MTL-Oracle (``oracle.oracle_cotraining_loaders``: a neural-predictive
model's predictions on the classification images are the neural task) and the teacher population
(``simulation.teacher``: units of a trained network read out through Poisson noise). Their configs name the model
by its ``TrainedModel`` key, ``{"trained_model": {"dataset_fn": ..., "dataset_hash": ..., "model_fn": ...,
"model_hash": ..., "trainer_fn": ..., "trainer_hash": ..., "seed": ...}}``, so the config's hash (and with it the
entry) records which trained weights it used.

This package does not import the pipeline (the layers run the other way), so it cannot look a key up itself. The
pipeline installs a *loader* around everything that builds datasets (adding an entry, training, ``load_model``) with
:func:`trained_networks_from`; a builder calls :func:`load_trained_network`. The loader returns an object with the
small interface :class:`TrainedNetwork` describes, taking images in the pixel range of the stimulus sets ([0, 1]) and
doing the network's own input normalisation itself.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Callable, Iterator, Mapping, Protocol

import numpy as np

__all__ = [
    "TrainedNetwork",
    "TRAINED_MODEL",
    "trained_networks_from",
    "trained_networks_available",
    "load_trained_network",
    "check_trained_model_reference",
]

#: the config key that names a trained model: ``{"trained_model": {<TrainedModel primary key>}}``
TRAINED_MODEL = "trained_model"


class TrainedNetwork(Protocol):
    """What a loader hands back for a ``TrainedModel`` key. Images are (N, C, H, W) float32 in [0, 1]."""

    key: dict

    def neural_outputs(self) -> dict[str, int]:
        """The network's neural sessions: data_key -> number of predicted neurons (empty without a neural task)."""

    def predict(self, images: np.ndarray, data_key: str) -> np.ndarray:
        """(N, n_neurons) predicted responses of session ``data_key``."""

    def features(self, images: np.ndarray, layer: Any) -> np.ndarray:
        """(N, C, H, W) activations of the network's core at ``layer`` (a block index or a layer name)."""


_loader: ContextVar[Callable[[dict], TrainedNetwork] | None] = ContextVar("trained_network_loader", default=None)


@contextlib.contextmanager
def trained_networks_from(load: Callable[[dict], TrainedNetwork]) -> Iterator[None]:
    """Within the block, :func:`load_trained_network` resolves keys with ``load(key)`` (the pipeline's)."""
    token = _loader.set(load)
    try:
        yield
    finally:
        _loader.reset(token)


def trained_networks_available() -> bool:
    """Whether a loader is installed (inside the pipeline); outside it only a reference's form can be checked."""
    return _loader.get() is not None


def check_trained_model_reference(reference: Any, where: str) -> dict:
    """The key inside ``{"trained_model": {...}}``, checked for form only (whether it names a trained model is for
    the loader to say)."""
    if not isinstance(reference, Mapping) or set(reference) != {TRAINED_MODEL}:
        raise ValueError(f"{where} must be {{{TRAINED_MODEL}: <TrainedModel key>}}, got {reference!r}")
    key = reference[TRAINED_MODEL]
    if not isinstance(key, Mapping) or not key:
        raise ValueError(f"{where}.{TRAINED_MODEL} must be a TrainedModel key (a mapping), got {key!r}")
    return dict(key)


def load_trained_network(reference: Any, where: str) -> TrainedNetwork:
    """The trained network ``reference`` (``{"trained_model": key}``) names, through the installed loader."""
    key = check_trained_model_reference(reference, where)
    load = _loader.get()
    if load is None:
        raise ValueError(
            f"{where}: a {TRAINED_MODEL} key is looked up by the pipeline; build this dataset through its "
            "TrainedModel table (populate, load_model) or inside trained_networks_from()"
        )
    try:
        return load(key)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from error
