"""The reference for the trainer-overhead benchmarks: a hand-written PyTorch co-training loop.

It does what the co-trainer does for ``cycler="ratio"`` with k=1 and fixed loss weights, written the way one
would by hand: walk the image loader; before each image batch take one neural batch, the sessions in turn, a
session's loader restarting when it runs out; objective = sum of weighted task losses (cross-entropy, full Poisson
NLL) plus the readout's regulariser; one Adam step per (neural, image) pair. No validation.

To see the same batches in the same order (and sample the Gaussian readouts identically) it reseeds the global RNG
and the training loaders' generators at every epoch with the seeds the co-trainer derives from (seed, epoch); that
borrows one small function (``derive_training_seed``, a SHA-256 of a few characters per loader and epoch) and nothing else
from the trainer.
"""

from __future__ import annotations

import contextlib
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from neural_cotraining.common.names import IMAGE_CLASSIFICATION, NEURAL
from neural_cotraining.common.seeds import derive_training_seed

IMAGE_TASK, NEURAL_TASK = IMAGE_CLASSIFICATION, NEURAL
RATE_EPS = 1e-8  # as in the package's Poisson loss


def poisson_nll(rate: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """Full Poisson negative log-likelihood, mean over trials and neurons."""
    return (rate - responses * torch.log(rate + RATE_EPS) + torch.lgamma(responses + 1)).mean()


def reseed(train: dict, seed: int, epoch: int) -> None:
    """The co-trainer's per-epoch seeding, by hand: global generators, then every training loader's generator."""
    epoch_seed = derive_training_seed(seed, "epoch", epoch)
    torch.manual_seed(epoch_seed)
    np.random.seed(epoch_seed % 2**32)
    random.seed(epoch_seed)
    for task, loaders in train.items():
        items = loaders.items() if isinstance(loaders, dict) else [(None, loaders)]
        for data_key, loader in items:
            name = f"train/{task}" if data_key is None else f"train/{task}/{data_key}"
            loader.generator.manual_seed(derive_training_seed(seed, "loader", name, epoch))


def train_plain(
    model: torch.nn.Module,
    dataloaders: dict,
    seed: int,
    epochs: int,
    weights: dict,
    lr: float,
    device: str = "cpu",
    mixed_precision: bool = False,
) -> dict:
    """Train ``epochs`` epochs; returns ``{"seconds", "cpu_seconds", "samples", "steps", "train_loss"}`` (loss: the
    last epoch's mean per task). Timed from optimiser creation to the end of the last step (CUDA synchronised);
    ``cpu_seconds`` is this process's CPU time over the same span."""
    device = torch.device(device)
    train = dataloaders["train"]
    image_loader = train[IMAGE_TASK]
    sessions = list(train[NEURAL_TASK])
    amp = mixed_precision and device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if amp else contextlib.nullcontext
    scaler = torch.amp.GradScaler("cuda") if amp else None

    start, cpu_start = time.perf_counter(), time.process_time()
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    samples = steps = 0
    losses = {IMAGE_TASK: [], NEURAL_TASK: []}
    for epoch in range(1, epochs + 1):
        reseed(train, seed, epoch)
        model.train()
        neural_iterators = {}
        losses = {IMAGE_TASK: [], NEURAL_TASK: []}
        for index, (images, labels, *_) in enumerate(image_loader):
            session = sessions[index % len(sessions)]
            try:
                neural_batch = next(neural_iterators[session])
            except (KeyError, StopIteration):
                neural_iterators[session] = iter(train[NEURAL_TASK][session])
                neural_batch = next(neural_iterators[session])
            stimuli, responses = neural_batch[0].to(device), neural_batch[1].to(device)
            images, labels = images.to(device), labels.to(device)

            with autocast():
                rates = model(stimuli, task=NEURAL_TASK, data_key=session)
            neural_loss = poisson_nll(rates.float(), responses)
            regularizer = model.regularizer(task=NEURAL_TASK, data_key=session)
            with autocast():
                logits = model(images, task=IMAGE_TASK)
            image_loss = F.cross_entropy(logits.float(), labels)
            objective = weights[NEURAL_TASK] * neural_loss + weights[IMAGE_TASK] * image_loss + regularizer

            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(objective).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                objective.backward()
                optimizer.step()
            losses[NEURAL_TASK].append(neural_loss.detach())
            losses[IMAGE_TASK].append(image_loss.detach())
            samples += len(stimuli) + len(images)
            steps += 1
    train_loss = {task: float(torch.stack(values).mean()) for task, values in losses.items() if values}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu_start,
            "samples": samples, "steps": steps, "train_loss": train_loss}
