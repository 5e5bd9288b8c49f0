"""Writers of tiny data files in the layouts the neural readers take: nnvision monkey pickles and neuralpredictors
FileTree folders (shared by the dataset and pipeline tests)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def write_monkey_static(root: Path, session_id=7, n_neurons=3, n_bins=4, train_ids=(1, 2, 3, 4, 5, 6),
                        test_ids=(10, 10, 11, 11, 12, 12), precision=6, seed=0, image_shape=(5, 5), unit_ids=None,
                        extra_image_ids=()):
    """A session pickle in nnvision's monkey static layout plus its ``<id>.npy`` image folder.

    Responses are (neurons, time_bins, trials) with value 100*neuron + 10*bin + trial so sums are checkable.
    ``unit_ids`` default to 1001, 1002, ...; ``extra_image_ids`` are images in the folder that no trial shows.
    """
    rng = np.random.default_rng(seed)
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    for image_id in sorted(set(train_ids) | set(test_ids) | set(extra_image_ids)):
        name = f"{image_id:0{precision}d}.npy" if precision else f"{image_id}.npy"
        if not (images / name).exists():  # several sessions share one image folder
            np.save(images / name, (rng.uniform(size=image_shape) * 255).astype(np.float32))

    def responses(n_trials):
        n, b, t = np.meshgrid(np.arange(n_neurons), np.arange(n_bins), np.arange(n_trials), indexing="ij")
        return (100 * n + 10 * b + t).astype(np.float64)

    data = {
        "subject_id": 1,
        "session_id": session_id,
        "training_responses": responses(len(train_ids)),
        "testing_responses": responses(len(test_ids)),
        "training_image_ids": np.array(train_ids),
        "testing_image_ids": np.array(test_ids),
        "unit_ids": np.arange(1001, 1001 + n_neurons) if unit_ids is None else np.asarray(unit_ids),
    }
    path = root / f"session_{session_id}.pickle"
    with open(path, "wb") as handle:
        pickle.dump(data, handle)
    return path, images


def write_filetree(root: Path, tiers=("train",) * 8 + ("validation",) * 2 + ("test",) * 6 + ("final_test",) * 2,
                   n_neurons=4, size=(6, 7), seed=0, id_key="frame_image_id"):
    """A neuralpredictors FileTree static dataset; test trials repeat images 100 and 101 three times each."""
    rng = np.random.default_rng(seed)
    tiers = np.array(tiers)
    ids, next_id, test_cycle = [], 0, iter([100, 101] * len(tiers))
    for tier in tiers:
        if tier == "test":
            ids.append(next(test_cycle))
        else:
            ids.append(next_id)
            next_id += 1
    ids = np.array(ids)
    (root / "data" / "images").mkdir(parents=True)
    (root / "data" / "responses").mkdir(parents=True)
    (root / "meta" / "trials").mkdir(parents=True)
    (root / "meta" / "neurons").mkdir(parents=True)
    base_images = {i: (rng.uniform(size=(1, *size)) * 255).astype(np.uint8) for i in np.unique(ids)}
    for trial, image_id in enumerate(ids):
        np.save(root / "data" / "images" / f"{trial}.npy", base_images[image_id])
        np.save(root / "data" / "responses" / f"{trial}.npy", np.full(n_neurons, trial, dtype=np.float32))
    np.save(root / "meta" / "trials" / "tiers.npy", tiers)
    np.save(root / "meta" / "trials" / f"{id_key}.npy", ids)
    np.save(root / "meta" / "neurons" / "unit_ids.npy", np.arange(n_neurons) * 10 + 3)
    np.save(root / "meta" / "neurons" / "area.npy", np.array(["V1", "LM"] * n_neurons)[:n_neurons])
    np.save(root / "meta" / "neurons" / "layer.npy", np.array(["L2/3"] * n_neurons))
    return root, ids, base_images
