"""The co-training loop: rounds of batches across tasks, one optimiser step per round, per-epoch validation,
early stopping with restore of the best weights, checkpoints through ``cb``, final metrics on every split.

Built by ``neural_cotraining.trainer.builders.cotrainer`` from a plain config; usable directly with ready-made parts.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import sys
from collections import defaultdict
from collections.abc import Mapping

import torch
from tqdm.auto import tqdm

from .callbacks import EpochCallback
from .cyclers import Cycler
from .early_stopping import EarlyStopping, flatten_metrics
from .errors import NonFiniteLossError
from .evaluation import evaluate_split, move_batch
from .model_calls import ModelCaller
from .optimization import load_scheduler_state, step_scheduler
from ..common.seeds import derive_training_seed
from .seeding import reseed_loader_generators, seed_globals
from .splits import named_loaders
from .state import capture_rng_states, cpu_state_dict, restore_rng_states, to_plain
from .weighting import LossWeighting

__all__ = ["CoTrainer", "STATE_FORMAT", "shared_parameter_candidates"]

logger = logging.getLogger(__name__)

#: tag of the training-state dicts this version writes and reads
STATE_FORMAT = "neural_cotraining.trainer.CoTrainer/1"


def shared_parameter_candidates(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Where gradient-based weightings look for shared parameters: ``model.shared_parameters()`` if the model has
    it, else the parameters of its ``core`` module (the convention of our multi-task models), else all parameters.
    The weightings keep only those that two or more tasks' losses reach (``weighting.gradients``)."""
    shared = getattr(model, "shared_parameters", None)
    if callable(shared):
        return list(shared())
    core = getattr(model, "core", None)
    if isinstance(core, torch.nn.Module) and any(True for _ in core.parameters()):
        return list(core.parameters())
    return list(model.parameters())


def uid_label(uid) -> str:
    """A short label of the job for log lines: the pipeline passes the job's key (a dict, as nnfabrik does);
    hashes are cut to 8 characters and builder names left out."""
    if not isinstance(uid, Mapping):
        return str(uid)
    return " ".join(
        f"{name[:-5]}={str(value)[:8]}" if name.endswith("_hash") else f"{name}={value}"
        for name, value in uid.items()
        if not name.endswith("_fn")
    )


