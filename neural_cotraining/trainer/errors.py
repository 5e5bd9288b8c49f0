"""Exceptions the trainer raises on purpose (so callers such as the pipeline can tell them apart)."""

__all__ = ["NonFiniteLossError"]


class NonFiniteLossError(ValueError):
    """A training loss became NaN or infinite.

    Raised instead of continuing, so that no broken model is ever stored. The message names the task, the data_key
    (neural session) and the epoch.
    """
