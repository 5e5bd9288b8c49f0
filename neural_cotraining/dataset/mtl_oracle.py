"""MTL-Oracle: co-training on a neural-predictive model's responses to the classification images themselves.

Safarani et al. (NeurIPS 2021), "Towards robust vision by multi-task learning on monkey visual cortex", add a third
co-training condition besides MTL-Monkey and MTL-Shuffled: a model trained to predict the monkey V1 responses
predicts responses to the classification training images, and those predictions are the neural task, so every
classification image has a neural target. Here the *predictor* is either a trained model named by its
``TrainedModel`` key (``{"trained_model": key}``, through ``trained_networks``; e.g. the demo's ``neural_only``
model) or, for simulated neurons, their noise-free ground truth (``{"ground_truth": true}``: the Gabor populations'
rates).

Only the neural *training* loaders change: per session, one item per classification training image, the predicted
responses as targets (real-valued rates, not counts). Validation and test keep the recorded (simulated) sessions'
trials, so the neural metrics still measure the real neurons. ``shuffle_targets`` is the control: each session's
predicted response vectors re-paired with other images (``neural.shuffle``), each neuron's values unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..common.seeds import derive_data_seed
from ._config import make_generator
from .neural.datasets import NeuralResponseDataset
from .neural.shuffle import shuffle_responses_across_images
from .simulation.loaders import simulated_populations
from .trained_networks import check_trained_model_reference, load_trained_network

__all__ = ["GROUND_TRUTH", "check_predictor", "oracle_predictor", "check_outputs", "oracle_training_loaders"]

logger = logging.getLogger(__name__)

GROUND_TRUTH = "ground_truth"

Predict = Callable[[np.ndarray, str], np.ndarray]


def check_predictor(predictor, neural_format: str) -> None:
    """``{"trained_model": key}``, or ``{"ground_truth": true}`` for simulated neurons; raises naming the key."""
    if isinstance(predictor, Mapping) and set(predictor) == {GROUND_TRUTH}:
        if predictor[GROUND_TRUTH] is not True:
            raise ValueError(f"predictor.{GROUND_TRUTH} must be true, got {predictor[GROUND_TRUTH]!r}")
        if neural_format != "simulated":
            raise ValueError(
                f"predictor {{{GROUND_TRUTH}: true}} needs simulated neurons (neural format 'simulated'), "
                f"not {neural_format!r}"
            )
        return
    try:
        check_trained_model_reference(predictor, "predictor")
    except ValueError:
        raise ValueError(
            f"predictor must be {{trained_model: <TrainedModel key>}} or {{{GROUND_TRUTH}: true}}, got {predictor!r}"
        ) from None


def oracle_predictor(predictor, seed: int, neural_options: dict) -> tuple[dict[str, int], Predict]:
    """``(outputs, predict)``: the predictor's sessions (data_key -> number of neurons) and ``predict(images in
    [0, 1], data_key) -> (N, n_neurons)``. ``neural_options``: the simulated sessions' options (ground truth)."""
    if isinstance(predictor, Mapping) and GROUND_TRUTH in predictor:
        populations = simulated_populations(seed, **neural_options)
        return ({key: population.n_neurons for key, population in populations.items()},
                lambda images, data_key: populations[data_key].rates(images))
    network = load_trained_network(predictor, "predictor")
    return network.neural_outputs(), network.predict


def check_outputs(outputs: dict[str, int], sessions: dict[str, int]) -> None:
    """The predictor must predict every session's neurons, and no others."""
    if dict(outputs) != dict(sessions):
        raise ValueError(
            f"predictor outputs {dict(sorted(outputs.items()))} (data_key: neurons) do not match the neural "
            f"sessions {dict(sorted(sessions.items()))}"
        )


def _unnormalized(dataset) -> np.ndarray:
    """A normalised image dataset's images back in pixel units (its ``mean``/``std`` per channel)."""
    mean = torch.as_tensor(dataset.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.as_tensor(dataset.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (dataset.images * std + mean).numpy()


def _normalized(pixels: np.ndarray, mean, std) -> torch.Tensor:
    mean = torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return ((torch.from_numpy(pixels) - mean) / std).contiguous()


def oracle_training_loaders(bundle: dict, image_task: str, neural_task: str, outputs: dict[str, int],
                            predict: Predict, seed: int, shuffle_targets: bool) -> dict:
    """``bundle`` (a co-training dataloaders dict) with each session's training loader replaced by the
    predictor's responses to the image task's training images (module docstring); the bundle is changed in place."""
    sessions = bundle["train"][neural_task]
    check_outputs(outputs, {key: loader.dataset.n_neurons for key, loader in sessions.items()})
    pixels = _unnormalized(bundle["train"][image_task].dataset)
    ids = np.arange(len(pixels))
    for data_key, loader in sessions.items():
        recorded = loader.dataset
        targets = np.asarray(predict(pixels, data_key), dtype=np.float32)
        if targets.shape != (len(pixels), recorded.n_neurons) or not np.all(np.isfinite(targets)) or (targets < 0).any():
            raise ValueError(
                f"predictor: session {data_key}: predictions of shape {targets.shape} must be finite, non-negative "
                f"and ({len(pixels)}, {recorded.n_neurons})"
            )
        if shuffle_targets:
            targets = shuffle_responses_across_images(targets, ids, derive_data_seed(seed, "shuffle_oracle", data_key))
        dataset = NeuralResponseDataset(
            _normalized(pixels, recorded.mean, recorded.std), ids, targets, ids, data_key, recorded.mean,
            recorded.std, unit_ids=recorded.unit_ids, area=recorded.area, layer=recorded.layer,
        )
        sessions[data_key] = DataLoader(
            dataset, batch_size=loader.batch_size, shuffle=True,
            generator=make_generator(seed, neural_task, data_key, "oracle_train"), num_workers=loader.num_workers,
        )
        logger.debug("session %s: %d MTL-Oracle training targets (the predictor's responses to the %s training "
                     "images)%s", data_key, len(ids), image_task, ", shuffled (control)" if shuffle_targets else "")
    return bundle
