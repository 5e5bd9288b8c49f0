"""Multi-task learning on real tabular data bundled with scikit-learn, through the pipeline.

    python examples/tabular_multitask.py results/tabular              # schema from $TABULAR_EXAMPLE_SCHEMA
    python examples/tabular_multitask.py results/tabular --cleanup    # ... and drop the schema at the end

Data: the Wisconsin breast-cancer table (569 tumours, 20 input features; ``dataset.tabular``) with four tasks on the
same inputs: the diagnosis ``malignant`` (binary) and three held-out nucleus measurements ``worst_area``,
``worst_concavity``, ``worst_texture`` (regression, standardised on the training split).

1. Co-training: a hard-parameter-sharing MLP (one shared encoder, a binary head and three regression heads;
   ``models.hard_sharing_mlp``) trained on all four tasks with learned likelihood loss weights (Kendall, Gal &
   Cipolla 2018) and, for comparison, with fixed equal weights; populated through ``TrainedModel`` over several seeds;
   the test metrics are printed as mean ± std over seeds.
2. A task-affinity study (``pipeline.affinity_runs``): every task alone, every pair, and a sample of 3-task groups, a few
   epochs each; each task's gain from each partner over training alone (test AUC for the diagnosis, test RMSE for
   the measurements; positive = the partner helped) is printed and written to OUTPUT/pair_affinity.csv,
   OUTPUT/group_affinity.csv, OUTPUT/scores.csv and OUTPUT/affinity_heatmap.png.

Running it again trains nothing new (the entries exist already). Database settings come from the ``DJ_*``
environment variables (local MariaDB by default).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

import torch

from neural_cotraining.affinity.scores import group_label
from neural_cotraining.cli.output import print_table
from neural_cotraining.affinity.plan import AffinityStudy
from neural_cotraining.configs.tabular import tabular_heads, tabular_loss_functions, tabular_monitor
from neural_cotraining.pipeline import activate
from neural_cotraining.affinity.runs import run_affinity_study

SCHEMA_ENV = "TABULAR_EXAMPLE_SCHEMA"
DEFAULT_SCHEMA = "neural_cotraining_tabular"
SOURCE = "breast_cancer"
TASKS = ["malignant", "worst_area", "worst_concavity", "worst_texture"]

DATASET_FN = "neural_cotraining.dataset.builders.tabular_loaders"
MODEL_FN = "neural_cotraining.models.builders.hard_sharing_mlp"
TRAINER_FN = "neural_cotraining.trainer.builders.cotrainer"


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="folder for the affinity CSVs and heatmap")
    parser.add_argument("--schema", default=os.environ.get(SCHEMA_ENV, DEFAULT_SCHEMA),
                        help=f"database schema (default: ${SCHEMA_ENV} or {DEFAULT_SCHEMA})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds of every experiment")
    parser.add_argument("--epochs", type=int, default=60, help="epochs of the co-training runs (part 1)")
    parser.add_argument("--affinity-epochs", type=int, default=20, help="epochs of each affinity run (part 2)")
    parser.add_argument("--cleanup", action="store_true", help="drop the schema at the end")
    return parser.parse_args(argv)


def base_configs(epochs: int, weighting: str) -> tuple[dict, dict, dict]:
    """Dataset, model and trainer configs over all TASKS."""
    dataset = {"source": SOURCE, "tasks": TASKS, "batch_size": 32}
    model = {"hidden_sizes": [64, 32], "heads": tabular_heads(SOURCE, TASKS), "dropout": 0.1}
    trainer = {
        "max_epochs": epochs,
        "patience": 15,
        "lr": 3e-3,
        "cycler": "max_size_cycle",  # one batch of every task per optimiser step
        "loss_functions": tabular_loss_functions(SOURCE, TASKS),
        "monitor": tabular_monitor(SOURCE, TASKS),
        "loss_weighting": weighting,
        "verbose": False,
    }
    return dataset, model, trainer


def _mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def cotraining(tables, seeds: list[int], epochs: int) -> None:
    """Part 1: all four tasks in one hard-sharing model, likelihood vs. fixed equal loss weights."""
    keys = {}
    for weighting in ("likelihood", "fixed"):
        dataset, model, trainer = base_configs(epochs, weighting)
        key = {
            **tables.Dataset().add_entry(DATASET_FN, dataset, comment="breast cancer, 4 tasks"),
            **tables.Model().add_entry(MODEL_FN, model, comment="hard-sharing MLP"),
            **tables.Trainer().add_entry(TRAINER_FN, trainer, comment=f"co-trainer, {weighting} weights"),
        }
        keys[weighting] = [{**key, "seed": seed} for seed in seeds]
    tables.Seed().insert([{"seed": seed} for seed in seeds], skip_duplicates=True)
    tables.TrainedModel().populate([key for group in keys.values() for key in group])

    rows = []
    for weighting, group in keys.items():
        outputs = [row["output"] for row in (tables.TrainedModel() & group).to_dicts()]
        row = {"loss weighting": weighting, "seeds": len(outputs)}
        for task in TASKS:
            test = [output["final"]["test"][task] for output in outputs]
            if "auc" in test[0]:
                row[f"{task} AUC"] = _mean_std([m["auc"] for m in test])
                row[f"{task} acc"] = _mean_std([m["accuracy"] for m in test])
            else:
                row[f"{task} RMSE"] = _mean_std([m["rmse"] for m in test])
        row["best epoch"] = _mean_std([float(output["best_epoch"]) for output in outputs])
        rows.append(row)
    print("\nco-training all four tasks (test split, mean ± std over seeds; RMSE in target standard deviations):")
    print_table(rows, list(rows[0]))


def affinity(tables, seeds: list[int], epochs: int, output: str) -> None:
    """Part 2: every single task, every pair and two sampled 3-task groups; gains over training alone."""
    dataset, model, trainer = base_configs(epochs, "likelihood")
    trainer.pop("monitor")  # the study monitors each group's own tasks (validation AUC / RMSE)
    study = AffinityStudy(
        dataset_fn=DATASET_FN, dataset_config=dataset, model_fn=MODEL_FN, model_config=model,
        trainer_fn=TRAINER_FN, trainer_config=trainer, seeds=seeds, group_size=3, n_groups=2, sample_seed=0,
        metrics={task: ("auc" if task == "malignant" else "rmse") for task in TASKS}, split="test",
    )
    result = run_affinity_study(tables, study, output_dir=output)
    print(f"\ntask affinity ({len(result.jobs)} runs of {epochs} epochs; gain = partner's help on the task's test "
          "metric, positive = better; mean ± std over seeds):")
    rows = [{"task": row["task"], "metric": row["metric"], "with": row["partner"],
             "alone": f"{row['single_mean']:.4f}", "together": f"{row['grouped_mean']:.4f}",
             "gain": f"{row['gain_mean']:+.4f} ± {row['gain_std']:.4f}",
             "relative": f"{100 * row['relative_gain_mean']:+.1f}%"} for row in result.pairs]
    print_table(rows, list(rows[0]))
    if result.groups:
        print("\n3-task groups:")
        rows = [{"group": row["group"], "task": row["task"], "gain": f"{row['gain_mean']:+.4f} ± "
                 f"{row['gain_std']:.4f}"} for row in result.groups]
        print_table(rows, list(rows[0]))
    print("\nwrote " + ", ".join(str(path) for path in result.files.values()))
    if result.missing:
        print(f"{len(result.missing)} affinity runs failed: " + ", ".join(
            f"{group_label(job.group)} seed {job.seed}" for job in result.missing))


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    started = time.monotonic()
    tables = activate(arguments.schema)
    try:
        cotraining(tables, arguments.seeds, arguments.epochs)
        affinity(tables, arguments.seeds, arguments.affinity_epochs, arguments.output)
    finally:
        if arguments.cleanup:
            tables.schema.drop(prompt=False)
            print(f"dropped schema {arguments.schema}")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
