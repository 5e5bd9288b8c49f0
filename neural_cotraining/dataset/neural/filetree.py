"""Reader for neuralpredictors' FileTree static datasets (the layout of the Sensorium mouse V1 data).

Layout (as written by ``neuralpredictors.data.utils.convert_static_h5_dataset_to_folder`` and read by
``FileTreeDataset``; we read it with numpy because ``neuralpredictors.data`` does not import here)::

    <dataset folder>/               the folder name is the data_key (or nnvision's name, see below)
        config.json                 optional; {"links": {"responses": "<other data folder>"}} renames a folder
        data/images/<i>.npy         the image of trial i, (C, H, W) (usually (1, H, W)) or (H, W)
        data/responses/<i>.npy      the responses of trial i, (n_neurons,)
        data/...                    other per-trial data (behavior, pupil_center) are ignored
        meta/trials/tiers.npy       (n_trials,) str: "train", "validation", "test" (others, e.g. "final_test",
                                    are dropped)
        meta/trials/<id>.npy        (n_trials,) int image id per trial, ``<id>`` the first of ``frame_image_id``,
                                    ``image_id``, ``colorframeprojector_image_id`` present (or ``image_id_key``)
        meta/neurons/unit_ids.npy   (n_neurons,) int, required: the neurons' ids, carried to the stored results
        meta/neurons/area.npy, layer.npy   (n_neurons,) str, optional: kept beside the unit ids
        meta/statistics/            ignored (we compute statistics on our own train split)

Trials are numbered ``0 .. n_trials - 1`` by their position in ``tiers.npy``. Repeats of an image share an id;
the first trial's image file stands for all of them.

``data_key_naming``: ``"folder"`` (default) names the session by its folder; ``"nnvision"`` as nnvision's
``mouse_static_loader`` does: the path after its last ``static``, cut at the first ``.``, with ``preproc`` and
``_nobehavior`` removed (``.../static90001-1-1-preproc0`` -> ``90001-1-1-0``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from .session import TIERS, NeuralSession

logger = logging.getLogger(__name__)

__all__ = ["DATA_KEY_NAMINGS", "IMAGE_ID_KEYS", "nnvision_data_key", "read_filetree_session"]

IMAGE_ID_KEYS = ("frame_image_id", "image_id", "colorframeprojector_image_id")
DATA_KEY_NAMINGS = ("folder", "nnvision")


def nnvision_data_key(path: str | Path) -> str:
    """The data_key nnvision's ``mouse_static_loader`` gives the dataset at ``path``."""
    return str(path).split("static")[-1].split(".")[0].replace("preproc", "").replace("_nobehavior", "")


def _neurons(root: Path, n_neurons: int) -> dict[str, np.ndarray]:
    """unit_ids (required), area and layer (where present) from meta/neurons, each checked against n_neurons."""
    folder = root / "meta" / "neurons"
    found = {}
    for name in ("unit_ids", "area", "layer"):
        path = folder / f"{name}.npy"
        if name != "unit_ids" and not path.is_file():
            continue
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist (a FileTree dataset names its neurons in meta/neurons)")
        values = _load_npy(path).reshape(-1)
        if len(values) != n_neurons:
            raise ValueError(
                f"{path}: shapes do not match: {len(values)} entries but the responses have {n_neurons} neurons"
            )
        found[name] = values
    return found


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"{path}: not a readable .npy file ({error})") from error


def _data_folder(root: Path, name: str) -> Path:
    links = {}
    config = root / "config.json"
    if config.is_file():
        try:
            links = json.loads(config.read_text()).get("links", {}) or {}
        except json.JSONDecodeError as error:
            raise ValueError(f"{config}: not valid JSON ({error})") from error
    folder = root / "data" / links.get(name, name)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist (a FileTree dataset needs data/{name}/<trial>.npy)")
    return folder


def _image_ids(trials: Path, image_id_key, n_trials: int) -> np.ndarray:
    keys = [image_id_key] if image_id_key else list(IMAGE_ID_KEYS)
    for key in keys:
        path = trials / f"{key}.npy"
        if path.is_file():
            ids = _load_npy(path).reshape(-1)
            if len(ids) != n_trials:
                raise ValueError(
                    f"{path}: shapes do not match: {len(ids)} image ids but {n_trials} trials in tiers.npy"
                )
            return ids
    raise FileNotFoundError(f"no image-id file in {trials}: tried {', '.join(k + '.npy' for k in keys)}")


def _image(path: Path) -> np.ndarray:
    image = _load_npy(path)
    if image.ndim == 2:
        return image[None]
    if image.ndim == 3 and image.shape[0] in (1, 3, 4):
        return image
    raise ValueError(f"{path}: an image must be (C, H, W) or (H, W), got shape {image.shape}")


def read_filetree_session(
    folder: str | Path, image_id_key: str | None = None, data_key_naming: str = "folder"
) -> NeuralSession:
    """Read one FileTree dataset folder into a :class:`NeuralSession` (data_key: see ``data_key_naming``)."""
    if data_key_naming not in DATA_KEY_NAMINGS:
        raise ValueError(f"data_key_naming must be one of {list(DATA_KEY_NAMINGS)}, got {data_key_naming!r}")
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"FileTree dataset folder {root} does not exist")
    trials_dir = root / "meta" / "trials"
    tiers = _load_npy(trials_dir / "tiers.npy").reshape(-1).astype(str)
    ids = _image_ids(trials_dir, image_id_key, len(tiers))
    image_dir, response_dir = _data_folder(root, "images"), _data_folder(root, "responses")
    for kind, directory in (("images", image_dir), ("responses", response_dir)):
        count = len(list(directory.glob("*.npy")))
        if count != len(tiers):
            raise ValueError(
                f"{directory}: shapes do not match: {count} {kind} files but {len(tiers)} trials in tiers.npy"
            )
    kept = np.flatnonzero(np.isin(tiers, TIERS))
    if len(kept) < len(tiers):
        dropped = sorted(set(tiers.tolist()) - set(TIERS))
        logger.debug("%s: dropping %d trial(s) of tier(s) %s", root, len(tiers) - len(kept), dropped)
    if len(kept) == 0:
        raise ValueError(f"{trials_dir / 'tiers.npy'}: no trial is in a tier among {list(TIERS)}")
    responses = [_load_npy(response_dir / f"{trial}.npy").reshape(-1) for trial in kept]
    lengths = sorted({len(r) for r in responses})
    if len(lengths) > 1:
        raise ValueError(f"{response_dir}: shapes do not match: response files hold {lengths} neurons")
    trial_ids = ids[kept]
    unique_ids, first = np.unique(trial_ids, return_index=True)
    images = [_image(image_dir / f"{kept[i]}.npy") for i in first]
    shapes = sorted({image.shape for image in images})
    if len(shapes) > 1:
        raise ValueError(f"{image_dir}: shapes do not match: images have shapes {shapes[:5]}")
    pixels = np.stack(images).astype(np.float32)
    if pixels.size and pixels.max() > 1.0:
        pixels = pixels / 255.0
    neurons = _neurons(root, lengths[0])
    return NeuralSession(
        data_key=root.name if data_key_naming == "folder" else nnvision_data_key(root),
        images=pixels,
        image_ids=unique_ids,
        trial_image_ids=trial_ids,
        responses=np.stack(responses),
        tiers=tiers[kept],
        source=str(root),
        **neurons,
    )
