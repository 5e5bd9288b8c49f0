"""The demo: the paper's experiment in miniature, end to end.

Safarani et al. (NeurIPS 2021), "Towards robust vision by multi-task learning on monkey visual cortex", compare a
classifier co-trained with monkey V1 responses against an image-only baseline, a co-trained control whose
responses are shuffled across images (MTL-Shuffled) and a network trained on noisy images (their "Oracle"). Here:
scikit-learn's digits co-trained with simulated neurons (known ground truth) in five conditions -- ``image_only``,
``cotrain``, ``cotrain_shuffled``, ``noise_trained``, ``neural_only`` -- over five seeds (``configs/demo.yaml``).

``neural-cotraining demo`` (the command line: it makes the database answer, adds and populates the experiment and
writes the results table and per-epoch plots) then calls :func:`write_summary`, which prints per condition
the mean ± sd over seeds of the accuracy (clean, at each noise level, under corruptions) and of the neural test
correlation, the per-seed paired differences ``cotrain - image_only`` and ``cotrain - cotrain_shuffled`` at each
noise level, and one sentence per comparison that states the result only as far as the seeds support it
(``comparison.claim``). It writes ``summary.json`` (per condition and per seed), the results table (CSV, JSON),
per-epoch plots and ``plots/robustness.png`` (accuracy against noise level, a line per condition with its spread).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from . import comparison

__all__ = ["DEMO_EXPERIMENT", "CONDITIONS", "COMPARISONS", "oracle_correlation", "report", "write_summary"]

logger = logging.getLogger(__name__)

DEMO_EXPERIMENT = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
#: the demo's conditions (dataset labels of configs/demo.yaml), in the order they are reported
CONDITIONS = ["image_only", "cotrain", "cotrain_shuffled", "noise_trained", "neural_only"]
#: the paired comparisons the demo reports: (condition, baseline)
COMPARISONS = [("cotrain", "image_only"), ("cotrain", "cotrain_shuffled")]
TABLE_COLUMNS = ["test accuracy", "noise accuracy", "corruption accuracy", "neural test correlation"]


def oracle_correlation(experiment) -> float | None:
    """Leave-one-out oracle of the neural-only dataset's test trials: the ceiling for single-trial correlation."""
    from ..registry import resolve_builder
    from ..dataset import leave_one_out_oracle

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


def _cell(entry: dict | None) -> str:
    return "" if entry is None else f"{entry['mean']:.3f} ± {entry['sd']:.3f}"


def _difference_cell(difference: dict | None) -> str:
    if difference is None:
        return ""
    return f"{difference['mean']:+.3f} ± {difference['sd']:.3f} ({difference['positive']}/{difference['n']} +)"


def _print_rows(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def report(rows: list[dict], oracle: float | None = None) -> dict:
    """Print the demo's tables and sentences for results ``rows``; returns what ``summary.json`` holds."""
    per_seed = comparison.metrics_per_seed(rows, condition_label="dataset")
    summary = comparison.summarize(per_seed)
    conditions = [c for c in CONDITIONS if c in summary] + sorted(set(summary) - set(CONDITIONS))
    print("\nper condition, mean ± sd over seeds (accuracy on the test split and its noisy / corrupted copies):")
    _print_rows(["condition", "seeds", *TABLE_COLUMNS],
                [[c, str(len(summary[c]["seeds"])), *(_cell(summary[c].get(m)) for m in TABLE_COLUMNS)]
                 for c in conditions])
    image_conditions = [c for c in conditions if "test accuracy" in summary[c]]
    levels = comparison.noise_level_metrics(per_seed)
    corruptions = sorted({m for c in conditions for m in summary[c] if m.startswith("corruption ")
                          and m != "corruption accuracy"})
    for title, present, metrics, labels in (
        ("accuracy at each noise level", levels, ["test accuracy", *levels], ["clean", *levels]),
        ("accuracy under each corruption (mean over its severities)", corruptions, corruptions,
         [m.split(" ", 1)[1] for m in corruptions]),
    ):
        if present:
            print(f"\n{title}, mean ± sd over seeds:")
            _print_rows(["condition", *labels],
                        [[c, *(_cell(summary[c].get(m)) for m in metrics)] for c in image_conditions])
    if oracle is not None:
        print(f"\noracle correlation of the simulated neurons (leave-one-out, test trials): {oracle:.3f}")
    comparisons, sentences = {}, []
    compared = ["test accuracy", *levels, "noise accuracy", "corruption accuracy"]
    for first, second in COMPARISONS:
        if first not in per_seed or second not in per_seed:
            continue
        differences = {m: comparison.paired_difference(per_seed, first, second, m) for m in compared}
        comparisons[f"{first} - {second}"] = differences
        sentences.append(comparison.claim(first, second, {m: differences[m] for m in [*levels, "noise accuracy"]}))
    if comparisons:
        print("\npaired differences over the same seeds, mean ± sd (number of seeds with a positive difference):")
        _print_rows(["comparison", *compared],
                    [[name, *(_difference_cell(d.get(m)) for m in compared)] for name, d in comparisons.items()])
        print()
        for sentence in sentences:
            print(sentence)
    return {
        "conditions": {c: summary[c] for c in conditions},
        "per_seed": {c: {str(seed): metrics for seed, metrics in per_seed[c].items()} for c in conditions},
        "paired_differences": {
            name: {m: None if d is None else {**d, "per_seed": {str(s): v for s, v in d["per_seed"].items()}}
                   for m, d in differences.items()}
            for name, differences in comparisons.items()
        },
        "sentences": sentences,
        "oracle_correlation": oracle,
    }


def write_summary(rows: list[dict], experiment, output_dir: str | Path) -> dict:
    """Print the demo's report for the results ``rows`` of ``experiment``; write ``summary.json`` and
    ``plots/robustness.png`` under ``output_dir``; returns the summary."""
    from .plots import plot_robustness_curves

    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    summary = report(rows, oracle_correlation(experiment))
    per_seed = summary["per_seed"]  # {condition: {seed: metrics}}, as report() computed it
    figure = plot_robustness_curves(per_seed, output / "plots" / "robustness.png",
                                    conditions=[c for c in CONDITIONS if c in per_seed])
    summary["robustness_figure"] = str(figure) if figure else None
    (output / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
