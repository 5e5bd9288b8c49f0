"""One co-training job on several processes (torch.distributed data parallelism).

Contract: the trainer config keys ``world_size`` (default 1) and ``backend`` (None: "nccl" on CUDA, "gloo" on CPU)
of ``trainer.cotrainer``. With ``world_size: N > 1`` the calling process becomes rank 0 and starts ranks 1..N-1
(:func:`launch`, spawned processes on this machine, each getting a copy of the model and the dataloaders). Every
rank trains a replica of the model on its shard of each training batch (:func:`shard_split`: the rank's contiguous
slice of every batch the single-process loader would give, so the cyclers see the same number of batches in the
same order on every rank and the global batch stays the loader's batch size); after each round's backward pass the
gradients of every optimised parameter (model, learned loss-weighting parameters, loss parameters) are averaged
over the ranks (:class:`GradientAveraging`), so every rank takes the same optimiser step and the loss-weighting
parameters stay identical. The training metrics are averaged over the ranks; rank 0 evaluates and sends the
validation metrics to the others, so early stopping and schedules decide alike. Only rank 0 calls ``cb``
(heartbeat, per-epoch metrics, checkpoints) and returns the result; a resumed job hands its training state to every
rank. A rank that fails fails the job with that rank's error (:class:`RankFailedError`); the others are stopped.

Why not the ``DistributedDataParallel`` wrapper: a co-training round runs several forward passes (one per task
batch) before one backward pass of the weighted sum, which DDP's once-per-forward gradient reducer does not allow;
averaging the gradients after the backward pass is the same arithmetic (replicated model, sharded data, mean
gradient), without DDP's overlap of communication and computation.

Limits: gradient-based weightings (gradnorm, pcgrad) are refused (their per-task gradients would need averaging
before they are combined); BatchNorm statistics are per rank (rank 0's running statistics are kept); a batch whose
size is not a multiple of ``world_size`` is padded with its own first samples (as ``DistributedSampler`` pads), so
only such batches differ from the single-process run.
"""

from .entry import train_distributed, train_on_rank
from .launch import RankFailedError, launch, rank_context
from .options import check_distributed_options
from .sharding import ShardedBatchSampler, shard_loader, shard_split
from .training import DistributedCoTrainer, GradientAveraging

__all__ = [
    "DistributedCoTrainer",
    "GradientAveraging",
    "RankFailedError",
    "ShardedBatchSampler",
    "check_distributed_options",
    "launch",
    "rank_context",
    "shard_loader",
    "shard_split",
    "train_distributed",
    "train_on_rank",
]
