"""Adapting the ``cb`` argument of the nnfabrik trainer contract.

- ``cb=None``: nothing is called.
- A plain heartbeat ``cb()`` (what nnfabrik passes): called once per epoch, with no arguments.
- A rich callback, i.e. one accepting the keywords ``epoch`` and ``metrics`` (or ``**kwargs``): after each epoch
  ``cb(epoch=e, metrics=M)`` with ``M = {split: {task: {metric: float}}}``; at every ``checkpoint_every``-th epoch,
  if it also accepts ``state``, ``cb(epoch=e, metrics=M, state=S)`` with the whole training state S (see
  ``CoTrainer.state_dict``), loadable with ``torch.load(weights_only=True)``.
- Within an epoch, a rich callback that can be called without arguments is also called as ``cb()`` after every optimiser step (a heartbeat it may
  throttle); a plain heartbeat only once per epoch.
- Resume: if ``cb`` has a callable attribute ``resume_state``, ``cb.resume_state()`` is called once before training;
  a dict it returns is such an S and training continues from it.
- A checkpoint on request: if ``cb`` has a callable attribute ``wants_state`` and ``cb.wants_state()`` is true at the
  end of an epoch, the state is passed then as at a checkpoint epoch (e.g. a worker asked to stop saves one).
- If ``cb`` takes the keyword ``score`` (or ``**kwargs``), each epoch's call also gets ``score=``: the score (the
  monitored ``score_metric``) of the best epoch so far, for live progress.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping

__all__ = ["EpochCallback"]

logger = logging.getLogger(__name__)


def _accepted(cb) -> tuple[bool, set[str]]:
    try:
        parameters = inspect.signature(cb).parameters.values()
    except (TypeError, ValueError):
        return False, set()
    var_keyword = any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)
    names = {
        parameter.name
        for parameter in parameters
        if parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    return var_keyword, names


def _callable_without_arguments(cb) -> bool:
    try:
        inspect.signature(cb).bind()
    except TypeError:
        return False
    return True


class EpochCallback:
    """Calls ``cb`` in the form it accepts; see the module docstring."""

    def __init__(self, cb: Callable | None):
        if cb is not None and not callable(cb):
            raise TypeError(f"cb must be callable or None, got {type(cb).__name__}")
        self.cb = cb
        var_keyword, names = _accepted(cb) if cb is not None else (False, set())
        self.rich = cb is not None and (var_keyword or {"epoch", "metrics"} <= names)
        self.accepts_state = self.rich and (var_keyword or "state" in names)
        self.accepts_score = self.rich and (var_keyword or "score" in names)
        self.beats_between_epochs = self.rich and _callable_without_arguments(cb)
        if self.rich and not self.accepts_state:
            logger.info("cb takes epoch and metrics but no state: checkpoints will not be passed to it")

    def resume_state(self) -> dict | None:
        resume = getattr(self.cb, "resume_state", None)
        if not callable(resume):
            return None
        state = resume()
        if state is not None and not isinstance(state, Mapping):
            raise TypeError(f"cb.resume_state() must return a training-state dict or None, got {type(state).__name__}")
        return state

    def heartbeat(self) -> None:
        """Called after every optimiser step: a rich ``cb`` that can be called without arguments gets ``cb()`` (it throttles itself, e.g. to keep a job's
        reservation fresh during long epochs); a plain nnfabrik heartbeat is left at once per epoch."""
        if self.beats_between_epochs:
            self.cb()

    def _wants_state(self) -> bool:
        wants = getattr(self.cb, "wants_state", None)
        return callable(wants) and bool(wants())

    def epoch_end(
        self, epoch: int, metrics: dict, state_fn: Callable[[], dict], checkpoint: bool, score: float | None = None
    ) -> None:
        """Report an epoch; ``state_fn`` builds the state only at a ``checkpoint`` epoch (or when ``cb`` asks for it)
        and only if ``cb`` takes it."""
        if self.cb is None:
            return
        if not self.rich:
            self.cb()
            return
        extra = {"score": score} if self.accepts_score else {}
        if self.accepts_state and (checkpoint or self._wants_state()):
            extra["state"] = state_fn()
        self.cb(epoch=epoch, metrics=metrics, **extra)
