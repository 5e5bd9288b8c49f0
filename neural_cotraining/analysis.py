"""Comparing experimental conditions over seeds the way the field judges a result: per-seed paired differences.

Rows are the pipeline's results (``pipeline.experiments.results_table``: one row per trained model, labelled with
its dataset/model/trainer labels and seed, holding the final metrics). A *condition* is one label combination,
named by a label (e.g. the dataset label). Conditions trained on the same seeds are compared seed by seed: the
difference ``a - b`` on each seed, its mean and standard deviation, and in how many seeds it has one sign. With n
seeds a difference of the same sign in all of them has a one-sided sign-test p of 0.5^n (0.125 for 3): suggestive,
not significant; the sentence :func:`claim` writes says so instead of overstating it.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict

__all__ = [
    "headline_metrics",
    "metrics_per_seed",
    "summarize",
    "paired_difference",
    "noise_level_metrics",
    "claim",
]

IMAGE_TASK = "img_classification"
NEURAL_TASK = "neural"
ROBUSTNESS = f"robustness/{IMAGE_TASK}/accuracy/"
_NOISE = re.compile(r"^gaussian_noise_([0-9.]+)$")
_CORRUPTION = re.compile(r"^(.+)_([0-9]+)$")


def _finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def headline_metrics(row: dict) -> dict[str, float]:
    """One trained model's headline figures: clean test accuracy, accuracy at each noise level ("noise 0.1") and
    per corruption (mean over severities), their means, and the neural test correlation."""
    metrics: dict[str, float] = {}
    clean = _finite(row.get(f"test/{IMAGE_TASK}/accuracy"))
    if clean is not None:
        metrics["test accuracy"] = clean
    noise, corruptions = [], defaultdict(list)
    for key, value in row.items():
        if not key.startswith(ROBUSTNESS) or _finite(value) is None:
            continue
        name = key[len(ROBUSTNESS):]
        level = _NOISE.match(name)
        if level:
            metrics[f"noise {float(level.group(1)):g}"] = float(value)
            noise.append(float(value))
        elif _CORRUPTION.match(name):
            corruptions[_CORRUPTION.match(name).group(1)].append(float(value))
    if noise:
        metrics["noise accuracy"] = _mean(noise)
    for name, values in corruptions.items():
        metrics[f"corruption {name}"] = _mean(values)
    if corruptions:
        metrics["corruption accuracy"] = _mean([value for values in corruptions.values() for value in values])
    correlation = _finite(row.get(f"test/{NEURAL_TASK}/correlation"))
    if correlation is not None:
        metrics["neural test correlation"] = correlation
    return metrics


def metrics_per_seed(rows: list[dict], condition_label: str = "dataset") -> dict[str, dict[int, dict[str, float]]]:
    """``{condition: {seed: headline metrics}}``; the condition is the row's ``condition_label`` label."""
    table: dict[str, dict[int, dict[str, float]]] = defaultdict(dict)
    for row in rows:
        table[str(row[condition_label])][int(row["seed"])] = headline_metrics(row)
    return {condition: dict(sorted(seeds.items())) for condition, seeds in table.items()}


def _spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(per_seed: dict[str, dict[int, dict[str, float]]]) -> dict[str, dict]:
    """Per condition: the seeds, and for each metric the mean, standard deviation and number of seeds."""
    summary = {}
    for condition, seeds in per_seed.items():
        names = sorted({name for metrics in seeds.values() for name in metrics})
        entry = {"seeds": sorted(seeds)}
        for name in names:
            values = [metrics[name] for metrics in seeds.values() if name in metrics]
            entry[name] = {"mean": statistics.mean(values), "sd": _spread(values), "n": len(values)}
        summary[condition] = entry
    return summary


def paired_difference(per_seed: dict, first: str, second: str, metric: str) -> dict | None:
    """``first - second`` on ``metric`` for every seed both conditions have; None when they share none."""
    seeds = sorted(
        seed
        for seed in set(per_seed.get(first, {})) & set(per_seed.get(second, {}))
        if metric in per_seed[first][seed] and metric in per_seed[second][seed]
    )
    if not seeds:
        return None
    differences = {seed: per_seed[first][seed][metric] - per_seed[second][seed][metric] for seed in seeds}
    values = list(differences.values())
    return {
        "per_seed": differences,
        "mean": statistics.mean(values),
        "sd": _spread(values),
        "n": len(values),
        "positive": sum(value > 0 for value in values),
        "negative": sum(value < 0 for value in values),
    }


def noise_level_metrics(per_seed: dict) -> list[str]:
    """The "noise <level>" metric names present, by increasing level."""
    names = {name for seeds in per_seed.values() for metrics in seeds.values() for name in metrics}
    return sorted((name for name in names if name.startswith("noise ") and name != "noise accuracy"),
                  key=lambda name: float(name.split(" ", 1)[1]))


def claim(name_first: str, name_second: str, differences: dict[str, dict | None]) -> str:
    """One sentence stating ``first - second`` at each noise level only as far as the seeds support it.

    ``differences`` maps "noise <level>" to :func:`paired_difference` results. A level counts as a consistent
    gain (loss) when every seed's difference is positive (negative); the sentence names those levels, the largest
    mean difference with its spread, and the sign-test p of n agreeing seeds.
    """
    known = {metric: d for metric, d in differences.items() if d is not None}
    if not known:
        return f"{name_first} vs. {name_second}: no seeds in common to compare."
    n = max(d["n"] for d in known.values())
    gains = [metric for metric, d in known.items() if d["positive"] == d["n"] == n]
    losses = [metric for metric, d in known.items() if d["negative"] == d["n"] == n]
    p_value = 0.5**n

    def levels(metrics):
        return ", ".join(metric.split(" ", 1)[1] for metric in metrics)

    def strongest(metrics):
        metric = max(metrics, key=lambda m: abs(known[m]["mean"]))
        d = known[metric]
        return f"{d['mean']:+.3f} ± {d['sd']:.3f} at noise {metric.split(' ', 1)[1]}"

    parts = []
    if gains:
        parts.append(f"{name_first} beats {name_second} at noise {levels(gains)} in {n} of {n} seeds "
                     f"(largest {strongest(gains)})")
    if losses:
        parts.append(f"{name_first} is worse than {name_second} at noise {levels(losses)} in {n} of {n} seeds "
                     f"({strongest(losses)})")
    undecided = [metric for metric in known if metric not in gains and metric not in losses]
    if undecided:
        parts.append(f"at noise {levels(undecided)} the seeds disagree")
    if not gains and not losses:
        return f"{name_first} vs. {name_second}: no consistent difference at any noise level over {n} seeds."
    return "; ".join(parts) + f" (sign test, one-sided, p = {p_value:.3g} for {n} agreeing seeds)."
