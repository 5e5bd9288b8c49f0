"""The co-trainer on one rank of several: averaged gradients, averaged training metrics, rank 0's validation."""

from __future__ import annotations

import logging

import torch
import torch.distributed as dist

from ..cotrainer import CoTrainer

__all__ = ["DistributedCoTrainer", "GradientAveraging"]

logger = logging.getLogger(__name__)


class GradientAveraging:
    """Wraps a loss weighting: after its backward pass, the gradients of every parameter of ``optimizer`` are
    averaged over the ranks (one all-reduce of all of them), so each rank steps alike. Everything else is the
    wrapped weighting's."""

    def __init__(self, weighting, optimizer: torch.optim.Optimizer, world_size: int, group=None):
        self._weighting = weighting
        self._parameters = [p for group_ in optimizer.param_groups for p in group_["params"]]
        self._world_size = world_size
        self._group = group

    def __getattr__(self, name):
        return getattr(self._weighting, name)

    def backward(self, *args, **kwargs):
        result = self._weighting.backward(*args, **kwargs)
        # every rank runs the same rounds over the same tasks, so the same parameters have gradients everywhere
        grads = [p.grad for p in self._parameters if p.grad is not None]
        if grads:
            flat = torch.cat([g.reshape(-1) for g in grads])
            dist.all_reduce(flat, group=self._group)
            flat /= self._world_size
            offset = 0
            for grad in grads:
                grad.copy_(flat[offset:offset + grad.numel()].view_as(grad))
                offset += grad.numel()
        return result


class DistributedCoTrainer(CoTrainer):
    """A ``CoTrainer`` on rank ``rank`` of ``world_size``; its training loaders are this rank's shards and its
    weighting is wrapped in :class:`GradientAveraging`. Rank 0 alone reports through the callback and returns the
    result; the others return ``(nan, {}, {})``."""

    def __init__(self, *args, rank: int, world_size: int, group=None, evaluation_splits=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.evaluation_splits = evaluation_splits or self.splits  # the unsharded loaders, for the final metrics
        self.rank = rank
        self.world_size = world_size
        self.group = group
        self._share_validation = True
        # identical replicas from the start (they are copies already; this guards against builders that draw
        # random numbers per process)
        for tensor in list(self.model.parameters()) + list(self.model.buffers()):
            dist.broadcast(tensor.data, src=0, group=group)

    def evaluate(self, split: str, per_data_key: bool = False, per_neuron: dict | None = None) -> dict:
        """During training: rank 0 evaluates, the others receive its metrics (every rank must take the same early
        stopping and scheduler decisions). In the final evaluation: rank 0 only."""
        if not self._share_validation:
            return super().evaluate(split, per_data_key, per_neuron)
        metrics = [super().evaluate(split, per_data_key, per_neuron) if self.rank == 0 else None]
        dist.broadcast_object_list(metrics, src=0, group=self.group)
        return metrics[0]

    def _reduce_train_metrics(self, metrics: dict) -> dict:
        """The ranks' mean training losses and regularizers, averaged (equal shards: the global mean)."""
        places = [(task, name) for task, entry in sorted(metrics.items()) for name in ("loss", "regularizer")
                  if name in entry]
        if not places:
            return metrics
        values = torch.tensor([metrics[task][name] for task, name in places], dtype=torch.float64)
        dist.all_reduce(values, group=self.group)
        values /= self.world_size
        for (task, name), value in zip(places, values.tolist()):
            metrics[task][name] = value
        return metrics

    def _finish(self):
        self._share_validation = False
        if self.rank != 0:
            return float("nan"), {}, {}
        self.splits = self.evaluation_splits  # final metrics on every split in full, training data included
        return super()._finish()
