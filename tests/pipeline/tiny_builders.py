"""A tiny builder trio on random data, in the nnfabrik signatures, for pipeline tests."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from neural_cotraining.registry import checks_config


def random_regression(seed, n_samples=64, n_features=5, batch_size=16, noise=0.1):
    generator = torch.Generator().manual_seed(int(seed))
    weights = torch.randn(n_features, 1, generator=generator)
    loaders = {}
    for split in ("train", "validation", "test"):
        inputs = torch.randn(n_samples, n_features, generator=generator)
        targets = inputs @ weights + noise * torch.randn(n_samples, 1, generator=generator)
        loader_generator = torch.Generator().manual_seed(int(seed))
        loaders[split] = {
            "regression": DataLoader(
                TensorDataset(inputs, targets), batch_size=batch_size, shuffle=split == "train", generator=loader_generator
            )
        }
    return loaders


def linear_model(dataloaders, seed, hidden=8):
    torch.manual_seed(int(seed))
    inputs, targets = next(iter(dataloaders["train"]["regression"]))
    return torch.nn.Sequential(
        torch.nn.Linear(inputs.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, targets.shape[1])
    )


def _mse(model, loader):
    with torch.no_grad():
        errors = [torch.nn.functional.mse_loss(model(x), y, reduction="sum") for x, y in loader]
    return float(sum(errors) / len(loader.dataset))


def sgd_trainer(model, dataloaders, seed, uid=None, cb=None, epochs=3, lr=0.05, fail_at_epoch=None):
    torch.manual_seed(int(seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        if fail_at_epoch is not None and epoch == fail_at_epoch:
            return float("nan"), {}, model.state_dict()
        for inputs, targets in dataloaders["train"]["regression"]:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(inputs), targets).backward()
            optimizer.step()
        metrics = {
            split: {"regression": {"mse": _mse(model, dataloaders[split]["regression"])}}
            for split in ("train", "validation")
        }
        if cb is not None:
            cb(epoch=epoch, metrics=metrics)
    final = {split: _mse(model, dataloaders[split]["regression"]) for split in ("train", "validation", "test")}
    return -final["validation"], {"final_mse": final}, model.state_dict()


def heartbeat_trainer(model, dataloaders, seed, uid, cb, epochs=1):
    """An nnfabrik-style trainer: calls ``cb()`` with no arguments only."""
    for _ in range(epochs):
        cb()
    return 1.0, {"epochs": epochs}, model.state_dict()


def uid_reporting_trainer(model, dataloaders, seed, uid, cb, epochs=2, lr=0.05):
    """nnfabrik's callback protocol, ``cb(uid=, epoch=, model=, info=)``; the output returns the ``uid`` it got."""
    score, output, state = sgd_trainer(model, dataloaders, seed, epochs=epochs, lr=lr)
    for epoch in range(epochs):
        cb(uid=uid, epoch=epoch, model=model, info={"seen": epoch})
    return score, {**output, "uid": uid}, state


class _SlowDataset(torch.utils.data.Dataset):
    """Sleeps per item, so a worker can be killed in mid-training."""

    def __init__(self, dataset, delay):
        self.dataset, self.delay = dataset, delay

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        import time

        time.sleep(self.delay)
        return self.dataset[index]


def slow_regression(seed, n_samples=32, delay=0.0, batch_size=8):
    """random_regression, but every training item takes ``delay`` seconds to load."""
    loaders = random_regression(seed, n_samples=n_samples, batch_size=batch_size)
    train = loaders["train"]["regression"]
    loaders["train"]["regression"] = DataLoader(
        _SlowDataset(train.dataset, delay), batch_size=batch_size, shuffle=True, generator=train.generator
    )
    return loaders


class _ChattyDataset(_SlowDataset):
    """A slow dataset that, once ``after`` items are loaded, logs a warning and writes a line to stderr (as a
    library might, in mid-training)."""

    def __init__(self, dataset, delay, after):
        super().__init__(dataset, delay)
        self.after, self.loaded = after, 0

    def __getitem__(self, index):
        self.loaded += 1
        if self.loaded == self.after:
            import logging
            import sys

            logging.getLogger("tests.chatty").warning("a warning in mid-training")
            print("some text on stderr", file=sys.stderr)
        return super().__getitem__(index)


