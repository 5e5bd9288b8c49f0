"""Reader for the nnvision "monkey static" session pickles (the data format of the co-training paper's V1 data).

Layout, as read by nnvision's ``monkey_static_loader`` (sinzlab/nnvision; learned from its public code):

- one pickle per session holding a dict with
  ``subject_id``, ``session_id`` (the data_key is ``str(session_id)``),
  ``training_responses`` and ``testing_responses`` shaped (neurons, time_bins, trials),
  ``training_image_ids`` and ``testing_image_ids`` shaped (trials,) (integers; test images repeat),
  ``unit_ids`` shaped (neurons,) (the recording's neuron ids; nnvision does not read them, we carry them to the
  stored per-neuron results);
  read with :func:`~.safe_pickle.load_plain_pickle`: numpy arrays and plain containers only, never code;
- an image folder with one ``.npy`` file per image id, named by the id zero-padded to ``filename_precision``
  digits (nnvision's default 6, e.g. ``000042.npy``); unpadded names (``42.npy``) are accepted too.
  Each file holds a 2-d (H, W) grayscale image or an (H, W, C) colour image. A path ending in ``individual``
  (nnvision's legacy layout ``.../images/individual``) means the folder above it, as nnvision reads it
  (:func:`image_folder_path`).

Responses are summed (or averaged) over the time bins chosen by ``time_bins_sum``: an int ``n`` takes the first
``n`` bins (nnvision's convention), a list takes those bin indices. ``image_id_offset`` is subtracted from the ids
first (nnvision uses 1 for its "PlosCB19_V1" data). Training trials become tier ``"train"`` (the loader splits
validation images off by id) and testing trials tier ``"test"``.
"""

from __future__ import annotations

import logging
import numbers
from pathlib import Path

import numpy as np

from ...common.plain import from_numpy
from .safe_pickle import load_plain_pickle
from .session import NeuralSession

logger = logging.getLogger(__name__)

__all__ = ["REQUIRED_KEYS", "ImageFolder", "image_folder_path", "read_monkey_static_session", "select_time_bins"]

REQUIRED_KEYS = (
    "subject_id",
    "session_id",
    "training_responses",
    "testing_responses",
    "training_image_ids",
    "testing_image_ids",
    "unit_ids",
)
LEGACY_SUBFOLDER = "individual"


def image_folder_path(image_cache_path: str | Path) -> Path:
    """The folder nnvision reads images from: a trailing ``individual`` component is dropped (nnvision's
    ``monkey_static_loader`` cuts the path at "individual" because of a legacy folder structure)."""
    path = Path(image_cache_path)
    if path.name == LEGACY_SUBFOLDER:
        logger.debug("image_cache_path %s ends in %r: reading images from %s, as nnvision does",
                     path, LEGACY_SUBFOLDER, path.parent)
        return path.parent
    return path


class ImageFolder:
    """Loads ``<id>.npy`` images from a folder (zero-padded or plain names), caching each one once."""

    def __init__(self, path: str | Path, filename_precision: int = 6):
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"image folder {self.path} does not exist")
        self.filename_precision = int(filename_precision)
        self._cache: dict[int, np.ndarray] = {}

    def files(self) -> list[Path]:
        """Every ``.npy`` file in the folder, sorted by name (nnvision counts these as the image set)."""
        return sorted(p for p in self.path.iterdir() if p.name.endswith(".npy") and p.is_file())

    def file_for(self, image_id: int) -> Path:
        candidates = [self.path / f"{image_id:0{self.filename_precision}d}.npy", self.path / f"{image_id}.npy"]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(
            f"image {image_id} not found in {self.path} (tried {', '.join(c.name for c in dict.fromkeys(candidates))})"
        )

    def load(self, image_id: int) -> np.ndarray:
        """The image as (C, H, W) float32."""
        if image_id not in self._cache:
            path = self.file_for(image_id)
            self._cache[image_id] = read_image_file(path)
        return self._cache[image_id]

    def stack(self, image_ids, source: str) -> np.ndarray:
        try:
            images = [self.load(int(i)) for i in image_ids]
        except FileNotFoundError as error:
            raise FileNotFoundError(f"{source}: {error}") from None
        shapes = sorted({image.shape for image in images})
        if len(shapes) > 1:
            raise ValueError(f"{source}: the images in {self.path} have different shapes {shapes[:5]}")
        return np.stack(images)


