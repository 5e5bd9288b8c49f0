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
Each paired difference also carries its 95% t interval and the number of seeds a difference of its size needs.

``neural-cotraining demo --study controls`` runs the controls study (``configs/controls.yaml``) the same way: the
demo's conditions plus a positive control (a teacher population of the noise-trained network's units) and MTL-Oracle
(the neural-only model's predictions on every classification image), each against its shuffled control. Models that
a condition's data is made from are trained first (:meth:`Experiment.without_trained_model_inputs`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from . import comparison

__all__ = [
    "DEMO_EXPERIMENT", "CONTROLS_EXPERIMENT", "CONDITIONS", "COMPARISONS", "CONTROL_COMPARISONS", "STUDIES",
    "oracle_correlation", "report", "write_summary",
]

logger = logging.getLogger(__name__)

DEMO_EXPERIMENT = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
#: the demo's conditions (dataset labels of configs/demo.yaml), in the order they are reported
CONDITIONS = ["image_only", "cotrain", "cotrain_shuffled", "noise_trained", "neural_only"]
#: the paired comparisons the demo reports: (condition, baseline)
COMPARISONS = [("cotrain", "image_only"), ("cotrain", "cotrain_shuffled")]
CONTROLS_EXPERIMENT = DEMO_EXPERIMENT.parent / "controls.yaml"
#: the controls study's comparisons: each co-training condition against its shuffled control and image-only
#: training, and the noise-trained network against image-only (the robustness metric's own positive control)
CONTROL_COMPARISONS = [
    *COMPARISONS,
    ("cotrain_teacher", "cotrain_teacher_shuffled"),
    ("cotrain_teacher", "image_only"),
    ("cotrain_oracle", "cotrain_oracle_shuffled"),
    ("cotrain_oracle", "image_only"),
    ("cotrain_oracle", "cotrain"),
    ("noise_trained", "image_only"),
]
#: ``neural-cotraining demo --study NAME``: the experiment file and the comparisons reported
STUDIES = {"demo": (DEMO_EXPERIMENT, COMPARISONS), "controls": (CONTROLS_EXPERIMENT, CONTROL_COMPARISONS)}
INTERVAL_METRICS = ["test accuracy", "noise accuracy", "corruption accuracy", "neural test correlation"]
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


def _interval_rows(comparisons: dict) -> list[list[str]]:
    rows = []
    for name, differences in comparisons.items():
        for metric in INTERVAL_METRICS:
            d = differences.get(metric)
            if d is None or d.get("ci95") is None:
                continue
            agreeing = max(d["positive"], d["negative"])
            rows.append([name, metric, f"{d['mean']:+.3f}", f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]",
                         f"{d['positive']}/{d['n']}", f"{comparison.sign_test(agreeing, d['n']):.2g}",
                         "-" if d["seeds_needed"] is None else str(d["seeds_needed"])])
    return rows


def report(rows: list[dict], oracle: float | None = None, conditions: list[str] | None = None,
           comparisons: list[tuple[str, str]] | None = None) -> dict:
    """Print the tables and sentences for results ``rows`` (the demo's ``CONDITIONS`` and ``COMPARISONS`` unless
    given); returns what ``summary.json`` holds."""
    order = CONDITIONS if conditions is None else conditions
    pairs = COMPARISONS if comparisons is None else comparisons
    per_seed = comparison.metrics_per_seed(rows, condition_label="dataset")
    summary = comparison.summarize(per_seed)
    conditions = [c for c in order if c in summary] + sorted(set(summary) - set(order))
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
    for first, second in pairs:
        if first not in per_seed or second not in per_seed:
            continue
        differences = {m: comparison.paired_difference(per_seed, first, second, m)
                       for m in [*compared, "neural test correlation"]}
        comparisons[f"{first} - {second}"] = differences
        claim = comparison.claim(first, second, {m: differences[m] for m in [*levels, "noise accuracy"]})
        interval = comparison.interval_clause("noise accuracy", differences["noise accuracy"])
        sentences.append(f"{claim} {interval}".strip())
    if comparisons:
        print("\npaired differences over the same seeds, mean ± sd (number of seeds with a positive difference):")
        _print_rows(["comparison", *compared],
                    [[name, *(_difference_cell(d.get(m)) for m in compared)] for name, d in comparisons.items()])
        intervals = _interval_rows(comparisons)
        if intervals:
            print("\neach difference with its 95% t interval over seeds, the sign test's p and the seeds a true "
                  "difference of that size needs (paired t-test, 80% power, 5% two-sided):")
            _print_rows(["comparison", "metric", "mean", "95% interval", "+ seeds", "sign p", "seeds needed"],
                        intervals)
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


def write_summary(rows: list[dict], experiment, output_dir: str | Path,
                  comparisons: list[tuple[str, str]] | None = None) -> dict:
    """Print the report for the results ``rows`` of ``experiment`` (its conditions: the dataset labels in the order
    of its combinations); write ``summary.json`` and ``plots/robustness.png`` under ``output_dir``; returns the
    summary."""
    from .plots import plot_robustness_curves

    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    order = list(dict.fromkeys(c["dataset"] for c in experiment.label_combinations()))
    summary = report(rows, oracle_correlation(experiment), conditions=order, comparisons=comparisons)
    per_seed = summary["per_seed"]  # {condition: {seed: metrics}}, as report() computed it
    figure = plot_robustness_curves(per_seed, output / "plots" / "robustness.png",
                                    conditions=[c for c in order if c in per_seed])
    summary["robustness_figure"] = str(figure) if figure else None
    (output / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
