"""What ``TrainedModel`` does: build data, model and trainer from its parents' rows, train, store.

The make is tripartite: ``make_fetch`` reads the configs, ``make_compute`` trains outside any transaction (hours,
possibly), ``make_insert`` writes the score, output, weights and per-epoch metrics in one short transaction, so a
failure anywhere leaves nothing half-written. Per-neuron test results (``UnitResult``, keyed by task, session and
unit id) come from the trainer's ``output["per_neuron"]``.
"""

from __future__ import annotations

import inspect
import logging
import math
from typing import Any

import torch

from ..common.torch_bytes import from_torch_bytes, to_torch_bytes
from ..nnfabrik_compat import get_all_parts
from .jobs.callback import TrainingCallback
from .jobs.checkpoints import CheckpointStore
from .epoch_log import EpochLog
from .jobs.live_progress import LiveProgress
from .unit_results import unit_rows
from .jobs.reservations import ReservationHeartbeat, release_dead_reservations

__all__ = ["TrainedModelMethods", "BrokenResultError", "serialize_state", "deserialize_state"]

logger = logging.getLogger(__name__)

_KINDS = ("dataset", "model", "trainer")
_COMMENT_ORDER = ("trainer", "model", "dataset")  # nnfabrik's order
_COMMENT_LENGTH = 768


class BrokenResultError(ValueError):
    """A trainer returned a result that must not be stored (non-finite score or weights, wrong types)."""


def serialize_state(state_dict: dict) -> bytes:
    """A model's weights as stored bytes (detached, on the CPU)."""
    return to_torch_bytes({name: tensor.detach().cpu() for name, tensor in state_dict.items()})