def read_image_file(path: Path) -> np.ndarray:
    """One ``.npy`` image as (C, H, W) float32 (values as stored)."""
    try:
        image = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"{path}: not a readable .npy image ({error})") from error
    if image.ndim == 2:
        image = image[None]
    elif image.ndim == 3:
        image = np.moveaxis(image, -1, 0)
    else:
        raise ValueError(f"{path}: an image must be (H, W) or (H, W, C), got shape {image.shape}")
    return image.astype(np.float32)


def select_time_bins(responses: np.ndarray, time_bins_sum, average: bool, source: str) -> np.ndarray:
    """(neurons, time_bins, trials) -> (trials, neurons), summing or averaging the chosen bins."""
    if responses.ndim != 3:
        raise ValueError(f"{source}: responses must be (neurons, time_bins, trials), got shape {responses.shape}")
    n_bins = responses.shape[1]
    if isinstance(time_bins_sum, numbers.Integral):
        bins = list(range(int(time_bins_sum)))
    else:
        bins = [int(b) for b in time_bins_sum]
    if not bins or min(bins) < 0 or max(bins) >= n_bins:
        raise ValueError(f"{source}: time_bins_sum {time_bins_sum!r} does not fit the {n_bins} time bins in the file")
    chosen = responses[:, bins, :]
    combined = chosen.mean(axis=1) if average else chosen.sum(axis=1)
    return combined.T.astype(np.float32)


def _load_pickle(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"neuronal data file {path} does not exist")
    raw = load_plain_pickle(path)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a dict, got {type(raw).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing}; a monkey static session needs {list(REQUIRED_KEYS)}")
    return raw


def read_monkey_static_session(
    data_file: str | Path,
    images: ImageFolder,
    time_bins_sum=12,
    average_time_bins: bool = False,
    image_id_offset: int = 0,
) -> NeuralSession:
    """Read one session pickle; ``images`` is the :class:`ImageFolder` holding ``<id>.npy`` files."""
    path = Path(data_file)
    raw = _load_pickle(path)
    source = str(path)
    parts = {}
    for tier, prefix in (("train", "training"), ("test", "testing")):
        responses = select_time_bins(np.asarray(raw[f"{prefix}_responses"]), time_bins_sum, average_time_bins, source)
        ids = np.asarray(raw[f"{prefix}_image_ids"]).reshape(-1)
        if len(ids) != len(responses):
            raise ValueError(
                f"{source}: shapes do not match: {prefix}_responses has {len(responses)} trials but "
                f"{prefix}_image_ids has {len(ids)} entries"
            )
        parts[tier] = (responses, ids.astype(np.int64) - int(image_id_offset))
    n_train, n_test = parts["train"][0].shape[1], parts["test"][0].shape[1]
    if n_train != n_test:
        raise ValueError(f"{source}: training_responses has {n_train} neurons but testing_responses has {n_test}")
    unit_ids = np.asarray(raw["unit_ids"]).reshape(-1)
    if len(unit_ids) != n_train:
        raise ValueError(f"{source}: unit_ids has {len(unit_ids)} entries but the responses have {n_train} neurons")
    trial_ids = np.concatenate([parts["train"][1], parts["test"][1]])
    unique_ids = np.unique(trial_ids)
    pixels = images.stack(unique_ids, source)
    if pixels.size and pixels.max() > 1.0:
        pixels = pixels / 255.0
    return NeuralSession(
        data_key=str(raw["session_id"]),
        images=pixels,
        image_ids=unique_ids,
        trial_image_ids=trial_ids,
        responses=np.concatenate([parts["train"][0], parts["test"][0]]),
        tiers=np.array(["train"] * len(parts["train"][1]) + ["test"] * len(parts["test"][1])),
        source=source,
        metadata={"subject_id": from_numpy(raw["subject_id"]), "session_id": from_numpy(raw["session_id"])},
        unit_ids=unit_ids,
    )
