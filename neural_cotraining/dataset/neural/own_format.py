"""Our on-disk format for static-stimulus neural responses: one folder per session.

Layout::

    <root>/
        <data_key>/                 one folder per session; the folder name is the data_key
            session.json            metadata (below)
            data.npz                the arrays (below), written with numpy.savez_compressed
            ground_truth.npz        optional, written by the simulator (below)

``data.npz`` arrays (all required; ``allow_pickle`` is never needed):

==================  =========================  ==========================================================
name                shape, dtype               meaning
==================  =========================  ==========================================================
``images``          (n_images, C, H, W) float  each distinct stimulus once; pixel values in [0, 1]
                                               (values above 1 are read as 0..255)
``image_ids``       (n_images,) int64          the id of each row of ``images``; distinct
``trial_image_ids`` (n_trials,) int64          the image id shown in each trial; repeats share an id
``responses``       (n_trials, n_neurons) f32  the response of every neuron in every trial; finite
``tiers``           (n_trials,) str            ``"train"``, ``"validation"`` or ``"test"`` per trial
==================  =========================  ==========================================================

Optional arrays: ``unit_ids`` (n_neurons,) int64, distinct (absent: the column index 0..n_neurons-1), ``area`` and
``layer`` (n_neurons,) str.

``session.json``::

    {"format": "neural_cotraining.static_session", "version": 1, "data_key": "<data_key>",
     "n_images": int, "n_trials": int, "n_neurons": int, "image_shape": [C, H, W],
     "metadata": {...}}            # free-form, JSON-able (subject, simulation parameters, oracle values...)

The counts in ``session.json`` must agree with the arrays; a reader refuses a session where they do not.
Test images are usually shown several times (repeats) so that the oracle correlation can be computed;
validation trials may be marked ``"validation"`` or left in ``"train"`` for the loader to split off by image id.

``ground_truth.npz`` (simulated sessions only): ``rates`` (n_images, n_neurons) float32, the noise-free mean
response of every neuron to every row of ``images``, and ``receptive_fields`` (n_neurons, C, H, W) float32.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from .session import NeuralSession

logger = logging.getLogger(__name__)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SESSION_FILE",
    "DATA_FILE",
    "GROUND_TRUTH_FILE",
    "write_session",
    "read_session",
    "read_sessions",
    "session_folders",
    "read_ground_truth",
]

FORMAT_NAME = "neural_cotraining.static_session"
FORMAT_VERSION = 1
SESSION_FILE = "session.json"
DATA_FILE = "data.npz"
GROUND_TRUTH_FILE = "ground_truth.npz"
ARRAYS = ("images", "image_ids", "trial_image_ids", "responses", "tiers")
NEURON_ARRAYS = ("unit_ids", "area", "layer")  # optional


def write_session(session: NeuralSession, root: str | Path, ground_truth: dict | None = None) -> Path:
    """Write ``session`` to ``root/<data_key>/`` (created, files overwritten) and return that folder."""
    folder = Path(root) / session.data_key
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        folder / DATA_FILE,
        images=session.images.astype(np.float32),
        image_ids=session.image_ids.astype(np.int64),
        trial_image_ids=session.trial_image_ids.astype(np.int64),
        responses=session.responses.astype(np.float32),
        tiers=session.tiers.astype(str),
        **{name: getattr(session, name) for name in NEURON_ARRAYS if getattr(session, name) is not None},
    )
    if ground_truth is not None:
        np.savez_compressed(folder / GROUND_TRUTH_FILE, **{k: np.asarray(v) for k, v in ground_truth.items()})
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "data_key": session.data_key,
        "n_images": int(len(session.images)),
        "n_trials": int(session.n_trials),
        "n_neurons": int(session.n_neurons),
        "image_shape": [int(s) for s in session.images.shape[1:]],
        "metadata": session.metadata,
    }
    # written last: a folder with session.json is complete (the simulator's cache relies on this)
    (folder / SESSION_FILE).write_text(json.dumps(header, indent=2, sort_keys=True))
    return folder


def _read_header(folder: Path) -> dict:
    path = folder / SESSION_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (a session folder needs {SESSION_FILE} and {DATA_FILE})")
    try:
        header = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    if header.get("format") != FORMAT_NAME:
        raise ValueError(f"{path}: format is {header.get('format')!r}, expected {FORMAT_NAME!r}")
    if header.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: format version {header.get('version')!r} is not supported (expected {FORMAT_VERSION})"
        )
    return header


def read_session(folder: str | Path) -> NeuralSession:
    """Read one session folder (see the module docstring), checking the arrays against ``session.json``."""
    folder = Path(folder)
    header = _read_header(folder)
    path = folder / DATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with np.load(path, allow_pickle=False) as archive:
        missing = [name for name in ARRAYS if name not in archive.files]
        if missing:
            raise ValueError(f"{path}: missing array(s) {missing}; found {sorted(archive.files)}")
        arrays = {name: archive[name] for name in ARRAYS}
        neurons = {name: archive[name] for name in NEURON_ARRAYS if name in archive.files}
    counts = {
        "n_images": len(arrays["images"]),
        "n_trials": len(arrays["responses"]),
        "n_neurons": arrays["responses"].shape[1] if arrays["responses"].ndim == 2 else None,
        "image_shape": list(arrays["images"].shape[1:]),
    }
    wrong = {key: (header.get(key), value) for key, value in counts.items() if header.get(key) != value}
    if wrong:
        details = ", ".join(f"{key}: session.json says {said}, data has {has}" for key, (said, has) in wrong.items())
        raise ValueError(f"{path}: arrays do not match {SESSION_FILE} ({details})")
    images = arrays["images"].astype(np.float32)
    if images.size and images.max() > 1.0:
        images = images / 255.0
    return NeuralSession(
        data_key=header.get("data_key", folder.name),
        images=images,
        image_ids=arrays["image_ids"],
        trial_image_ids=arrays["trial_image_ids"],
        responses=arrays["responses"],
        tiers=arrays["tiers"],
        source=str(path),
        metadata=header.get("metadata", {}),
        **neurons,
    )


def session_folders(root: str | Path, data_keys=None) -> list[Path]:
    """The session folders under ``root`` (those holding ``session.json``), sorted, or the ``data_keys`` asked for."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"neural data folder {root} does not exist")
    if data_keys is not None:
        return [root / str(key) for key in data_keys]
    folders = sorted(child for child in root.iterdir() if (child / SESSION_FILE).is_file())
    if not folders:
        raise FileNotFoundError(f"no session folders (sub-folders with {SESSION_FILE}) in {root}")
    return folders


def read_sessions(root: str | Path, data_keys=None) -> list[NeuralSession]:
    """Every session under ``root`` (or those named by ``data_keys``), in sorted order."""
    sessions = [read_session(folder) for folder in session_folders(root, data_keys)]
    logger.debug("read %d session(s) from %s", len(sessions), root)
    return sessions


def read_ground_truth(folder: str | Path) -> dict[str, np.ndarray]:
    """The simulator's ``ground_truth.npz`` of a session folder."""
    path = Path(folder) / GROUND_TRUTH_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (only simulated sessions have ground truth)")
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
