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
import random
from typing import Any

import datajoint as dj
import torch

from ..common.torch_bytes import from_torch_bytes, to_torch_bytes
from ..dataset.trained_networks import trained_networks_from
from ..nnfabrik_compat import get_all_parts
from .jobs.callback import TrainingCallback
from .jobs.checkpoints import CheckpointStore
from .jobs.epoch_log import EpochLog, job_id
from .jobs.live_progress import LiveProgress, never_fatal
from .jobs.reservations import ReservationLost
from .row_writes import insert_rows
from .trained_networks import network_loader
from .unit_results import unit_rows

__all__ = ["TrainedModelMethods", "BrokenResultError", "serialize_state", "deserialize_state"]

logger = logging.getLogger(__name__)

_KINDS = ("dataset", "model", "trainer")
_COMMENT_ORDER = ("trainer", "model", "dataset")  # nnfabrik's order
_COMMENT_LENGTH = 768
_ORDERS = ("original", "reverse", "random")  # DataJoint 0.x's populate(order=...)
_LABEL_LENGTH = 24  # an entry's comment in a progress line, where no experiment file labels the job


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


def _shortened(comment: str | None) -> str:
    if not comment or len(comment) <= _LABEL_LENGTH:
        return comment or ""
    return comment[: _LABEL_LENGTH - 3].rstrip() + "..."


