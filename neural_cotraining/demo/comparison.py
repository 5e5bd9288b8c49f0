"""Comparing experimental conditions over seeds the way the field judges a result: per-seed paired differences.

Rows are the pipeline's results (``pipeline.reports.results.results_table``: one row per trained model, labelled with
its dataset/model/trainer labels and seed, holding the final metrics). A *condition* is one label combination,
named by a label (e.g. the dataset label). Conditions trained on the same seeds are compared seed by seed: the
difference ``a - b`` on each seed, its mean and standard deviation, and in how many seeds it has one sign. With n
seeds a difference of the same sign in all of them has a one-sided sign-test p of 0.5^n (0.125 for 3): suggestive,
not significant; the sentence :func:`claim` writes says so instead of overstating it. Next to the sign test each
difference carries its 95% t interval over seeds (Student 1908: the paired t-test's interval, mean ± t(0.975, n-1)
sd / sqrt(n)) and the number of seeds a true difference of the observed size would need to be found by a paired
t-test with 80% power at a two-sided 5% level (:func:`seeds_needed`), so "not separable" says how far from
separable it is.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict

from ..common.names import IMAGE_CLASSIFICATION, NEURAL
from scipy import stats

__all__ = [
    "headline_metrics",
    "metrics_per_seed",
    "summarize",
    "paired_difference",
    "noise_level_metrics",
    "sign_test",
    "t_interval",
    "seeds_needed",
    "claim",
    "interval_clause",
]

IMAGE_TASK, NEURAL_TASK = IMAGE_CLASSIFICATION, NEURAL
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
        elif corruption := _CORRUPTION.match(name):
            corruptions[corruption.group(1)].append(float(value))
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
        "ci95": t_interval(values),
        "seeds_needed": seeds_needed(statistics.mean(values), _spread(values)) if len(values) > 1 else None,
    }


def t_interval(values: list[float], confidence: float = 0.95) -> list[float] | None:
    """The t interval of the mean of ``values`` (paired differences over seeds); None with fewer than 2 values."""
    if len(values) < 2:
        return None
    mean, half = statistics.mean(values), 0.0
    sd = statistics.stdev(values)
    if sd > 0:
        half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1)) * sd / math.sqrt(len(values))
    return [mean - half, mean + half]


def seeds_needed(mean: float, sd: float, power: float = 0.8, level: float = 0.05, most: int = 1_000_000) -> int | None:
    """The fewest seeds (>= 2) with which a two-sided paired t-test at ``level`` finds a true mean difference
    ``mean`` with spread ``sd`` with probability ``power`` (the noncentral t distribution); None for a zero mean or
    beyond ``most`` seeds. With sd = 0 any nonzero difference needs 2."""
    if mean == 0 or not math.isfinite(mean) or not math.isfinite(sd):
        return None
    if sd == 0:
        return 2
    effect = abs(mean) / sd
    n = 2
    while n <= most:
        critical = stats.t.ppf(1 - level / 2, n - 1)
        noncentrality = effect * math.sqrt(n)
        achieved = stats.nct.sf(critical, n - 1, noncentrality) + stats.nct.cdf(-critical, n - 1, noncentrality)
        if achieved >= power:
            return n
        # the power grows with n; jump ahead while far from the target (the normal approximation's n)
        guess = math.ceil(((stats.norm.ppf(1 - level / 2) + stats.norm.ppf(power)) / effect) ** 2)
        n = max(n + 1, min(guess - 2, most + 1)) if guess - 2 > n + 1 else n + 1
    return None


def noise_level_metrics(per_seed: dict) -> list[str]:
    """The "noise <level>" metric names present, by increasing level."""
    names = {name for seeds in per_seed.values() for metrics in seeds.values() for name in metrics}
    return sorted((name for name in names if name.startswith("noise ") and name != "noise accuracy"),
                  key=lambda name: float(name.split(" ", 1)[1]))


def sign_test(agreeing: int, n: int) -> float:
    """One-sided sign test: the chance that ``agreeing`` or more of ``n`` seeds share a sign if each were a coin
    flip (``P(X >= agreeing)``, ``X ~ Binomial(n, 1/2)``)."""
    return sum(math.comb(n, k) for k in range(agreeing, n + 1)) / 2**n


def _where(metric: str) -> str:
    return f"at noise {metric.split(' ', 1)[1]}" if metric.startswith("noise ") and metric != "noise accuracy" \
        else f"in {metric}"


def claim(name_first: str, name_second: str, differences: dict[str, dict | None], level: float = 0.05) -> str:
    """One sentence stating ``first - second`` only as far as the seeds support it.

    ``differences`` maps metric names ("noise 0.1", ..., "noise accuracy") to :func:`paired_difference` results.
    For each metric, k of n seeds share the sign of the mean difference; a one-sided sign test gives the chance of
    that many under coin flips. Differences with p <= ``level`` are stated as found ("higher in 5 of 5 seeds");
    those where every seed (or, from 4 seeds on, all but one) agrees with the mean's sign as not separable from
    chance; the rest as split. With 3 seeds even 3 of 3 has p = 0.125, so nothing can be stated as found.
    """
    known = {metric: d for metric, d in differences.items() if d is not None and d["n"] > 0}
    if not known:
        return f"{name_first} vs. {name_second}: no seeds in common to compare."
    n = max(d["n"] for d in known.values())
    found, leaning, split = [], [], []
    for metric, d in known.items():
        agreeing = max(d["positive"], d["negative"])
        p_value = sign_test(agreeing, d["n"])
        direction = "higher" if d["positive"] >= d["negative"] else "lower"
        text = (f"{direction} {_where(metric)} in {agreeing} of {d['n']} seeds ({d['mean']:+.3f} ± {d['sd']:.3f}, "
                f"sign test p = {p_value:.2g})")
        consistent = (d["mean"] > 0) == (direction == "higher") and d["mean"] != 0
        if consistent and p_value <= level:
            found.append(text)
        elif consistent and (agreeing == d["n"] or (agreeing == d["n"] - 1 and d["n"] >= 4)):
            leaning.append(text)
        else:
            split.append(metric)
    parts = []
    if found:
        parts.append("; ".join(found))
    if leaning:
        parts.append("not separable from chance: " + "; ".join(leaning))
    levels = [m.split(" ", 1)[1] for m in split if _where(m).startswith("at noise")]
    others = [m for m in split if not _where(m).startswith("at noise")]
    if split:
        places = ([f"at noise {', '.join(levels)}"] if levels else []) + [f"in {m}" for m in others]
        parts.append("the seeds split " + " and ".join(places))
    verdict = "" if found else f"no difference that {n} seeds support; "
    return f"{name_first} vs. {name_second}: {verdict}" + "; ".join(parts) + "."


def interval_clause(metric: str, difference: dict | None) -> str:
    """``metric``'s paired difference with its 95% interval and the seeds a difference of its size needs."""
    if difference is None or difference.get("ci95") is None:
        return ""
    low, high = difference["ci95"]
    needed = difference.get("seeds_needed")
    size = "no seed count finds a zero or vanishing difference" if needed is None else (
        f"a difference of this size needs {needed} seeds (paired t-test, 80% power, 5% two-sided)")
    return f"{metric}: {difference['mean']:+.3f}, 95% interval [{low:+.3f}, {high:+.3f}] over {difference['n']} " \
           f"seeds; {size}."
