"""What ``TrainedModel`` does: build data, model and trainer from its parents' rows, train, store.

The make is tripartite: ``make_fetch`` reads the configs, ``make_compute`` trains outside any transaction (hours,
possibly), ``make_insert`` writes the score, output, weights and per-epoch metrics in one short transaction, so a
failure anywhere leaves nothing half-written.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any

import torch

from ..builders import resolve_builder
from ..hashing import make_hash
from .callback import TrainingCallback
from .checkpoints import CheckpointStore
from .live_progress import LiveProgress
from .workers import ReservationHeartbeat, release_dead_reservations

__all__ = ["TrainedModelMethods", "BrokenResultError", "serialize_state", "deserialize_state"]

logger = logging.getLogger(__name__)

_KINDS = ("dataset", "model", "trainer")


class BrokenResultError(ValueError):
    """A trainer returned a result that must not be stored (non-finite score or weights, wrong types)."""


def serialize_state(state_dict: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save({name: tensor.detach().cpu() for name, tensor in state_dict.items()}, buffer)
    return buffer.getvalue()


def deserialize_state(data: bytes) -> dict:
    """Weights only: ``weights_only=True`` refuses pickled code."""
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _check_result(score: Any, model_state: Any) -> float:
    try:
        score = float(score)
    except (TypeError, ValueError) as error:
        raise BrokenResultError(f"the trainer's score {score!r} is not a number") from error
    if not math.isfinite(score):
        raise BrokenResultError(f"the trainer's score is {score}; nothing stored")
    if not isinstance(model_state, dict) or not all(isinstance(v, torch.Tensor) for v in model_state.values()):
        raise BrokenResultError("the trainer's model_state must be a state dict of tensors")
    broken = [n for n, t in model_state.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if broken:
        raise BrokenResultError(f"non-finite trained weights in {broken[:5]}; nothing stored")
    return score


class TrainedModelMethods:
    """Mixed into the ``TrainedModel`` table class made by :func:`declare_tables`."""

    config_tables: dict  # {"dataset": Dataset, "model": Model, "trainer": Trainer}; set at declaration
    fabrikant_table: type
    checkpoint_table: type
    live_tables: tuple  # (LiveJob, LiveEpochMetric)
    stop_request = None  # a StopRequest (set by a long-lived worker): stop at an epoch's end, hand the job back
    checkpoints_kept = 2  # the newest checkpoints kept per job (each holds the best weights so far too)
    heartbeat_interval = 30.0  # seconds between renewals of a job's reservation

    def populate(self, *restrictions, orphan_timeout: float | None = None, **kwargs):
        """DataJoint's populate; with ``reserve_jobs=True`` it first re-pends the jobs of dead workers (same host,
        process gone; or, given ``orphan_timeout`` seconds, any reservation not renewed for that long) so they
        resume from their checkpoints. Live jobs renew their reservations from the trainer's heartbeat."""
        if kwargs.get("reserve_jobs"):
            release_dead_reservations(self, orphan_timeout=orphan_timeout)
        return super().populate(*restrictions, **kwargs)

    # ---- the tripartite make ----
    def _configs(self):
        """The three config tables joined (built once per instance: building the join costs more than running it)."""
        if getattr(self, "_config_join", None) is None:
            dataset, model, trainer = (self.config_tables[kind]().proj(f"{kind}_config") for kind in _KINDS)
            self._config_join = dataset * model * trainer
        return self._config_join

    def make_fetch(self, key: dict) -> tuple:
        # one query for the three configs (make_fetch runs twice per job: before training and in the transaction)
        row = (self._configs() & key).to_dicts()[0]
        names_and_configs = tuple((row[f"{kind}_fn"], row[f"{kind}_config"]) for kind in _KINDS)
        return (names_and_configs, int(key["seed"]))

    def make_compute(self, key: dict, names_and_configs: tuple, seed: int) -> tuple:
        (dataset_fn, dataset_config), (model_fn, model_config), (trainer_fn, trainer_config) = names_and_configs
        callback = self.training_callback(key)
        dataloaders, model = self.build(dataset_fn, dataset_config, model_fn, model_config, seed)
        trainer = resolve_builder(trainer_fn)
        logger.info("training %s", key)
        score, output, model_state = trainer(
            model=model, dataloaders=dataloaders, seed=seed, uid=make_hash(key), cb=callback, **trainer_config
        )
        score = _check_result(score, model_state)
        return score, output, serialize_state(model_state), callback.epoch_rows

    def make_insert(self, key: dict, score: float, output: Any, state_bytes: bytes, epoch_rows: list) -> None:
        fabrikant = self.fabrikant_table().ensure()
        self.insert1({**key, "score": score, "output": output, "fabrikant_name": fabrikant})
        self.ModelState.insert1({**key, "model_state": state_bytes})
        self.EpochMetric.insert([{**key, **row} for row in epoch_rows])
        self.checkpoints(key).clear()
        self.live_progress(key).clear()

    def checkpoints(self, key: dict) -> CheckpointStore:
        return CheckpointStore(self.checkpoint_table, key, keep=self.checkpoints_kept)

    def live_progress(self, key: dict) -> LiveProgress:
        return LiveProgress(*self.live_tables, key, heartbeat_interval=self.heartbeat_interval)

    def training_callback(self, key: dict) -> TrainingCallback:
        """The ``cb`` handed to the trainer: renews the job's reservation and live heartbeat, writes live progress,
        saves checkpoints, offers the latest, and stops on the worker's request."""
        store = self.checkpoints(key)
        live = self.live_progress(key)
        reservation = ReservationHeartbeat(self.jobs, key, interval=self.heartbeat_interval)

        def heartbeat() -> None:
            reservation()
            live.heartbeat()

        callback = TrainingCallback(
            on_heartbeat=heartbeat,
            on_checkpoint=store.save,
            resume_from=store.latest(),
            on_epoch=live.epoch,
            stop=self.stop_request,
        )
        live.start(resumed_epoch=max((row["epoch"] for row in callback.epoch_rows), default=None))
        return callback

    # ---- reading results back ----
    @staticmethod
    def build(dataset_fn: str, dataset_config: dict, model_fn: str, model_config: dict, seed: int) -> tuple:
        """Dataloaders and a freshly initialised model, as the builders make them."""
        seed = int(seed)  # DataJoint hands back numpy integers
        dataloaders = resolve_builder(dataset_fn)(seed=seed, **dataset_config)
        model = resolve_builder(model_fn)(dataloaders, seed=seed, **model_config)
        return dataloaders, model

    def _single_key(self, key: dict | None) -> dict:
        restricted = self & key if key is not None else self
        keys = restricted.keys()
        if len(keys) != 1:
            raise KeyError(f"{key} matches {len(keys)} trained models, not one")
        return keys[0]

    def load_model(self, key: dict | None = None) -> tuple[dict, torch.nn.Module]:
        """(dataloaders, model with the trained weights, in eval mode) of the one trained model ``key`` names."""
        key = self._single_key(key)
        (names_and_configs, seed) = self.make_fetch(key)
        (dataset_fn, dataset_config), (model_fn, model_config), _ = names_and_configs
        dataloaders, model = self.build(dataset_fn, dataset_config, model_fn, model_config, seed)
        # to_dicts, not to_arrays: numpy's bytes_ drops trailing NUL bytes and corrupts the archive
        state_bytes = (self.ModelState & key).to_dicts()[0]["model_state"]
        model.load_state_dict(deserialize_state(state_bytes))
        model.eval()
        return dataloaders, model
