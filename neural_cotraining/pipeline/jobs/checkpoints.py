"""Training checkpoints in the database, so a crashed job resumes instead of starting over.

A checkpoint is the trainer's whole state (model, optimiser, scheduler, loss weighting, early stopping, RNG states)
at the end of an epoch, saved with ``torch.save`` and read back with ``weights_only=True``. It is written outside the
populate transaction (training runs outside it), the last ``keep`` per job are kept, and all of a job's
checkpoints are deleted in the transaction that stores the trained model.
"""

from __future__ import annotations

import logging

from ...common.torch_bytes import from_torch_bytes, to_torch_bytes

__all__ = ["CheckpointStore"]

logger = logging.getLogger(__name__)


class CheckpointStore:
    """Checkpoints of one job (``key``) in the ``Checkpoint`` table."""

    def __init__(self, table: type, key: dict, keep: int = 2, guard=None, label: str | None = None):
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self._table = table
        self._key = dict(key)
        self._keep = keep
        self._guard = guard  # called first inside each write's transaction: raises if the job is not ours any more
        self._label = label or str(self._key)  # the job in log lines

    def save(self, epoch: int, state: dict) -> None:
        data = to_torch_bytes(state)
        table = self._table()
        with table.connection.transaction:
            if self._guard is not None:
                self._guard()
            # delete + insert rather than REPLACE, which PostgreSQL lacks; one worker holds a job at a time
            (table & self._key & {"epoch": int(epoch)}).delete_quick()
            table.insert1({**self._key, "epoch": int(epoch), "state": data})
            epochs = sorted((table & self._key).to_arrays("epoch").tolist())
            for old in epochs[: -self._keep]:
                (table & self._key & {"epoch": old}).delete_quick()
        logger.debug("checkpoint of %s at epoch %d (%.1f MiB)", self._label, epoch, len(data) / 2**20)

    def latest(self) -> dict | None:
        """The newest checkpoint's state, or None."""
        rows = (self._table() & self._key).to_dicts(order_by="epoch DESC", limit=1)
        if not rows:
            return None
        logger.info("resuming %s from the checkpoint of epoch %d", self._label, rows[0]["epoch"])
        return from_torch_bytes(rows[0]["state"])

    def clear(self) -> None:
        (self._table() & self._key).delete_quick()