class TrainedModelMethods:
    """What a trained-model table does: the make, the training callback, reading results back (nnfabrik's
    ``TrainedModelBase`` methods under its names). The tables it reads come from properties (``dataset_table``,
    ``model_table``, ``trainer_table``, ``seed_table``, ``user_table``, ``checkpoint_table``) and its parts are
    ``ModelState`` (alias ``ModelStorage``), ``EpochMetric`` and ``UnitResult``; running jobs' progress goes to
    ``live_tables``. See :class:`.templates.TrainedModelBase`."""

    stop_request = None  # a StopRequest (set by a long-lived worker): stop at an epoch's end, hand the job back
    reservation = None  # the running job's Reservation (set by the worker): every write checks it is still ours
    checkpoints_kept = 2  # the newest checkpoints kept per job (each holds the best weights so far too)
    #: a running job saves a checkpoint at the end of the first epoch this many seconds after its last one, so a
    #: crashed job loses at most about this much (unless its trainer config says ``checkpoint_every: 0``)
    checkpoint_seconds = 60.0
    heartbeat_interval = 30.0  # seconds between renewals of a running job's live heartbeat (``LiveJob``)
    live_write_interval = 5.0  # at most this many seconds between writes of a running job's epochs (live progress)
    #: ``{job_id(key): "dataset / model / trainer"}``: the labels an experiment file gives the jobs (set by the
    #: command that opened it: ``jobs.epoch_log.labels_by_job``); other jobs are labelled by their entries' comments
    job_labels: dict | None = None
    comment_delimitter = "."  # nnfabrik's name: joins the trainer, model and dataset comments into ``comment``

    def _config_table(self, kind: str):
        return getattr(self, f"{kind}_table")()

    def populate(self, *restrictions, orphan_timeout: float | None = None, order: str = "original",
                 keys: list | None = None, limit: int | None = None, **kwargs):
        """DataJoint's populate; with ``reserve_jobs=True`` the pipeline's own worker takes the jobs instead
        (:class:`.jobs.long_lived_worker.LongLivedWorker` until the queue is empty): it first re-pends the jobs of
        dead workers (same host, process gone; or any reservation silent for ``orphan_timeout`` seconds, default
        :data:`.jobs.reservations.ORPHAN_TIMEOUT`), keeps its reservations fresh from a thread, hands a job back
        on SIGINT/SIGTERM, and returns DataJoint's ``{"success_count", "error_list"}``.

        DataJoint 0.x's keywords, which nnfabrik code passes, keep their meaning: ``order`` ("original",
        "reverse" or "random": the order the jobs are tried in, e.g. to spread workers; with ``reserve_jobs`` every
        worker takes its jobs in an order of its own already) and ``keys`` (the jobs to run, in this order, instead
        of the key source and the restrictions); ``limit`` is refused, naming DataJoint 2's ``max_calls``."""
        if limit is not None:
            raise TypeError("populate(limit=...) is DataJoint 0.x's; DataJoint 2 spells it max_calls=...")
        if order not in _ORDERS:
            raise ValueError(f"populate(order={order!r}): order is one of {', '.join(map(repr, _ORDERS))}")
        if kwargs.get("reserve_jobs"):
            def run(*restriction, **options):
                return self._populate_with_worker(restriction, orphan_timeout, options)
        else:
            run = super().populate
        if order == "original" and keys is None:
            return run(*restrictions, **kwargs)
        return self._populate_in_order(run, restrictions, order, keys, kwargs)

    def _populate_with_worker(self, restrictions: tuple, orphan_timeout: float | None, kwargs: dict) -> dict:
        from .jobs.long_lived_worker import LongLivedWorker

        allowed = {"reserve_jobs", "suppress_errors", "return_exception_objects", "display_progress", "max_calls"}
        other = set(kwargs) - allowed
        if other:
            raise TypeError(f"populate(reserve_jobs=True) takes no {', '.join(sorted(other))}")
        worker = LongLivedWorker(self, restriction=dj.AndList(restrictions) if restrictions else None, idle_exit=0,
                                 orphan_timeout=orphan_timeout, stop=self.stop_request,
                                 max_jobs=kwargs.get("max_calls"))
        summary = worker.run()
        if summary.errors and not kwargs.get("suppress_errors"):
            raise summary.errors[0]
        as_objects = kwargs.get("return_exception_objects")
        errors = [(key, error if as_objects else message)
                  for (key, message), error in zip(summary.failed, summary.errors)]
        return {"success_count": summary.trained, "error_list": errors}

    def _populate_in_order(self, run, restrictions: tuple, order: str, keys: list | None, kwargs: dict) -> dict:
        """One ``run`` (a populate) per job, in ``order``: DataJoint 2 takes the jobs in the key source's order,
        and a worker in an order of its own. A job done meanwhile is skipped by that populate."""
        if keys is None:
            keys = ((self.key_source & dj.AndList(restrictions)) - self.proj()).keys()
        keys = [dict(key) for key in keys]
        if order == "reverse":
            keys.reverse()
        elif order == "random":
            random.shuffle(keys)
        max_calls = kwargs.pop("max_calls", None)
        result = {"success_count": 0, "error_list": []}
        for key in keys:
            if max_calls is not None and result["success_count"] + len(result["error_list"]) >= max_calls:
                break
            outcome = run(key, **kwargs)
            result["success_count"] += outcome["success_count"]
            result["error_list"].extend(outcome["error_list"])
        return result

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
        comments = tuple(row[f"{kind}_comment"] for kind in _KINDS)
        return (names_and_configs, int(key["seed"]), comments)

    def make_compute(self, key: dict, names_and_configs: tuple, seed: int, comments: tuple) -> tuple:
        (dataset_fn, dataset_config), (model_fn, model_config), (trainer_fn, trainer_config) = names_and_configs
        # checkpoints by time unless the config turns them off (``checkpoint_every: 0``); by epochs as it says
        timed = None if trainer_config.get("checkpoint_every") == 0 else self.checkpoint_seconds
        max_epochs = trainer_config.get("max_epochs")
        callback = self.training_callback(key, checkpoint_seconds=timed, label=self.job_label(key, comments),
                                          max_epochs=max_epochs if isinstance(max_epochs, int) else None)
        with self.trained_networks():
            dataloaders, model, trainer = get_all_parts(
                dataset_fn, dataset_config, model_fn, model_config, seed=seed, trainer_fn=trainer_fn
            )
        logger.debug("training %s", key)
        callback.start()
        try:
            # nnfabrik hands the trainer the job's key as uid
            score, output, model_state = trainer(
                model=model, dataloaders=dataloaders, seed=seed, uid=dict(key), cb=callback, **trainer_config
            )
            score = _check_result(score, model_state)
            unit_rows(output)  # refuse malformed per-neuron results here, before the transaction
        except BaseException as error:
            callback.finish(error)
            raise
        callback.finish()
        comment = self.comment_delimitter.join(comments[_KINDS.index(kind)] for kind in _COMMENT_ORDER)
        return score, output, serialize_state(model_state), callback.epoch_rows, comment[:_COMMENT_LENGTH]

    def make_insert(
        self, key: dict, score: float, output: Any, state_bytes: bytes, epoch_rows: list, comment: str
    ) -> None:
        if self.reservation is not None:  # locks the job's row: nothing releases it before this commits
            self.reservation.check_held()
        fabrikant = self._fabrikant()
        self.insert1({**key, "comment": comment, "score": score, "output": output, "fabrikant_name": fabrikant})
        self.ModelState.insert1({**key, "model_state": state_bytes})
        insert_rows(self.EpochMetric(), [{**key, **row} for row in epoch_rows])
        self.UnitResult.insert([{**key, **row} for row in unit_rows(output)])
        store = self._checkpoint_store(key)
        if store is not None:
            store.clear()
        live = self.live_progress(key)
        if live is not None:
            live.clear()

    def _fabrikant(self) -> str:
        """Who trained it (``Fabrikant.ensure``), looked up once per table object: the database user and the
        fabrikant row do not change while a worker runs, and each lookup costs three queries per job."""
        if getattr(self, "_fabrikant_name", None) is None:
            self._fabrikant_name = self.user_table().ensure()
        return self._fabrikant_name

    def trained_networks(self):
        """The context in which dataset builders resolve ``trained_model`` keys (MTL-Oracle's predictor, a teacher
        population) to this table's trained models (``dataset.trained_networks``)."""
        return trained_networks_from(network_loader(self.__class__()))

    def _still_ours(self) -> None:
        """Raise ReservationLost when the running job's reservation is not this worker's any more."""
        if self.reservation is not None:
            self.reservation.check_held()

    def checkpoints(self, key: dict, label: str | None = None) -> CheckpointStore:
        return CheckpointStore(self.checkpoint_table, key, keep=self.checkpoints_kept, guard=self._still_ours,
                               label=label)

    def _checkpoint_store(self, key: dict, label: str | None = None) -> CheckpointStore | None:
        """The pipeline's own checkpoints of the job (None: none kept; nnfabrik's checkpoint template keeps its own)."""
        return self.checkpoints(key, label) if self.checkpoint_table is not None else None

    def live_progress(self, key: dict) -> LiveProgress | None:
        tables = self.live_tables
        if not tables:
            return None
        return LiveProgress(*tables, key, heartbeat_interval=self.heartbeat_interval, guard=self._still_ours,
                            write_interval=self.live_write_interval)

    def job_label(self, key: dict, comments: tuple | None = None, read: bool = True) -> str | None:
        """``dataset / model / trainer / seed n`` as the experiment file labels the job (:attr:`job_labels`), else
        by its entries' ``comments`` (dataset, model, trainer; read from the database when not given, unless
        ``read`` is False: then None), shortened, or their hashes."""
        labels = (self.job_labels or {}).get(job_id(key))
        if labels is None:
            if comments is None and not read:
                return None
            if comments is None:
                row = (self._configs() & key).to_dicts()[0]
                comments = tuple(row[f"{kind}_comment"] for kind in _KINDS)
            labels = " / ".join(
                _shortened(comment) or str(key[f"{kind}_hash"])[:8] for kind, comment in zip(_KINDS, comments))
        return f"{labels} / seed {int(key['seed'])}"

    def _call_back_hook(self):
        """:meth:`call_back` taking only the keywords it accepts, or None where this class keeps the default (which
        does nothing): the trainer calls ``cb()`` after every optimiser step, so the signature is read once."""
        call_back = self.call_back
        if getattr(call_back, "__func__", None) is TrainedModelMethods.call_back:
            return None
        parameters = inspect.signature(call_back).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return call_back

        def accepted(**reported: Any) -> None:
            call_back(**{name: value for name, value in reported.items() if name in parameters})

        return accepted

    def training_callback(self, key: dict, checkpoint_seconds: float | None = None, label: str | None = None,
                          max_epochs: int | None = None) -> TrainingCallback:
        """The ``cb`` handed to the trainer: renews the job's reservation and live heartbeat, writes live progress,
        logs the job's progress lines (``label``: :meth:`job_label`'s; ``max_epochs``: the trainer's, for epoch n/N
        and time left), saves checkpoints, offers the latest, stops on the worker's request, and passes what the
        trainer reports on to :meth:`call_back`."""
        label = label or self.job_label(key)
        store = self._checkpoint_store(key, label)
        live = self.live_progress(key)
        reservation = self.reservation
        stop = self.stop_request
        live_heartbeat = never_fatal(live.heartbeat, "the live heartbeat", stop) if live is not None else None
        progress = EpochLog(label, max_epochs, job_id(key),
                            then=never_fatal(live.epoch, "live progress", stop) if live is not None else None)

        def start(resumed_epoch: int | None) -> None:
            progress.start(resumed_epoch)
            if live is not None:
                live.start(resumed_epoch=resumed_epoch)

        def finish(error: BaseException | None) -> None:
            # a job that stops or fails shows the epochs it trained; one whose reservation is lost writes nothing
            if live is not None and error is not None and not isinstance(error, ReservationLost):
                never_fatal(live.flush, "live progress", stop)()
            progress.finished(error)

        def heartbeat() -> None:
            # the worker's own thread renews the reservation; one it found released stops the job at once
            if reservation is not None and reservation.lost.is_set():
                raise ReservationLost(f"the reservation of {dict(key)} was released: another worker may train it")
            if live is not None:
                live_heartbeat()

        callback = TrainingCallback(
            on_heartbeat=heartbeat,
            on_checkpoint=never_fatal(store.save, "a checkpoint", stop) if store else None,
            resume_from=store.latest() if store else None,
            on_epoch=progress,
            stop=stop,
            on_call=self._call_back_hook(),
            checkpoint_seconds=checkpoint_seconds if store else None,
            on_start=start,
            on_finish=finish,
        )
        start(callback.resumed_epoch)  # (again when training starts: the clock then excludes loading the data)
        return callback

    def call_back(self, uid=None, epoch=None, model=None, info=None) -> None:
        """nnfabrik's hook, called with what the trainer passes to ``cb(...)``; override it to act during training."""

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

    def _allow_recorded_modules(self, key: dict) -> None:
        table = getattr(self, "added_experiment_table", None)
        if table is not None:
            table().allow_recorded_modules(key)

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
        ``include_trainer``, the model then in training mode, as a ``make`` that trains it expects (nnfabrik's
        builds its parts this way); without ``include_dataloader`` the model (and trainer) only. ``seed`` defaults
        to the job's; a ``seed`` in the dataset config still fixes the dataset's (see ``get_all_parts``). The builder
        modules recorded with the added experiments that hold the job are allowed first (a notebook needs no file).
        """
        key = self._single_key(key)
        seed = int(key["seed"] if seed is None else seed)  # DataJoint hands back numpy integers
        self._allow_recorded_modules(key)
        config = self.get_full_config(key, include_state_dict=include_state_dict, include_trainer=include_trainer)
        with self.trained_networks():
            dataloaders, model, *trainer = get_all_parts(**config, seed=seed)
        # with the trainer it is for training (nnfabrik's make builds the model to train this way); else inference
        model.train(include_trainer)
        parts = (dataloaders, model, *trainer) if include_dataloader else (model, *trainer)
        return parts[0] if len(parts) == 1 else parts
