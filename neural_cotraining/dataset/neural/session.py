"""One recording session of static-stimulus responses, held in memory and checked on construction.

Every reader (our format, nnvision monkey pickles, neuralpredictors FileTree) produces :class:`NeuralSession`
objects, so splitting, normalisation and DataLoader construction exist once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...common.names import SPLITS

__all__ = ["NeuralSession", "TIERS"]

TIERS = SPLITS  # a trial's tier names the split it goes to


@dataclass
class NeuralSession:
    """Images shown, trials and responses of one session (one ``data_key``).

    Attributes:
        data_key: the session's name; the key of its DataLoader in every split.
        images: (n_images, C, H, W) float32, one row per distinct stimulus.
        image_ids: (n_images,) int64, the id of each row of ``images`` (distinct).
        trial_image_ids: (n_trials,) int64, the image shown in each trial; repeats share an id.
        responses: (n_trials, n_neurons) float32, finite.
        tiers: (n_trials,) str, each ``"train"``, ``"validation"`` or ``"test"``.
        source: the file or folder it was read from, named in every error message.
        metadata: free-form, JSON-able information (e.g. subject, ground truth summaries).
        unit_ids: (n_neurons,) int64, distinct: the recording's id of each response column (neuroscientists select
            neurons by it); None means the column index.
        area, layer: (n_neurons,) str, the brain area / cortical layer of each neuron where the data has them.
    """

    data_key: str
    images: np.ndarray
    image_ids: np.ndarray
    trial_image_ids: np.ndarray
    responses: np.ndarray
    tiers: np.ndarray
    source: str = ""
    metadata: dict = field(default_factory=dict)
    unit_ids: np.ndarray | None = None
    area: np.ndarray | None = None
    layer: np.ndarray | None = None

    def __post_init__(self):
        where = self.source or f"session {self.data_key!r}"
        self.data_key = str(self.data_key)
        self.images = np.asarray(self.images, dtype=np.float32)
        self.image_ids = _as_ids(self.image_ids, "image_ids", where)
        self.trial_image_ids = _as_ids(self.trial_image_ids, "trial_image_ids", where)
        self.responses = np.asarray(self.responses, dtype=np.float32)
        self.tiers = np.asarray(self.tiers).astype(str)
        self._check(where)
        self._check_neurons(where)

    def _check(self, where: str) -> None:
        if self.images.ndim != 4:
            raise ValueError(f"{where}: images must be (n_images, C, H, W), got shape {self.images.shape}")
        if len(self.images) != len(self.image_ids):
            raise ValueError(f"{where}: {len(self.images)} images but {len(self.image_ids)} image ids")
        if len(np.unique(self.image_ids)) != len(self.image_ids):
            raise ValueError(f"{where}: image ids are not unique")
        if not np.all(np.isfinite(self.images)):
            raise ValueError(f"{where}: images contain NaN or inf values")
        if self.responses.ndim != 2:
            raise ValueError(f"{where}: responses must be (n_trials, n_neurons), got shape {self.responses.shape}")
        n_trials = len(self.responses)
        if n_trials == 0 or self.responses.shape[1] == 0:
            raise ValueError(f"{where}: no responses (shape {self.responses.shape})")
        if len(self.trial_image_ids) != n_trials or len(self.tiers) != n_trials:
            raise ValueError(
                f"{where}: shapes do not match: {n_trials} response trials, {len(self.trial_image_ids)} trial image "
                f"ids, {len(self.tiers)} tiers"
            )
        bad = ~np.isfinite(self.responses)
        if bad.any():
            trials = np.flatnonzero(bad.any(axis=1))
            raise ValueError(
                f"{where}: responses contain {int(bad.sum())} NaN/inf value(s) in {len(trials)} trial(s), "
                f"e.g. trial {int(trials[0])}"
            )
        unknown = np.setdiff1d(self.trial_image_ids, self.image_ids)
        if len(unknown):
            raise ValueError(f"{where}: {len(unknown)} unknown image id(s) in the trials, e.g. {unknown[:5].tolist()}")
        odd = sorted(set(self.tiers.tolist()) - set(TIERS))
        if odd:
            raise ValueError(f"{where}: unknown tier(s) {odd}; tiers must be among {list(TIERS)}")
        in_test = set(self.trial_image_ids[self.tiers == "test"].tolist())
        leaked = in_test & set(self.trial_image_ids[self.tiers != "test"].tolist())
        if leaked:
            raise ValueError(f"{where}: image id(s) {sorted(leaked)[:5]} appear both in the test tier and in training")

    def _check_neurons(self, where: str) -> None:
        n = self.n_neurons
        if self.unit_ids is None:
            self.unit_ids = np.arange(n, dtype=np.int64)
        self.unit_ids = _as_ids(self.unit_ids, "unit_ids", where)
        if len(self.unit_ids) != n:
            raise ValueError(f"{where}: {len(self.unit_ids)} unit ids but the responses have {n} neurons")
        if len(np.unique(self.unit_ids)) != n:
            raise ValueError(f"{where}: unit ids are not unique")
        for name in ("area", "layer"):
            values = getattr(self, name)
            if values is None:
                continue
            values = np.asarray(values).reshape(-1).astype(str)
            if len(values) != n:
                raise ValueError(f"{where}: {len(values)} {name} entries but the responses have {n} neurons")
            setattr(self, name, values)

    @property
    def n_neurons(self) -> int:
        return self.responses.shape[1]

    @property
    def n_trials(self) -> int:
        return self.responses.shape[0]

    @property
    def trial_image_index(self) -> np.ndarray:
        """For each trial, the row of ``images`` it showed."""
        order = np.argsort(self.image_ids)
        return order[np.searchsorted(self.image_ids, self.trial_image_ids, sorter=order)]

    def trials_in(self, tier: str) -> np.ndarray:
        return np.flatnonzero(self.tiers == tier)


def _as_ids(values, name: str, where: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{where}: {name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            return array.astype(np.int64)
        raise ValueError(f"{where}: {name} must be integers, got dtype {array.dtype}")
    return array.astype(np.int64)
