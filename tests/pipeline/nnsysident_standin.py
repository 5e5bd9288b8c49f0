"""Stand-ins for the nnsysident builders that nnfabrik's ``experiments_example`` notebook names (mouse V1 data,
``se2d_fullgaussian2d``, ``standard_trainer``): the same config keys, on simulated neurons, small enough for a test.

- ``static_loaders``: one data key per path (the path itself is never read: there is no data here); 48 random 8x8
  images per split and Poisson responses of ``sum(neurons_n)`` (default 8) simulated neurons, drawn from a seed
  made of ``seed`` and the path. ``device`` is ignored (CPU); the other keys are accepted as nnsysident's are.
- ``se2d_fullgaussian2d``: a linear-softplus readout per data key (every config key accepted, as nnsysident's
  model takes many).
- ``standard_trainer``: Adam on the Poisson loss for ``max_iter`` epochs, calling ``cb()`` as a heartbeat; the
  score is the mean validation correlation.
"""

from __future__ import annotations

import zlib

import torch
from torch.utils.data import DataLoader, TensorDataset

N_IMAGES = 48


def static_loaders(paths, seed, batch_size=64, normalize_images=True, normalize_neurons=True, return_more=False,
                   device="cpu", shuffle_train=True, area=None, neurons_n=None):
    loaders = {"train": {}, "validation": {}, "test": {}}
    n_neurons = sum(neurons_n) if neurons_n else 8
    for path in paths:
        data_key = str(path).rsplit("/", 1)[-1].removesuffix(".zip")
        generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + zlib.crc32(str(path).encode()))
        weights = torch.randn(64, n_neurons, generator=generator) / 8
        for split in loaders:
            images = torch.randn(N_IMAGES, 1, 8, 8, generator=generator)
            if normalize_images:
                images = (images - images.mean()) / images.std()
            rates = torch.nn.functional.softplus(images.flatten(1) @ weights)
            responses = torch.poisson(rates, generator=generator)
            if normalize_neurons:
                responses = responses / responses.std(0).clamp(min=1e-3)
            shuffle = shuffle_train and split == "train"
            loaders[split][data_key] = DataLoader(TensorDataset(images, responses), batch_size=batch_size,
                                                  shuffle=shuffle, generator=torch.Generator().manual_seed(int(seed)))
    return loaders


class _Readouts(torch.nn.Module):
    def __init__(self, sizes: dict):
        super().__init__()
        self.readouts = torch.nn.ModuleDict({key: torch.nn.Linear(64, n) for key, n in sizes.items()})

    def forward(self, images, data_key):
        return torch.nn.functional.softplus(self.readouts[data_key](images.flatten(1)))


def se2d_fullgaussian2d(dataloaders, seed, **config):
    torch.manual_seed(int(seed))
    sizes = {key: loader.dataset.tensors[1].shape[1] for key, loader in dataloaders["train"].items()}
    return _Readouts(sizes)


def _correlation(model, loaders) -> float:
    values = []
    with torch.no_grad():
        for key, loader in loaders.items():
            images, responses = loader.dataset.tensors
            predicted = model(images, key)
            p, r = predicted - predicted.mean(0), responses - responses.mean(0)
            values.append(((p * r).sum(0) / (p.norm(dim=0) * r.norm(dim=0)).clamp(min=1e-8)).mean())
    return float(torch.stack(values).mean())


def standard_trainer(model, dataloaders, seed, uid=None, cb=None, detach_core=False, max_iter=2, lr=0.01):
    torch.manual_seed(int(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(max_iter):
        for key, loader in dataloaders["train"].items():
            for images, responses in loader:
                optimizer.zero_grad()
                torch.nn.functional.poisson_nll_loss(model(images, key), responses, log_input=False).backward()
                optimizer.step()
        if cb is not None:
            cb()
    score = _correlation(model, dataloaders["validation"])
    return score, {"validation_correlation": score}, model.state_dict()