class CoTrainer:
    """Trains ``model`` on all tasks of ``splits["train"]``; see ``train()``.

    ``splits`` is the normalised dataloader structure ``{split: {task: {data_key: loader}}}`` (data_key None for
    tasks without sessions); ``losses`` holds a ``TaskLoss`` for every task of every split.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        splits: Mapping,
        seed: int,
        *,
        losses: Mapping[str, torch.nn.Module],
        weighting: LossWeighting,
        cycler: Cycler,
        optimizer: torch.optim.Optimizer,
        scheduler,
        early_stopping: EarlyStopping,
        score_metric: str,
        max_epochs: int,
        device: torch.device,
        round_size: int | None = None,
        clip_grad_norm: float | None = None,
        mixed_precision: bool = False,
        checkpoint_every: int = 0,
        verbose: bool = True,
        callback: EpochCallback | None = None,
        uid=None,
        restore_best: bool = True,
    ):
        self.model = model
        self.splits = splits
        self.seed = int(seed)
        self.losses = dict(losses)
        self.weighting = weighting
        self.cycler = cycler
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.early_stopping = early_stopping
        self.score_metric = score_metric
        self.max_epochs = int(max_epochs)
        self.device = torch.device(device)
        self.round_size = round_size
        self.clip_grad_norm = clip_grad_norm
        self.checkpoint_every = int(checkpoint_every)
        self.show_progress = bool(verbose) and sys.stderr.isatty()
        self.callback = callback or EpochCallback(None)
        self.uid = uid
        self.restore_best = bool(restore_best)
        self.caller = ModelCaller(model)
        self.shared_parameters = shared_parameter_candidates(model)
        self._warned_partial_round = False
        self.amp = bool(mixed_precision) and self.device.type == "cuda"
        if mixed_precision and not self.amp:
            logger.warning("mixed_precision needs a CUDA device; training in float32 on %s", self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp else None
        self.epoch = 0
        self.history: list[dict] = []
        self.best_weights: dict | None = None

    # ----------------------------------------------------------------------------------------------- helpers
    def _autocast(self):
        return torch.autocast(device_type="cuda", dtype=torch.float16) if self.amp else contextlib.nullcontext()

    def _seed_for(self, epoch) -> None:
        """Make everything random in this epoch a function of (seed, epoch) only."""
        seed_globals(derive_training_seed(self.seed, "epoch", epoch))
        reseed_loader_generators(named_loaders(self.splits), self.seed, epoch)
        if isinstance(epoch, int):
            self.cycler.set_epoch(epoch)
            self.weighting.reseed(derive_training_seed(self.seed, "weighting", epoch))

    def _weights_copy(self) -> dict:
        return {
            "model": cpu_state_dict(self.model),
            "losses": {task: cpu_state_dict(loss) for task, loss in self.losses.items()},
        }

    def _load_weights(self, weights: Mapping) -> None:
        self.model.load_state_dict(weights["model"])
        for task, loss in self.losses.items():
            loss.load_state_dict(weights["losses"][task])

    def evaluate(self, split: str, per_data_key: bool = False, per_neuron: dict | None = None) -> dict:
        return evaluate_split(
            self.caller, self.splits[split], self.losses, self.device, per_data_key, self._autocast, per_neuron
        )

    # ---------------------------------------------------------------------------------------------- training
    def _check_finite(self, epoch: int, batch_losses: Mapping, data_keys: Mapping, regularizers: Mapping) -> None:
        values = [loss.detach() for losses in batch_losses.values() for loss in losses]
        values += [value.detach() for values_ in regularizers.values() for value in values_]
        if bool(torch.isfinite(torch.stack(values)).all()):  # one device sync per round
            return
        for what, source in (("loss", batch_losses), ("regularizer", regularizers)):
            for task, values_ in source.items():
                for data_key, value in zip(data_keys[task], values_):
                    value = float(value.detach())
                    if not math.isfinite(value):
                        raise NonFiniteLossError(
                            f"non-finite training {what} ({value}) for task {task!r} (data_key {data_key!r}) in "
                            f"epoch {epoch}; training stopped so that no broken model is stored"
                        )

    def _train_round(self, epoch: int, items, epoch_losses, epoch_regularizers) -> None:
        batch_losses, regularizers, data_keys = defaultdict(list), defaultdict(list), defaultdict(list)
        for task, data_key, batch in items:
            inputs, targets = move_batch(batch, self.device, task, data_key)
            with self._autocast():
                output = self.caller.forward(inputs, task, data_key)
            batch_losses[task].append(self.losses[task](output.float(), targets))
            data_keys[task].append(data_key)
            regularizer = self.caller.regularizer(task, data_key, self.device)
            if regularizer is not None:
                regularizers[task].append(regularizer.float().reshape(()))
        self._check_finite(epoch, batch_losses, data_keys, regularizers)
        # a task's round loss is the mean over its batches in the round, so weights compare like with like
        task_losses = {task: torch.stack(losses).mean() for task, losses in batch_losses.items()}
        extra = None
        if regularizers:
            extra = torch.stack([torch.stack(values).mean() for values in regularizers.values()]).sum()
        partial_round = len(task_losses) < len(self.weighting.tasks)
        if self.weighting.gradient_based and partial_round and not self._warned_partial_round:
            self._warned_partial_round = True
            logger.warning(
                "loss weighting %r compares per-task gradients within a round, but a round of epoch %d holds only "
                "task(s) %s of %s; use the 'ratio' or 'max_size_cycle' cycler (or a round_size covering every task)",
                self.weighting.name, epoch, sorted(task_losses), list(self.weighting.tasks),
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.weighting.backward(
            task_losses, self.shared_parameters, extra_loss=extra, scale=self.scaler.scale if self.scaler else None
        )
        if self.clip_grad_norm is not None:
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.weighting.after_step()
        for task, losses in batch_losses.items():
            epoch_losses[task].extend(loss.detach() for loss in losses)
        for task, values in regularizers.items():
            epoch_regularizers[task].extend(value.detach() for value in values)

    def _train_epoch(self, epoch: int) -> dict[str, dict[str, float]]:
        self.model.train()
        epoch_losses, epoch_regularizers = defaultdict(list), defaultdict(list)
        with tqdm(total=len(self.cycler), desc=f"epoch {epoch}", disable=not self.show_progress, leave=False) as bar:
            for items in self.cycler.rounds(self.round_size):
                self._train_round(epoch, items, epoch_losses, epoch_regularizers)
                bar.update(len(items))
                self.callback.heartbeat()
        report = self.weighting.epoch_report()
        metrics = {}
        for task in self.splits["train"]:
            entry = {}
            if epoch_losses[task]:
                entry["loss"] = float(torch.stack(epoch_losses[task]).mean())
            if epoch_regularizers[task]:
                entry["regularizer"] = float(torch.stack(epoch_regularizers[task]).mean())
            entry.update(report.get(task, {}))
            metrics[task] = entry
        metrics = self._reduce_train_metrics(metrics)
        # after the report: the report shows the weights used in this epoch, epoch_end sets the next epoch's
        self.weighting.epoch_end({task: entry["loss"] for task, entry in metrics.items() if "loss" in entry})
        return metrics

    def _reduce_train_metrics(self, metrics: dict) -> dict:
        """The epoch's training metrics as reported; on several processes, combined over them (``distributed``)."""
        return metrics

    def _log_epoch(self, epoch: int, metrics: Mapping) -> None:
        flat = flatten_metrics(metrics)
        summary = ", ".join(f"{key}={value:.4g}" for key, value in flat.items() if "/loss_weight" not in key)
        prefix = f"[{uid_label(self.uid)}] " if self.uid is not None else ""
        # every metric of every split: detail (the pipeline logs one short line per epoch of a job)
        logger.debug("%sepoch %d/%d: %s", prefix, epoch, self.max_epochs, summary)

    def train(self) -> tuple[float, dict, dict[str, torch.Tensor]]:
        """Train until ``max_epochs`` or early stopping; returns ``(score, output, model_state)``.

        ``score`` is the validation value of ``score_metric`` at the best epoch; ``model_state`` the best weights on
        CPU; ``output`` a JSON-able dict (see the package docstring).
        """
        resume = self.callback.resume_state()
        if resume is not None:
            self.load_state_dict(resume)
            logger.debug("resuming after epoch %d", self.epoch)
        while self.epoch < self.max_epochs and not self.early_stopping.should_stop:
            epoch = self.epoch + 1
            self._seed_for(epoch)
            metrics = {"train": self._train_epoch(epoch), "validation": self.evaluate("validation")}
            flat = flatten_metrics(metrics)
            if self.early_stopping.update(epoch, flat) and self.restore_best:
                self.best_weights = self._weights_copy()
            step_scheduler(self.scheduler, flat[self.score_metric])
            self.history.append({"epoch": epoch, "metrics": metrics})
            self.epoch = epoch
            self._log_epoch(epoch, metrics)
            checkpoint = self.checkpoint_every > 0 and epoch % self.checkpoint_every == 0
            self.callback.epoch_end(epoch, copy.deepcopy(metrics), self.state_dict, checkpoint, self._best_score())
        return self._finish()

    def _best_score(self) -> float | None:
        """``score_metric`` at the best epoch so far (None before any epoch improved)."""
        best = self.early_stopping.best_epoch
        metrics = next((entry["metrics"] for entry in self.history if entry["epoch"] == best), None)
        return flatten_metrics(metrics)[self.score_metric] if metrics else None

    def _finish(self) -> tuple[float, dict, dict[str, torch.Tensor]]:
        best_epoch = self.early_stopping.best_epoch
        if not self.restore_best:
            best_epoch = self.epoch  # the last epoch's weights are the result
        elif self.best_weights is not None:
            self._load_weights(self.best_weights)
        else:
            logger.warning("no epoch improved the monitored metrics (NaN?); keeping the last weights")
            best_epoch = self.epoch
        self._seed_for("final")
        per_neuron = {}  # the test split's figures per neuron, keyed by session and unit id
        final = {
            split: self.evaluate(split, per_data_key=True, per_neuron=per_neuron if split == "test" else None)
            for split in self.splits
        }
        best = next((entry["metrics"] for entry in self.history if entry["epoch"] == best_epoch), None)
        score = flatten_metrics(best)[self.score_metric] if best else float("nan")
        if best:
            loss_weights = {
                task: values["loss_weight"] for task, values in best["train"].items() if "loss_weight" in values
            }
        else:
            loss_weights = self.weighting.weights()
        output = {
            "best_epoch": int(best_epoch),
            "epochs_run": int(self.epoch),
            "stopped_early": bool(self.early_stopping.should_stop and self.epoch < self.max_epochs),
            "score_metric": self.score_metric,
            "final": final,
            "history": copy.deepcopy(self.history),
            "loss_weights": loss_weights,
            "per_neuron": per_neuron,
        }
        logger.debug("best epoch %s of %d: %s = %.4g", best_epoch, self.epoch, self.score_metric, score)
        return float(score), output, cpu_state_dict(self.model)

    # ------------------------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """The whole training state after ``self.epoch``; only types ``torch.load(weights_only=True)`` accepts."""
        return to_plain(
            {
                "format": STATE_FORMAT,
                "epoch": self.epoch,
                "seed": self.seed,
                "model": self.model.state_dict(),
                "losses": {task: loss.state_dict() for task, loss in self.losses.items()},
                "weighting": self.weighting.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "grad_scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "early_stopping": self.early_stopping.state_dict(),
                "best_weights": self.best_weights,
                "history": self.history,
                "rng": capture_rng_states(self.cycler.generator, named_loaders(self.splits)),
            }
        )

    def load_state_dict(self, state: Mapping) -> None:
        """Continue from a ``state_dict()`` (the same config and seed are required for an exact resume)."""
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            found = state.get("format") if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"not a training state of this trainer: format {found!r}, expected {STATE_FORMAT!r}")
        if int(state["seed"]) != self.seed:
            raise ValueError(
                f"the training state comes from a run with seed {state['seed']}, this run has seed {self.seed}; "
                "resuming would not reproduce the interrupted run"
            )
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise ValueError("the training state and this run disagree on whether an lr_scheduler is used")
        state = to_plain(state)  # private copies: the caller may reuse its dict
        self.model.load_state_dict(state["model"])
        for task, loss in self.losses.items():
            loss.load_state_dict(state["losses"][task])
        self.weighting.load_state_dict(state["weighting"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            load_scheduler_state(self.scheduler, state["scheduler"])
        if self.scaler is not None and state.get("grad_scaler"):
            self.scaler.load_state_dict(state["grad_scaler"])
        self.early_stopping.load_state_dict(state["early_stopping"])
        self.best_weights = state["best_weights"]
        self.history = list(state["history"])
        self.epoch = int(state["epoch"])
        if state.get("rng") is not None:  # optional: every epoch reseeds from (seed, epoch) anyway
            restore_rng_states(state["rng"], self.cycler.generator, named_loaders(self.splits))
