"""nnfabrik's checkpoint template: ``TrainedModelChkptBase`` and the checkpoint-table factory ``my_checkpoint``.

The protocol is nnfabrik's (``nnfabrik/templates/checkpoint.py``): a trainer calls
``cb(uid=key, epoch=e, model=model, state={...})`` and the trained-model table's :meth:`call_back` acts on
``state["action"]``:

- ``"save"`` (the default): store ``epoch``, ``state["score"]`` and the state (``net`` = the model's weights) when
  ``epoch % save_every_n == 0``, then keep only the ``keep_last_n`` newest, the ``keep_best_n`` best (by score,
  ``maximize_score``) and the epochs in ``keep_selection``;
- ``"last"`` / ``"best"``: restore the newest / best checkpoint into the ``state`` dict: ``state["epoch"]`` and
  ``state["score"]`` are set, objects in it with ``load_state_dict`` (optimiser, scheduler) load theirs, the rest
  is replaced. Nothing happens when there is no checkpoint.

Checkpoints are written as training goes (outside the populate transaction) and deleted in the transaction that
stores the trained model, unless the trainer config sets ``keep_checkpoints``. Usage, as nnfabrik's notebook::

    Checkpoint = my_checkpoint(tables)          # tables: what activate() returns (or a module of tables)

    @tables.schema
    class TrainedModelChkpt(TrainedModelChkptBase):
        nnfabrik = tables
        checkpoint_table = Checkpoint

Deliberate differences (docs/nnfabrik.md says why): the table is called ``EpochCheckpoint`` (the pipeline's own
``Checkpoint`` has nnfabrik's name) and holds the state as bytes, not an ``attach@minio`` file; anything with a
``state_dict()`` is stored as its state dict and read back with ``weights_only=True`` (types outside torch's
allow-list only if listed in ``checkpoint_safe_globals``), so a checkpoint never runs pickled code; on restore the
model handed to ``call_back`` gets its ``net`` weights back, lists and dicts are refilled in place, and on
``"last"`` torch's random number generator continues where the checkpoint left it, so a resumed run trains as an
uninterrupted one would.
"""

from __future__ import annotations

import io
import logging
import pickle
from typing import Any

import datajoint as dj
import torch

from .base import TrainedModelBase, find_table

__all__ = ["my_checkpoint", "TrainedModelChkptBase", "CheckpointRestoreError", "CHECKPOINT_TABLE_NAME"]

logger = logging.getLogger(__name__)

CHECKPOINT_TABLE_NAME = "EpochCheckpoint"
_RNG_KEY = "_torch_rng_state"  # saved beside the trainer's state; not handed back into it


class CheckpointRestoreError(ValueError):
    """A checkpoint that cannot be read back safely (it holds a type ``weights_only`` refuses)."""


def my_checkpoint(nnfabrik: Any) -> type:
    """nnfabrik's factory: the checkpoint table of the schema in ``nnfabrik`` (the namespace ``activate`` returns,
    a module or a dict with ``schema``, ``Trainer``, ``Dataset``, ``Model``, ``Seed`` and ``Fabrikant``), declared
    there if it is not yet. One row per saved epoch of a job."""
    context = {name: find_table(nnfabrik, name) for name in ("Trainer", "Dataset", "Model", "Seed", "Fabrikant")}
    schema = find_table(nnfabrik, "schema")

    class EpochCheckpoint(dj.Manual):
        definition = """
        # nnfabrik's checkpoints: a job's training state at saved epochs
        -> Trainer
        -> Dataset
        -> Model
        -> Seed
        epoch: int32                  # epoch of creation
        ---
        score: float64                # the trainer's score at that epoch
        state: bytes                  # torch.save bytes; read back with weights_only=True
        -> [nullable] Fabrikant
        trainedmodel_ts = CURRENT_TIMESTAMP: datetime
        """

    return schema(EpochCheckpoint, context=context)


def serialize_checkpoint(state: dict) -> bytes:
    """``torch.save`` bytes of ``state`` with every object that has a ``state_dict()`` replaced by its state dict
    (an optimiser object cannot be read back with ``weights_only``; its state dict can), plus torch's RNG state."""
    plain = {name: value.state_dict() if callable(getattr(value, "state_dict", None)) else value
             for name, value in state.items()}
    plain[_RNG_KEY] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        plain[_RNG_KEY]["cuda"] = torch.cuda.get_rng_state_all()
    buffer = io.BytesIO()
    torch.save(plain, buffer)
    return buffer.getvalue()


def deserialize_checkpoint(data: bytes, allowed: tuple = (), where: str = "a checkpoint") -> dict:
    """``weights_only=True``, with the types in ``allowed`` added to torch's allow-list for this load only."""
    try:
        with torch.serialization.safe_globals(list(allowed)):
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointRestoreError(
            f"{where} holds a type that weights_only refuses ({reason}); if it is safe, list it in "
            "checkpoint_safe_globals"
        ) from None


def _restore_into(state: dict, loaded: dict) -> None:
    """nnfabrik's restore: objects with ``load_state_dict`` load theirs; lists and dicts are refilled in place (so
    a trainer holding the same list sees it); anything else is replaced."""
    for name, value in loaded.items():
        target = state.get(name)
        if callable(getattr(target, "load_state_dict", None)):
            target.load_state_dict(value)
        elif isinstance(target, list) and isinstance(value, list):
            target[:] = value
        elif isinstance(target, dict) and isinstance(value, dict):
            target.clear()
            target.update(value)
        else:
            state[name] = value