def deserialize_state(data: bytes) -> dict:
    """Weights only: ``weights_only=True`` refuses pickled code."""
    return from_torch_bytes(data)


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
    """What a trained-model table does: the make, the training callback, reading results back (nnfabrik's
    ``TrainedModelBase`` methods under its names). The tables it reads come from properties (``dataset_table``,
    ``model_table``, ``trainer_table``, ``seed_table``, ``user_table``, ``checkpoint_table``) and its parts are
    ``ModelState`` (alias ``ModelStorage``), ``EpochMetric`` and ``UnitResult``; running jobs' progress goes to
    ``live_tables``. See :class:`.user_tables.TrainedModelBase`."""

    stop_request = None  # a StopRequest (set by a long-lived worker): stop at an epoch's end, hand the job back
    checkpoints_kept = 2  # the newest checkpoints kept per job (each holds the best weights so far too)
    heartbeat_interval = 30.0  # seconds between renewals of a job's reservation
    comment_delimitter = "."  # nnfabrik's name: joins the trainer, model and dataset comments into ``comment``

    def _config_table(self, kind: str):
        return getattr(self, f"{kind}_table")()

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
            dataset, model, trainer = (
                self._config_table(kind).proj(f"{kind}_config", f"{kind}_comment") for kind in _KINDS
            )
            self._config_join = dataset * model * trainer
        return self._config_join

    def make_fetch(self, key: dict) -> tuple:
        # one query for the three configs (make_fetch runs twice per job: before training and in the transaction)
        row = (self._configs() & key).to_dicts()[0]
        names_and_configs = tuple((row[f"{kind}_fn"], row[f"{kind}_config"]) for kind in _KINDS)
        comment = self.comment_delimitter.join(row[f"{kind}_comment"] for kind in _COMMENT_ORDER)[:_COMMENT_LENGTH]
        return (names_and_configs, int(key["seed"]), comment)

    def make_compute(self, key: dict, names_and_configs: tuple, seed: int, comment: str) -> tuple:
        (dataset_fn, dataset_config), (model_fn, model_config), (trainer_fn, trainer_config) = names_and_configs
        callback = self.training_callback(key)
        dataloaders, model, trainer = get_all_parts(
            dataset_fn, dataset_config, model_fn, model_config, seed=seed, trainer_fn=trainer_fn
        )
        logger.debug("training %s", key)
        # nnfabrik hands the trainer the job's key as uid
        score, output, model_state = trainer(
            model=model, dataloaders=dataloaders, seed=seed, uid=dict(key), cb=callback, **trainer_config
        )
        score = _check_result(score, model_state)
        unit_rows(output)  # refuse malformed per-neuron results here, before the transaction
        return score, output, serialize_state(model_state), callback.epoch_rows, comment

    def make_insert(
        self, key: dict, score: float, output: Any, state_bytes: bytes, epoch_rows: list, comment: str
    ) -> None:
        fabrikant = self._fabrikant()
        self.insert1({**key, "comment": comment, "score": score, "output": output, "fabrikant_name": fabrikant})
        self.ModelState.insert1({**key, "model_state": state_bytes})
        self.EpochMetric.insert([{**key, **row} for row in epoch_rows])
        self.UnitResult.insert([{**key, **row} for row in unit_rows(output)])
        if self.checkpoint_table is not None:
            self.checkpoints(key).clear()
        live = self.live_progress(key)
        if live is not None:
            live.clear()

    def _fabrikant(self) -> str:
        """Who trained it (``Fabrikant.ensure``), looked up once per table object: the database user and the
        fabrikant row do not change while a worker runs, and each lookup costs three queries per job."""
        if getattr(self, "_fabrikant_name", None) is None:
            self._fabrikant_name = self.user_table().ensure()
        return self._fabrikant_name

    def checkpoints(self, key: dict) -> CheckpointStore:
        return CheckpointStore(self.checkpoint_table, key, keep=self.checkpoints_kept)

    def live_progress(self, key: dict) -> LiveProgress | None:
        tables = self.live_tables
        return LiveProgress(*tables, key, heartbeat_interval=self.heartbeat_interval) if tables else None

    def training_callback(self, key: dict) -> TrainingCallback:
        """The ``cb`` handed to the trainer: renews the job's reservation and live heartbeat, writes live progress,
        saves checkpoints, offers the latest, stops on the worker's request, and passes what the trainer reports on
        to :meth:`call_back`."""
        store = self.checkpoints(key) if self.checkpoint_table is not None else None
        live = self.live_progress(key)
        reservation = ReservationHeartbeat(self.jobs, key, interval=self.heartbeat_interval)

        def heartbeat() -> None:
            reservation()
            if live is not None:
                live.heartbeat()

        callback = TrainingCallback(
            on_heartbeat=heartbeat,
            on_checkpoint=store.save if store else None,
            resume_from=store.latest() if store else None,
            on_epoch=self._epoch_log(key, then=live.epoch if live is not None else None),
            stop=self.stop_request,
            on_call=self._pass_to_call_back,
        )
        if live is not None:
            live.start(resumed_epoch=max((row["epoch"] for row in callback.epoch_rows), default=None))
        return callback

    def _epoch_log(self, key: dict, then) -> EpochLog:
        """The job's per-epoch progress line, labelled by its entries' comments (one query)."""
        row = (self._configs() & key).to_dicts()[0]
        labels = " / ".join(row[f"{kind}_comment"] or row[f"{kind}_hash"][:8] for kind in _KINDS)
        config = row["trainer_config"] if isinstance(row["trainer_config"], dict) else {}
        max_epochs = config.get("max_epochs")
        return EpochLog(f"{labels} / seed {int(key['seed'])}", max_epochs if isinstance(max_epochs, int) else None,
                        then=then)

    def call_back(self, uid=None, epoch=None, model=None, info=None) -> None:
        """nnfabrik's hook, called with what the trainer passes to ``cb(...)``; override it to act during training."""

    def _pass_to_call_back(self, **reported: Any) -> None:
        parameters = inspect.signature(self.call_back).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            reported = {name: value for name, value in reported.items() if name in parameters}
        self.call_back(**reported)

    # ---- reading results back ----
    def _single_key(self, key: dict | None) -> dict:
        """The one trained model ``key`` (or the restriction) names; with ``key`` given and nothing trained for it,
        the one job it names (nnfabrik builds untrained models that way)."""
        restricted = self & key if key is not None else self
        keys = restricted.keys()
        if len(keys) == 0 and key is not None:
            keys = (self.key_source & key).keys()
        if len(keys) != 1:
            raise KeyError(f"{key} matches {len(keys)} trained models, not one")
        return {name: keys[0][name] for name in self.primary_key}

    def get_full_config(self, key: dict | None = None, include_state_dict: bool = True,
                        include_trainer: bool = True) -> dict:
        """nnfabrik's: ``dataset_fn``, ``dataset_config``, ``model_fn``, ``model_config`` (and ``trainer_fn``,
        ``trainer_config``; the trained ``state_dict`` when there is one) of the one job ``key`` names, ready for
        ``get_all_parts(**config)``."""
        key = self._single_key(key)
        kinds = _KINDS if include_trainer else _KINDS[:2]
        config = {}
        for kind in kinds:
            config[f"{kind}_fn"], config[f"{kind}_config"] = (self._config_table(kind) & key).fn_config
        if include_state_dict:
            # to_dicts, not to_arrays: numpy's bytes_ drops trailing NUL bytes and corrupts the archive
            rows = (self.ModelState & key).to_dicts()
            if rows:
                config["state_dict"] = deserialize_state(rows[0]["model_state"])
        return config

    def load_model(self, key: dict | None = None, include_dataloader: bool = True, include_trainer: bool = False,
                   include_state_dict: bool = True, seed: int | None = None) -> Any:
        """nnfabrik's: ``(dataloaders, model)`` of the one job ``key`` (or the restriction) names, the model with
        its trained weights (when trained and ``include_state_dict``) and in eval mode; ``(..., trainer)`` with
        ``include_trainer``; without ``include_dataloader`` the model (and trainer) only. ``seed`` defaults to the
        job's."""
        key = self._single_key(key)
        seed = int(key["seed"] if seed is None else seed)  # DataJoint hands back numpy integers
        config = self.get_full_config(key, include_state_dict=include_state_dict, include_trainer=include_trainer)
        dataloaders, model, *trainer = get_all_parts(**config, seed=seed)
        model.eval()
        parts = (dataloaders, model, *trainer) if include_dataloader else (model, *trainer)
        return parts[0] if len(parts) == 1 else parts
