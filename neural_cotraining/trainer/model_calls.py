"""Calling a model the way it accepts: ``model(x, task=..., data_key=...)`` for multi-task models, ``model(x)`` for
plain single-task nnfabrik models. Inspected once, not per batch."""

from __future__ import annotations

import inspect

import torch
from torch import nn

__all__ = ["ModelCaller", "accepted_keywords"]

ROUTING_KEYWORDS = ("task", "data_key")


def accepted_keywords(function, candidates=ROUTING_KEYWORDS) -> tuple[str, ...]:
    """Which of ``candidates`` can be passed to ``function`` as keywords (all of them if it takes ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return ()
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return tuple(candidates)
    names = {
        parameter.name
        for parameter in parameters
        if parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    return tuple(name for name in candidates if name in names)


class ModelCaller:
    """Routes a batch to the model's task head and fetches the model's regulariser, if it has one."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.forward_keywords = accepted_keywords(model.forward)
        regularizer = getattr(model, "regularizer", None)
        self.regularizer_function = regularizer if callable(regularizer) else None
        self.regularizer_keywords = accepted_keywords(regularizer) if self.regularizer_function else ()

    def _routing(self, keywords, task, data_key) -> dict:
        values = {"task": task, "data_key": data_key}
        return {name: values[name] for name in keywords}

    def forward(self, inputs: torch.Tensor, task: str, data_key) -> torch.Tensor:
        output = self.model(inputs, **self._routing(self.forward_keywords, task, data_key))
        # models that also return auxiliary outputs put the prediction first
        if isinstance(output, (tuple, list)):
            output = output[0]
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"the model returned {type(output).__name__} for task {task!r}; expected a tensor")
        return output

    def regularizer(self, task: str, data_key, device) -> torch.Tensor | None:
        """The model's regularisation term for this task/data_key, or None if the model has no regulariser."""
        if self.regularizer_function is None:
            return None
        value = self.regularizer_function(**self._routing(self.regularizer_keywords, task, data_key))
        if isinstance(value, torch.Tensor):
            return value
        return torch.as_tensor(value, dtype=torch.float32, device=device)