def _restore_rng(rng: dict) -> None:
    torch.set_rng_state(rng["cpu"])
    if "cuda" in rng and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])


class TrainedModelChkptBase(TrainedModelBase):
    """nnfabrik's ``TrainedModelChkptBase``: a trained-model table whose trainer saves and restores checkpoints
    through ``call_back`` (see the module docstring). Set ``checkpoint_table`` to :func:`my_checkpoint`'s table."""

    checkpoint_table = None  # the table my_checkpoint(...) returns
    checkpoint_safe_globals: tuple = ()  # types a checkpoint may hold beyond torch's weights_only allow-list

    def _checkpoint_store(self, key: dict, label: str | None = None):
        return None  # this table's trainers checkpoint through call_back, not through the pipeline's own store

    def _job(self, uid: dict) -> dict:
        """The job's key in the checkpoint table (``uid`` may hold more: a lab's table may add key columns)."""
        if self.checkpoint_table is None:
            raise ValueError(f"{type(self).__name__}: set checkpoint_table to the table my_checkpoint(...) returns")
        return {name: uid[name] for name in self.checkpoint_table.primary_key if name != "epoch"}

    def call_back(self, uid=None, epoch=None, model=None, state=None) -> None:
        """nnfabrik's protocol: ``state["action"]`` is "save", "last" or "best"; a call without ``state`` (a
        heartbeat) does nothing here."""
        if state is None:
            return
        maximize_score = state.pop("maximize_score", True)
        action = state.pop("action", "save")
        if action == "save":
            self.save_epoch(epoch, maximize_score, model, state, uid)
        elif action in ("last", "best"):
            self.restore_epoch(action, uid, maximize_score, state, model)
        else:
            raise ValueError(f"call_back: state['action'] must be 'save', 'last' or 'best', not {action!r}")

    def save_epoch(self, epoch: int, maximize_score: bool, model, state: dict, uid: dict) -> None:
        if epoch % state.pop("save_every_n", 1) != 0:
            return
        score = float(state.pop("score", 0.0))
        keep_best_n = state.pop("keep_best_n", 1)
        keep_last_n = state.pop("keep_last_n", 1)
        keep_selection = state.pop("keep_selection", ())
        state["net"] = model.state_dict()
        job = self._job(uid)
        table = self.checkpoint_table()
        data = serialize_checkpoint(state)
        # delete + insert rather than REPLACE (PostgreSQL lacks it): a rerun may save an epoch an earlier run saved
        (table & job & {"epoch": int(epoch)}).delete_quick()
        table.insert1({**job, "epoch": int(epoch), "score": score, "state": data})
        self.filter_table(keep_best_n, keep_last_n, keep_selection, maximize_score, uid)
        logger.info("checkpoint of %s at epoch %d (score %.4g)", job, epoch, score)

    def filter_table(self, keep_best_n: int, keep_last_n: int, keep_selection, maximize_score: bool, uid: dict) -> None:
        """Keep the ``keep_best_n`` best, the ``keep_last_n`` newest and the selected epochs of the job."""
        job = self._job(uid)
        rows = (self.checkpoint_table() & job).proj("score").to_dicts()
        by_score = sorted(rows, key=lambda row: row["score"], reverse=maximize_score)
        by_epoch = sorted(rows, key=lambda row: row["epoch"], reverse=True)
        keep = {int(row["epoch"]) for row in by_score[:keep_best_n] + by_epoch[:keep_last_n]}
        keep |= {int(epoch) for epoch in keep_selection}
        for row in rows:
            if int(row["epoch"]) not in keep:
                (self.checkpoint_table() & job & {"epoch": int(row["epoch"])}).delete_quick()

    def restore_epoch(self, action: str, uid: dict, maximize_score: bool, state: dict, model=None) -> None:
        job = self._job(uid)
        rows = (self.checkpoint_table() & job).proj("score").to_dicts()
        if not rows:
            return
        if action == "last":
            chosen = max(rows, key=lambda row: row["epoch"])
        else:
            chosen = sorted(rows, key=lambda row: row["score"], reverse=maximize_score)[0]
        epoch = int(chosen["epoch"])
        # to_dicts, not to_arrays: numpy's bytes_ drops trailing NUL bytes and corrupts the archive
        data = (self.checkpoint_table() & job & {"epoch": epoch}).to_dicts()[0]["state"]
        loaded = deserialize_checkpoint(data, tuple(self.checkpoint_safe_globals),
                                        where=f"the checkpoint of epoch {epoch} of {job}")
        rng = loaded.pop(_RNG_KEY, None)
        state["epoch"] = epoch
        state["score"] = float(chosen["score"])
        if model is not None and "net" in loaded and "net" not in state:
            model.load_state_dict(loaded["net"])
        _restore_into(state, loaded)
        if action == "last" and rng is not None:
            _restore_rng(rng)
        logger.info("restored the %s checkpoint of %s: epoch %d", action, job, epoch)

    def make_insert(self, key: dict, *result: Any) -> None:
        """The pipeline's insert, and (nnfabrik's make) the job's checkpoints deleted in the same transaction
        unless the trainer config sets ``keep_checkpoints``."""
        super().make_insert(key, *result)
        _, trainer_config = (self.trainer_table() & key).fn_config
        if not trainer_config.get("keep_checkpoints") and self.checkpoint_table is not None:
            (self.checkpoint_table() & self._job(key)).delete_quick()
