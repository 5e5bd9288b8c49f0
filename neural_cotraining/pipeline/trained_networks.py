"""The pipeline's side of ``dataset.trained_networks``: a ``TrainedModel`` key -> a trained network a dataset
builder can use (MTL-Oracle's predictor, a teacher population's network).

The key must name a model that is trained (a row of ``TrainedModel``, not just a job), in the same schema; it is
loaded with ``load_model`` (its dataloaders rebuilt, its stored weights restored, eval mode), so what the builder
sees is exactly what the database holds. Images come in the stimulus sets' pixel range [0, 1] and are normalised
here the way the network's own training data was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np
import torch

from ..dataset.trained_networks import TrainedNetwork
from ..trainer.model_calls import ModelCaller

__all__ = ["LoadedNetwork", "network_loader"]

logger = logging.getLogger(__name__)

_BATCH = 256


def _standardised(images: np.ndarray, dataset) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    mean, std = getattr(dataset, "mean", None), getattr(dataset, "std", None)
    if mean is None or std is None:
        return x
    channels = x.shape[1]
    mean = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
    std = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
    return (x - mean.expand(channels).view(1, -1, 1, 1)) / std.expand(channels).view(1, -1, 1, 1)


class LoadedNetwork:
    """A trained model with the dataloaders it was trained on (for their input normalisation)."""

    def __init__(self, key: dict, dataloaders: dict, model: torch.nn.Module):
        self.key = dict(key)
        self.model = model.eval()
        self.caller = ModelCaller(model)
        train = dataloaders["train"]
        neural = [task for task, loaders in train.items() if isinstance(loaders, Mapping)]
        self.neural_task = neural[0] if len(neural) == 1 else None
        self._sessions = {key: loader.dataset for key, loader in train[self.neural_task].items()} if self.neural_task \
            else {}
        first = next(iter(train.values()))
        self._image_set = (next(iter(first.values())) if isinstance(first, Mapping) else first).dataset

    def neural_outputs(self) -> dict[str, int]:
        outputs = {}
        for data_key, dataset in self._sessions.items():
            probe = np.full((1, *dataset.images.shape[1:]), 0.5, dtype=np.float32)  # only the width matters
            outputs[data_key] = int(self.predict(probe, data_key).shape[1])
        return outputs

    def _run(self, images: np.ndarray, dataset, call: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
        x = _standardised(images, dataset)
        with torch.no_grad():
            return torch.cat([call(x[i:i + _BATCH]) for i in range(0, len(x), _BATCH)]).numpy()

    def predict(self, images: np.ndarray, data_key: str) -> np.ndarray:
        if data_key not in self._sessions:
            raise ValueError(f"trained model {self.key} predicts no session {data_key!r}; its sessions: "
                             f"{sorted(self._sessions)}")
        return self._run(images, self._sessions[data_key],
                         lambda x: self.caller.forward(x, self.neural_task, data_key))

    def features(self, images: np.ndarray, layer: Any) -> np.ndarray:
        core = getattr(self.model, "core", None)
        if core is None:
            raise ValueError(f"trained model {self.key} has no core whose units could be read")

        def run(x: torch.Tensor) -> torch.Tensor:
            channels = getattr(core, "input_channels", x.shape[1])
            if x.shape[1] == 1 and channels > 1:
                x = x.expand(-1, channels, -1, -1)
            return core(x, layer=layer)

        return self._run(images, self._image_set, run)


def network_loader(trained_model) -> Callable[[dict], TrainedNetwork]:
    """``load(key)`` for ``dataset.trained_networks.trained_networks_from``: the trained model ``key`` names in
    ``trained_model``'s table; each key loaded once per loader. Raises ``ValueError`` (one line) for a key that is
    not a full primary key or names no trained model."""
    loaded: dict[tuple, LoadedNetwork] = {}
    primary_key = list(trained_model.primary_key)

    def load(key: dict) -> TrainedNetwork:
        missing = [name for name in primary_key if name not in key]
        unknown = sorted(set(key) - set(primary_key))
        if missing or unknown:
            raise ValueError(f"trained_model must be a full TrainedModel key {primary_key}; missing {missing}, "
                             f"unknown {unknown}")
        key = {name: (int(key[name]) if name == "seed" else key[name]) for name in primary_key}
        identity = tuple(key[name] for name in primary_key)
        if identity not in loaded:
            if len(trained_model & key) != 1:
                raise ValueError(f"trained_model {key} names no trained model in schema {trained_model.database} "
                                 "(train it first)")
            dataloaders, model = trained_model.load_model(key)
            loaded[identity] = LoadedNetwork(key, dataloaders, model)
            logger.info("loaded trained model %s for a dataset builder", key)
        return loaded[identity]

    return load
