"""Factories that write tiny fixture files (our format, nnvision pickles, FileTree folders) under tmp_path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neural_cotraining.dataset.neural import NeuralSession, write_session
from tests.neural_files import write_filetree, write_monkey_static


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)


def make_session(data_key="s0", n_train=12, n_test=3, repeats=4, n_neurons=5, size=6, seed=0, id_offset=0):
    """A small valid NeuralSession: n_train images shown once, n_test images shown ``repeats`` times."""
    rng = np.random.default_rng(seed)
    n_images = n_train + n_test
    image_ids = np.arange(n_images) + id_offset
    trial_ids = np.concatenate([image_ids[:n_train], np.repeat(image_ids[n_train:], repeats)])
    tiers = np.array(["train"] * n_train + ["test"] * (n_test * repeats))
    return NeuralSession(
        data_key=data_key,
        images=rng.uniform(size=(n_images, 1, size, size)).astype(np.float32),
        image_ids=image_ids,
        trial_image_ids=trial_ids,
        responses=rng.poisson(3.0, size=(len(trial_ids), n_neurons)).astype(np.float32),
        tiers=tiers,
    )


@pytest.fixture
def own_format_root(tmp_path):
    """Two sessions in our on-disk format under one folder; returns the folder."""
    root = tmp_path / "own"
    write_session(make_session("a", seed=1), root)
    write_session(make_session("b", n_neurons=7, seed=2), root)
    return root


@pytest.fixture
def session_maker():
    return make_session


@pytest.fixture
def monkey_static_writer():
    return write_monkey_static


@pytest.fixture
def filetree_writer():
    return write_filetree
