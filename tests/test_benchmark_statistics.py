"""The confidence interval the benchmark report gives for the co-trainer / plain-loop ratio."""

import random

import pytest

from benchmarks.common import median_interval


def test_nine_runs_give_the_second_and_eighth_value():
    low, high, coverage = median_interval([9, 1, 8, 2, 7, 3, 6, 4, 5])
    assert (low, high) == (2, 8) and coverage == pytest.approx(1 - 2 * 10 / 512)


def test_too_few_runs_are_refused():
    with pytest.raises(ValueError, match="too few"):
        median_interval([1.0, 1.1, 0.9, 1.05, 0.95])


def test_interval_covers_the_true_median_as_often_as_it_says():
    generator = random.Random(0)
    trials, hits = 4000, 0
    for _ in range(trials):
        sample = [generator.expovariate(1.0) for _ in range(9)]  # skewed, true median ln 2
        low, high, coverage = median_interval(sample)
        hits += low <= 0.6931471805599453 <= high
    assert hits / trials == pytest.approx(coverage, abs=0.015)
