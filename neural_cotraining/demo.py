"""The demo: digits co-trained with simulated neurons vs. image-only and neural-only baselines, end to end.

``neural-cotraining demo`` makes the database answer, adds the demo experiment (``configs/demo.yaml``), populates
it, prints a summary (accuracy clean / under noise / under corruptions; neural correlation vs. the oracle), and
writes the full results table (CSV, JSON) and per-epoch plots.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import time
from collections import defaultdict
from pathlib import Path

__all__ = ["DEMO_EXPERIMENT", "run_demo", "summarize", "oracle_correlation"]

logger = logging.getLogger(__name__)

DEMO_EXPERIMENT = Path(__file__).resolve().parent / "configs" / "demo.yaml"


def oracle_correlation(experiment) -> float | None:
    """Leave-one-out oracle of the neural-only dataset's test trials: the ceiling for single-trial correlation."""
    from .builders import resolve_builder
    from .dataset import leave_one_out_oracle

    for entry in experiment.datasets.values():
        if entry.fn.endswith("simulated_neural_loaders"):
            loaders = resolve_builder(entry.fn)(seed=int(experiment.seeds[0]), **entry.config)
            values, weights = [], []
            for loader in loaders["test"]["neural"].values():
                dataset = loader.dataset
                values.append(leave_one_out_oracle(dataset.responses.numpy(), dataset.trial_image_ids))
                weights.append(dataset.n_neurons)
            return sum(v * w for v, w in zip(values, weights)) / sum(weights)
    return None


def _mean_of(row: dict, prefix: str, exclude: str | None = None) -> float | None:
    values = [v for k, v in row.items() if k.startswith(prefix) and (exclude is None or exclude not in k)
              and isinstance(v, float) and math.isfinite(v)]
    return sum(values) / len(values) if values else None


def summarize(rows: list[dict]) -> list[dict]:
    """Per condition (dataset label), the mean and spread over seeds of the headline metrics."""
    robustness = "robustness/img_classification/accuracy/"
    per_condition = defaultdict(lambda: defaultdict(list))
    for row in rows:
        values = {
            "test accuracy": row.get("test/img_classification/accuracy"),
            "noise accuracy": _mean_of(row, robustness + "gaussian_noise"),
            "corruption accuracy": _mean_of(row, robustness, exclude="gaussian_noise"),
            "neural test correlation": row.get("test/neural/correlation"),
        }
        for name, value in values.items():
            if value is not None:
                per_condition[row["dataset"]][name].append(value)
        per_condition[row["dataset"]]["seeds"].append(row["seed"])
    summary = []
    for condition, metrics in per_condition.items():
        entry = {"condition": condition, "seeds": len(metrics.pop("seeds"))}
        for name, values in metrics.items():
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            entry[name] = f"{statistics.mean(values):.3f} ± {spread:.3f}"
        summary.append(entry)
    return summary


def run_demo(schema: str = "neural_cotraining_demo", workers: int = 1, output_dir: str = "results/demo",
             experiment_path: str | Path = DEMO_EXPERIMENT) -> int:
    from .cli import main as cli_main, print_table
    from .configs import load_experiment
    from .pipeline import activate, database_settings, ensure_server
    from .pipeline.experiments import add_experiment, experiment_keys, results_table

    started = time.monotonic()
    settings = database_settings()
    print(f"database: {settings.describe()} ({ensure_server(settings)})")
    experiment = load_experiment(experiment_path)
    tables = activate(schema)
    jobs = add_experiment(tables, experiment)
    print(f"experiment {experiment_path}: {len(jobs)} jobs in schema {schema}")
    arguments = ["populate", str(experiment_path), "--schema", schema, "--workers", str(workers)]
    status = cli_main(arguments)
    rows = results_table(tables, experiment_keys(tables, experiment))
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    cli_main(["results", str(experiment_path), "--schema", schema, "--csv", str(output / "results.csv"),
              "--json", str(output / "results.json"), "--metrics", "test/"])
    cli_main(["plot", str(experiment_path), "--schema", schema, "--output", str(output / "plots")])
    summary = summarize(rows)
    oracle = oracle_correlation(experiment)
    print("\nsummary (mean ± sd over seeds; accuracies on the test split and its noisy / corrupted copies):")
    columns = ["condition", "seeds", "test accuracy", "noise accuracy", "corruption accuracy", "neural test correlation"]
    print_table(summary, columns)
    if oracle is not None:
        print(f"oracle correlation of the simulated neurons (leave-one-out, test trials): {oracle:.3f}")
    (output / "summary.json").write_text(json.dumps({"summary": summary, "oracle_correlation": oracle}, indent=2))
    print(f"results in {output}/ (results.csv, results.json, summary.json, plots/); "
          f"{time.monotonic() - started:.0f} s in all")
    return status
