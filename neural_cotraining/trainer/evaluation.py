"""Evaluating a model on one split: ``{task: {metric: value}}``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping

import torch

from .metrics import ACCUMULATORS, NeuralAccumulator, metric_kind
from .model_calls import ModelCaller
from .per_neuron import neuron_results

__all__ = ["evaluate_split", "move_batch"]


def move_batch(batch, device, task: str, data_key) -> tuple[torch.Tensor, torch.Tensor]:
    """Element 0 (inputs) and element 1 (targets) of a batch, on ``device``."""
    if isinstance(batch, Mapping) or not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(
            f"batches of task {task!r} (data_key {data_key!r}) must be tuples/lists (inputs, targets, ...), "
            f"got {type(batch).__name__}"
        )
    inputs, targets = batch[0], batch[1]
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(f"batch elements 0 and 1 of task {task!r} must be tensors")
    return inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)


@torch.no_grad()
def evaluate_split(
    caller: ModelCaller,
    split: Mapping[str, Mapping],
    losses: Mapping[str, torch.nn.Module],
    device: torch.device,
    per_data_key: bool = False,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    per_neuron: dict | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics of every task of a normalised split (``{task: {data_key: loader}}``), the model in eval mode.

    With ``per_data_key`` each data_key of a task with sessions is also reported on its own, as
    ``f"{metric}/{data_key}"``, next to the pooled metric. A dict passed as ``per_neuron`` is filled with
    ``{task: {data_key: neuron_results(...)}}`` for the neural tasks (see ``per_neuron``).
    """
    was_training = caller.model.training
    caller.model.eval()
    results = {}
    try:
        for task, loaders in split.items():
            loss = losses[task]
            accumulator_class = ACCUMULATORS[metric_kind(loss, loaders.values())]
            accumulators = {}
            for data_key, loader in loaders.items():
                accumulator = accumulators[data_key] = accumulator_class()
                for batch in loader:
                    inputs, targets = move_batch(batch, device, task, data_key)
                    with autocast():
                        output = caller.forward(inputs, task, data_key)
                    output = output.float()
                    accumulator.update(output, targets, loss(output, targets))
                neural = isinstance(accumulator, NeuralAccumulator) and accumulator.sums is not None
                if per_neuron is not None and neural:
                    per_neuron.setdefault(task, {})[data_key] = neuron_results(
                        accumulator.correlations(), loader, data_key
                    )
            metrics = accumulator_class.pooled(list(accumulators.values()))
            if per_data_key and None not in accumulators:
                for data_key, accumulator in accumulators.items():
                    for name, value in accumulator_class.pooled([accumulator]).items():
                        metrics[f"{name}/{data_key}"] = value
            results[task] = metrics
    finally:
        caller.model.train(was_training)
    return results
