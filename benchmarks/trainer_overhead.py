"""Co-trainer vs. a hand-written PyTorch loop doing the same work: training samples per second, CPU, one thread.

Workload: the demo's co-training data (digits at 16x16 + two sessions of 24 simulated neurons) and model
(``multitask_model``, 2-block VGG core, Gaussian readouts), batch size 64, ratio cycler k=1 (one neural batch per
image batch, sessions in turn), fixed loss weights, cross-entropy + full Poisson NLL + readout regulariser, Adam,
one step per round. Both variants start from identical weights and see identical batches; a 1-epoch run of each
checks that they end with the same weights.

Timed part: ``cotrainer(...)`` from the call to its return, minus the time spent in ``CoTrainer.evaluate`` (per-epoch
validation and the final evaluation, which the plain loop does not do); the plain loop from optimiser creation to its
last step. Variants alternate, in rotating order; the figure is the median of the repeats.

``python -m benchmarks.trainer_overhead [--quick] [--profile]``
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import (
    DEMO_MODEL,
    DEMO_NEURAL,
    LoadMonitor,
    Stopwatch,
    interleaved_orders,
    parse_args,
    summary,
    write_result,
)
from benchmarks.plain_loop import IMAGE_TASK, NEURAL_TASK, train_plain

NAME = "trainer_overhead"
TARGET_RATIO = 0.97
SEED = 1
LR = 1e-3
WEIGHTS = {IMAGE_TASK: 1.0, NEURAL_TASK: 0.5}


def build_data(quick: bool) -> dict:
    """Train and validation loaders of the demo's co-training dataset (no robustness sets: they are never trained
    on, and building them only slows the set-up)."""
    from neural_cotraining.dataset.builders import cotraining_loaders

    neural = dict(DEMO_NEURAL)
    if quick:
        neural.update(n_neurons=8, n_train_images=120)
    loaders = cotraining_loaders(
        seed=SEED, image={"image_size": 16, "noise_levels": [], "corruptions": []}, neural=neural
    )
    if quick:  # a quarter of the digits keeps the smoke run short
        from torch.utils.data import DataLoader, Subset

        image = loaders["train"][IMAGE_TASK]
        subset = Subset(image.dataset, range(len(image.dataset) // 4))
        loaders["train"][IMAGE_TASK] = DataLoader(subset, batch_size=image.batch_size, shuffle=True,
                                                  generator=torch.Generator())
    return {"train": loaders["train"], "validation": loaders["validation"]}


def build_model(dataloaders: dict) -> torch.nn.Module:
    from neural_cotraining.models.builders import multitask_model

    return multitask_model(dataloaders, seed=SEED, **DEMO_MODEL)


class ComputeAccounting:
    """Adds up the time of the model's forward passes, the backward passes and the Adam steps, which both loops do
    identically. What is left of a run's time -- data loading, losses, glue and, for the co-trainer, its own
    bookkeeping -- is compared run by run, so the trainer's overhead is measured inside each run instead of as a
    small difference of two large, load-dependent totals. Forward passes in the co-trainer's validation are not
    counted (``paused``). The wrappers cost the same in both loops (same number of calls)."""

    def __init__(self):
        self.compute_seconds = 0.0
        self.paused = False

    def timed(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if self.paused:
                return function(*args, **kwargs)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.compute_seconds += time.perf_counter() - start

        return wrapper

    @contextlib.contextmanager
    def attached(self, model: torch.nn.Module):
        backward, step = torch.Tensor.backward, torch.optim.Adam.step
        model.forward = self.timed(model.forward)  # an instance attribute: this model only
        torch.Tensor.backward = self.timed(backward)
        torch.optim.Adam.step = self.timed(step)
        try:
            yield self
        finally:
            torch.Tensor.backward, torch.optim.Adam.step = backward, step
            del model.forward


def train_ours(model, dataloaders, epochs: int, device: str, mixed_precision: bool,
               accounting: ComputeAccounting | None = None) -> dict:
    from neural_cotraining.trainer.builders import cotrainer
    from neural_cotraining.trainer.cotrainer import CoTrainer

    watch = Stopwatch()
    evaluate = CoTrainer.evaluate

    @functools.wraps(evaluate)
    def timed_evaluate(self, *args, **kwargs):
        if accounting is not None:
            accounting.paused = True
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            return evaluate(self, *args, **kwargs)
        finally:
            watch.add("evaluate", time.perf_counter() - start, time.process_time() - cpu_start)
            if accounting is not None:
                accounting.paused = False

    CoTrainer.evaluate = timed_evaluate
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        _, output, state = cotrainer(
            model, dataloaders, seed=SEED, max_epochs=epochs, patience=None, lr=LR, loss_weighting="fixed",
            loss_weighting_options={"weights": WEIGHTS}, device=device, mixed_precision=mixed_precision,
            verbose=False,
        )
        total, cpu_total = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        CoTrainer.evaluate = evaluate
    evaluate_seconds = watch.seconds.get("evaluate", 0.0)
    if output["epochs_run"] != epochs:
        raise RuntimeError(f"the co-trainer ran {output['epochs_run']} epochs, not {epochs}")
    train_loss = {task: values["loss"] for task, values in output["history"][-1]["metrics"]["train"].items()}
    return {"seconds": total - evaluate_seconds,
            "cpu_seconds": cpu_total - watch.cpu_seconds.get("evaluate", 0.0),
            "total_seconds": total, "evaluate_seconds": evaluate_seconds, "state": state, "train_loss": train_loss}


def run_variant(variant: str, dataloaders, epochs: int, device: str, mixed_precision: bool, account: bool) -> dict:
    """One timed run of ``variant`` on a freshly built model; with ``account``, also its compute/other split."""
    model = build_model(dataloaders)
    accounting = ComputeAccounting()
    with accounting.attached(model) if account else contextlib.nullcontext():
        if variant == "cotrainer":
            result = train_ours(model, dataloaders, epochs, device, mixed_precision, accounting)
        else:
            result = train_plain(model, dataloaders, SEED, epochs, WEIGHTS, LR, device, mixed_precision)
    if account:
        result["compute_seconds"] = accounting.compute_seconds
        result["other_seconds"] = result["seconds"] - accounting.compute_seconds
    return result


def equivalence_check(dataloaders, device: str) -> dict:
    """One epoch of each from the same initial weights: the largest weight difference and the training losses."""
    ours_model, plain_model = build_model(dataloaders), build_model(dataloaders)
    ours = train_ours(ours_model, dataloaders, 1, device, False)
    plain = train_plain(plain_model, dataloaders, SEED, 1, WEIGHTS, LR, device)
    plain_state = plain_model.state_dict()
    difference = max(
        float((ours["state"][name].float() - plain_state[name].detach().cpu().float()).abs().max())
        for name in plain_state
        if plain_state[name].is_floating_point()
    )
    return {
        "max_abs_weight_difference_after_1_epoch": difference,
        "train_loss_ours": ours["train_loss"],
        "train_loss_plain": plain["train_loss"],
        "same_work": difference < 1e-3,
    }


def compare_throughput(device: str, mixed_precision: bool, epochs: int, repeats: int, dataloaders=None,
                       quick: bool = False, account: bool | None = None) -> dict:
    """Interleaved repeats of both variants; samples/s of each and the ratio ours/plain. ``account`` (default: on
    CPU only -- CUDA runs asynchronously, so wrapped calls would not time the kernels) adds the accounted overhead
    (see ``ComputeAccounting``)."""
    if account is None:
        account = torch.device(device).type == "cpu"
    dataloaders = dataloaders or build_data(quick)
    # warm-up (allocator, dispatcher, CUDA context and kernels): one short untimed run of each
    for variant in ("cotrainer", "plain"):
        run_variant(variant, dataloaders, 1, device, mixed_precision, account)

    seconds = {"cotrainer": [], "plain": []}
    cpu_seconds = {"cotrainer": [], "plain": []}
    other_seconds = {"cotrainer": [], "plain": []}
    samples = None
    for _, order in interleaved_orders(["cotrainer", "plain"], repeats):
        for variant in order:
            result = run_variant(variant, dataloaders, epochs, device, mixed_precision, account)
            if variant == "plain":
                samples = result["samples"]  # identical batches, so the co-trainer trains on as many
            seconds[variant].append(result["seconds"])
            cpu_seconds[variant].append(result["cpu_seconds"])
            if account:
                other_seconds[variant].append(result["other_seconds"])
    rates = {variant: [samples / s for s in values] for variant, values in seconds.items()}
    cpu_rates = {variant: [samples / s for s in values] for variant, values in cpu_seconds.items()}
    paired = [ours / plain for ours, plain in zip(rates["cotrainer"], rates["plain"])]
    ratio = statistics.median(rates["cotrainer"]) / statistics.median(rates["plain"])
    cpu_ratio = statistics.median(cpu_rates["cotrainer"]) / statistics.median(cpu_rates["plain"])
    result = {
        "device": device,
        "mixed_precision": mixed_precision,
        "epochs_per_repeat": epochs,
        "repeats": repeats,
        "samples_per_repeat": samples,
        "samples_per_second": {variant: summary(values, 1) for variant, values in rates.items()},
        "seconds_per_repeat": {variant: summary(values, 3) for variant, values in seconds.items()},
        "ratio_ours_over_plain": round(ratio, 4),
        "ratio_per_pair": summary(paired, 4),
        # CPU time of this (single-threaded) process: blind to time spent waiting for a core that other
        # processes hold, so steadier than wall time on a shared machine
        "samples_per_cpu_second": {variant: summary(values, 1) for variant, values in cpu_rates.items()},
        "ratio_ours_over_plain_cpu_time": round(cpu_ratio, 4),
    }
    if account:
        plain_seconds = statistics.median(seconds["plain"])
        extra = [(ours - plain) / total for ours, plain, total in
                 zip(other_seconds["cotrainer"], other_seconds["plain"], seconds["plain"])]
        overhead = (statistics.median(other_seconds["cotrainer"]) - statistics.median(other_seconds["plain"]))
        result.update({
            # seconds per repeat outside forward/backward/Adam step, and the co-trainer's extra time from them
            "non_compute_seconds": {variant: summary(values, 4) for variant, values in other_seconds.items()},
            "overhead_percent_accounted": round(100 * overhead / plain_seconds, 2),
            "overhead_percent_accounted_per_pair": summary([100 * value for value in extra], 2),
            "ratio_ours_over_plain_accounted": round(plain_seconds / (plain_seconds + overhead), 4),
        })
    return result


def profile(dataloaders, epochs: int, device: str, top: int = 25) -> dict:
    """cProfile of the training part of one run of each variant (the co-trainer's ``_train_epoch`` calls only, so
    validation is left out as in the timings): total seconds and the functions with the most own time."""
    from neural_cotraining.trainer.cotrainer import CoTrainer

    reports = {}
    for variant in ("cotrainer", "plain"):
        model = build_model(dataloaders)
        profiler = cProfile.Profile()
        if variant == "cotrainer":
            original = CoTrainer._train_epoch

            def profiled(self, epoch, _original=original):
                profiler.enable()
                try:
                    return _original(self, epoch)
                finally:
                    profiler.disable()

            CoTrainer._train_epoch = profiled
            try:
                train_ours(model, dataloaders, epochs, device, False)
            finally:
                CoTrainer._train_epoch = original
        else:
            profiler.enable()
            train_plain(model, dataloaders, SEED, epochs, WEIGHTS, LR, device)
            profiler.disable()
        stats = pstats.Stats(profiler, stream=io.StringIO())
        rows = []
        for (filename, line, function), (_, calls, tottime, cumtime, _) in stats.stats.items():
            rows.append({"function": f"{Path(filename).name}:{line}({function})", "calls": calls,
                         "tottime": round(tottime, 4), "cumtime": round(cumtime, 4)})
        rows.sort(key=lambda row: row["tottime"], reverse=True)
        reports[variant] = {"total_seconds": round(stats.total_tt, 3), "top_by_own_time": rows[:top]}
    return reports


def main(argv=None) -> int:
    arguments = parse_args(__doc__.splitlines()[0], argv, lambda parser: parser.add_argument(
        "--profile", action="store_true", help="also store a cProfile of one run of each variant"))
    load = LoadMonitor()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    epochs, repeats = (1, 2) if arguments.quick else (6, 9)
    dataloaders = build_data(arguments.quick)
    result = {"workload": {"data": "demo co-training: digits 16x16 + simulated neurons " + str(DEMO_NEURAL),
                           "model": DEMO_MODEL, "batch_size": 64, "loss_weights": WEIGHTS, "optimizer": "adam",
                           "lr": LR, "cycler": "ratio, k=1", "quick_subset": arguments.quick}}
    result["equivalence"] = equivalence_check(dataloaders, "cpu")
    result.update(compare_throughput("cpu", False, epochs, repeats, dataloaders))
    result["target"] = {"ratio_ours_over_plain": f">= {TARGET_RATIO}"}
    result["target_met"] = result["ratio_ours_over_plain"] >= TARGET_RATIO
    if arguments.profile:
        result["profile"] = profile(dataloaders, epochs, "cpu")
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
