"""Paired comparisons over seeds: headline metrics from result rows, paired differences, and a claim that says only
what the seeds support."""

import pytest

from neural_cotraining.demo import comparison as analysis

ROBUST = "robustness/img_classification/accuracy/"


def row(condition, seed, clean, noise, blur=None, correlation=None):
    result = {"dataset": condition, "model": "m", "trainer": "t", "seed": seed,
              "test/img_classification/accuracy": clean}
    for level, value in noise.items():
        result[f"{ROBUST}gaussian_noise_{level}"] = value
    if blur is not None:
        result[f"{ROBUST}gaussian_blur_1"] = blur[0]
        result[f"{ROBUST}gaussian_blur_3"] = blur[1]
    if correlation is not None:
        result["test/neural/correlation"] = correlation
    return result


def rows():
    return [
        row("cotrain", 1, 0.99, {"0.1": 0.90, "0.4": 0.30}, blur=(0.8, 0.6), correlation=0.75),
        row("cotrain", 2, 0.98, {"0.1": 0.80, "0.4": 0.40}, blur=(0.7, 0.5), correlation=0.73),
        row("cotrain", 3, 0.97, {"0.1": 0.85, "0.4": 0.20}, blur=(0.9, 0.7), correlation=0.71),
        row("shuffled", 1, 0.99, {"0.1": 0.80, "0.4": 0.35}, blur=(0.8, 0.6)),
        row("shuffled", 2, 0.99, {"0.1": 0.70, "0.4": 0.30}, blur=(0.7, 0.5)),
        row("shuffled", 3, 0.96, {"0.1": 0.80, "0.4": 0.25}, blur=(0.9, 0.7)),
        {"dataset": "neural_only", "model": "m", "trainer": "t", "seed": 1, "test/neural/correlation": 0.8},
    ]


def test_headline_metrics_of_one_row():
    metrics = analysis.headline_metrics(rows()[0])
    assert metrics == pytest.approx({
        "test accuracy": 0.99, "noise 0.1": 0.90, "noise 0.4": 0.30, "noise accuracy": 0.60,
        "corruption gaussian_blur": 0.70, "corruption accuracy": 0.70, "neural test correlation": 0.75,
    })
    assert analysis.headline_metrics({"test/img_classification/accuracy": float("nan")}) == {}


def test_summary_and_paired_differences_are_per_seed():
    per_seed = analysis.metrics_per_seed(rows())
    assert sorted(per_seed) == ["cotrain", "neural_only", "shuffled"]
    summary = analysis.summarize(per_seed)
    assert summary["cotrain"]["seeds"] == [1, 2, 3]
    assert summary["cotrain"]["noise 0.1"]["mean"] == pytest.approx(0.85)
    assert summary["cotrain"]["noise 0.1"]["sd"] == pytest.approx(0.05)
    assert summary["neural_only"]["neural test correlation"] == {"mean": 0.8, "sd": 0.0, "n": 1}
    difference = analysis.paired_difference(per_seed, "cotrain", "shuffled", "noise 0.1")
    assert difference["per_seed"] == pytest.approx({1: 0.10, 2: 0.10, 3: 0.05})
    assert difference["mean"] == pytest.approx(0.25 / 3)
    assert (difference["positive"], difference["negative"], difference["n"]) == (3, 0, 3)
    assert analysis.paired_difference(per_seed, "cotrain", "neural_only", "noise 0.1") is None
    assert analysis.noise_level_metrics(per_seed) == ["noise 0.1", "noise 0.4"]


def test_sign_test():
    assert analysis.sign_test(3, 3) == 0.125
    assert analysis.sign_test(5, 5) == 1 / 32
    assert analysis.sign_test(4, 5) == 6 / 32
    assert analysis.sign_test(0, 4) == 1.0


def test_with_three_seeds_nothing_is_stated_as_found():
    per_seed = analysis.metrics_per_seed(rows())
    differences = {m: analysis.paired_difference(per_seed, "cotrain", "shuffled", m)
                   for m in ("noise 0.1", "noise 0.4")}
    sentence = analysis.claim("cotrain", "shuffled", differences)
    assert sentence == (
        "cotrain vs. shuffled: no difference that 3 seeds support; not separable from chance: higher at noise 0.1 "
        "in 3 of 3 seeds (+0.083 ± 0.029, sign test p = 0.12); the seeds split at noise 0.4."
    )


def five_seed_differences(values: dict[str, list[float]]) -> dict:
    per_seed = {"a": {}, "b": {}}
    for seed in range(5):
        per_seed["a"][seed] = {metric: v[seed] for metric, v in values.items()}
        per_seed["b"][seed] = {metric: 0.0 for metric in values}
    return {metric: analysis.paired_difference(per_seed, "a", "b", metric) for metric in values}


def test_five_agreeing_seeds_are_stated_and_split_seeds_are_named():
    differences = five_seed_differences({
        "noise 0.1": [0.1, 0.2, 0.1, 0.3, 0.1],          # 5 of 5 higher: p = 1/32
        "noise 0.4": [0.1, -0.2, 0.1, -0.3, 0.1],        # 3 of 5: split
        "noise accuracy": [-0.1, -0.1, -0.2, -0.1, 0.1],  # 4 of 5 lower: not separable from chance
    })
    assert analysis.claim("a", "b", differences) == (
        "a vs. b: higher at noise 0.1 in 5 of 5 seeds (+0.160 ± 0.089, sign test p = 0.031); not separable from "
        "chance: lower in noise accuracy in 4 of 5 seeds (-0.080 ± 0.110, sign test p = 0.19); the seeds split at "
        "noise 0.4."
    )


def test_claim_without_common_seeds():
    assert analysis.claim("a", "b", {"noise 0.1": None}) == "a vs. b: no seeds in common to compare."