def chatty_regression(seed, n_samples=16, delay=0.0, batch_size=8, chat_after=20):
    """slow_regression whose training data logs a warning and writes to stderr after ``chat_after`` items."""
    loaders = random_regression(seed, n_samples=n_samples, batch_size=batch_size)
    train = loaders["train"]["regression"]
    loaders["train"]["regression"] = DataLoader(
        _ChattyDataset(train.dataset, delay, chat_after), batch_size=batch_size, shuffle=True, generator=train.generator
    )
    return loaders


class _ConnectionKillingCallback:
    """Passes everything on to the pipeline's cb, and kills the worker's database connection after one epoch."""

    def __init__(self, cb, kill_at_epoch):
        self.cb, self.kill_at_epoch, self.killed_connection = cb, kill_at_epoch, None

    def __call__(self, epoch=None, metrics=None, state=None):
        self.cb(epoch=epoch, metrics=metrics, state=state)
        if epoch == self.kill_at_epoch and self.killed_connection is None:
            import datajoint
            import pymysql

            # the server's id of the connection now (DataJoint's connection_id stays that of its first connect)
            self.killed_connection = datajoint.conn().query("SELECT CONNECTION_ID()").fetchone()[0]
            admin = pymysql.connect(host="127.0.0.1", user="root", password="")
            with admin.cursor() as cursor:
                cursor.execute(f"KILL {int(self.killed_connection)}")
            admin.close()

    def resume_state(self):
        return self.cb.resume_state()


def connection_killing_cotrainer(model, dataloaders, seed, uid=None, cb=None, kill_at_epoch=2, **config):
    """The co-trainer, with the database connection killed under it after ``kill_at_epoch``."""
    from neural_cotraining.trainer import cotrainer

    return cotrainer(model, dataloaders, seed, uid=uid, cb=_ConnectionKillingCallback(cb, kill_at_epoch), **config)


class _BreakingDataset(torch.utils.data.Dataset):
    """Wraps a dataset; item ``broken`` raises (in whichever process loads it)."""

    def __init__(self, dataset, broken):
        self.dataset, self.broken = dataset, broken

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        if index == self.broken:
            raise ValueError(f"broken sample {index}")
        return self.dataset[index]


def breaking_regression(seed, n_samples=16, batch_size=8, broken=None):
    """random_regression with unshuffled training batches whose item ``broken`` raises."""
    loaders = random_regression(seed, n_samples=n_samples, batch_size=batch_size)
    train = loaders["train"]["regression"]
    loaders["train"]["regression"] = DataLoader(_BreakingDataset(train.dataset, broken), batch_size=batch_size)
    return loaders


def slow_to_load(seed, load_seconds=0.0, n_samples=32, delay=0.0, batch_size=8):
    """slow_regression that first takes ``load_seconds`` to build (a dataset read from a slow disk)."""
    import time

    time.sleep(load_seconds)
    return slow_regression(seed, n_samples=n_samples, delay=delay, batch_size=batch_size)


def process_killing_regression(seed, signal_name="SIGKILL", n_samples=16):
    """Data whose loading kills the process that loads it (as a crafted file's segfault or the OOM killer does)."""
    import os
    import signal

    os.kill(os.getpid(), getattr(signal, signal_name))
    return random_regression(seed, n_samples=n_samples)


def _check_trained_source(config):
    """At add, inside the pipeline: ``source`` must name a trained model (as MTL-Oracle's predictor must)."""
    from neural_cotraining.dataset.trained_networks import load_trained_network, trained_networks_available

    if trained_networks_available():
        load_trained_network(config.get("source"), "source")


@checks_config(_check_trained_source)
def regression_after_a_trained_model(seed, source=None, n_samples=16):
    """random_regression for a dataset that names a trained model, ``source: {trained_model: ...}``; the model is
    loaded (a key that names none is refused) but not used."""
    from neural_cotraining.dataset.trained_networks import load_trained_network

    load_trained_network(source, "source")
    return random_regression(seed, n_samples=n_samples)
