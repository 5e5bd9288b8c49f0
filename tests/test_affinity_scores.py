"""Task-affinity arithmetic on hand-made scores: gain signs, pairing by seed, mean and spread, CSV and heatmap."""

import csv
import math
import statistics

import pytest
from PIL import Image

from neural_cotraining.affinity.scores import (
    METRIC_DIRECTIONS,
    PAIR_FIELDS,
    TaskMetric,
    affinity_matrix,
    gain,
    group_affinity,
    infer_metric,
    pair_affinity,
    write_rows_csv,
)
from neural_cotraining.affinity.heatmap import plot_affinity_heatmap

# task a: AUC (higher is better); task b: RMSE (lower is better); task c: accuracy
METRICS = {"a": TaskMetric("auc"), "b": TaskMetric("rmse"), "c": TaskMetric("accuracy", split="validation")}
SINGLE = {1: {"a": 0.80, "b": 0.50, "c": 0.70}, 2: {"a": 0.82, "b": 0.40, "c": 0.72}, 3: {"a": 0.78, "b": 0.45,
                                                                                          "c": 0.74}}


def hand_made_scores():
    scores = {((task,), seed): {task: values[task]} for seed, values in SINGLE.items() for task in "abc"}
    for seed in SINGLE:
        # with b, a's AUC rises by 0.01 * seed; with a, b's RMSE *falls* by 0.02 (better) on every seed
        scores[(("a", "b"), seed)] = {"a": SINGLE[seed]["a"] + 0.01 * seed, "b": SINGLE[seed]["b"] - 0.02}
        # the pair (c, a) is stored in the other order: c loses 0.05 accuracy, a loses 0.03 AUC
        scores[(("c", "a"), seed)] = {"c": SINGLE[seed]["c"] - 0.05, "a": SINGLE[seed]["a"] - 0.03}
    # b + c only on seeds 1 and 2; a seed-4 pair run has no single-task baseline and must not count
    for seed in (1, 2, 4):
        scores[(("b", "c"), seed)] = {"b": 0.30, "c": 0.75}
    scores[(("a", "b", "c"), 1)] = {"a": 0.81, "b": 0.52, "c": 0.70}
    return scores


def row_of(rows, task, partner):
    (row,) = [r for r in rows if r["task"] == task and r["partner"] == partner]
    return row


def test_gain_is_positive_when_the_metric_improves_in_either_direction():
    assert gain(0.9, 0.8, "max") == pytest.approx(0.1)
    assert gain(0.7, 0.8, "max") == pytest.approx(-0.1)
    assert gain(0.3, 0.5, "min") == pytest.approx(0.2)
    assert gain(0.6, 0.5, "min") == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="'max' or 'min'"):
        gain(1.0, 0.0, "up")


def test_pair_gains_mean_and_spread_over_seeds():
    rows = pair_affinity(hand_made_scores(), ["a", "b", "c"], METRICS)
    assert [(r["task"], r["partner"]) for r in rows] == [
        ("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b")]

    a_with_b = row_of(rows, "a", "b")  # AUC up by 0.01, 0.02, 0.03: positive gain
    assert a_with_b["n_seeds"] == 3
    assert a_with_b["gain_mean"] == pytest.approx(0.02)
    assert a_with_b["gain_std"] == pytest.approx(statistics.stdev([0.01, 0.02, 0.03]))
    assert a_with_b["single_mean"] == pytest.approx(0.80)
    assert a_with_b["grouped_mean"] == pytest.approx(0.82)
    relative = [0.01 * s / SINGLE[s]["a"] for s in SINGLE]
    assert a_with_b["relative_gain_mean"] == pytest.approx(statistics.mean(relative))
    assert a_with_b["relative_gain_std"] == pytest.approx(statistics.stdev(relative))

    b_with_a = row_of(rows, "b", "a")  # RMSE down by 0.02: lower is better, so the gain is +0.02
    assert b_with_a["direction"] == "min" and b_with_a["metric"] == "rmse"
    assert b_with_a["gain_mean"] == pytest.approx(0.02)
    assert b_with_a["gain_std"] == pytest.approx(0.0, abs=1e-12)

    assert row_of(rows, "c", "a")["gain_mean"] == pytest.approx(-0.05)  # the pair stored as ("c", "a")
    assert row_of(rows, "c", "a")["split"] == "validation"
    assert row_of(rows, "a", "c")["gain_mean"] == pytest.approx(-0.03)

    b_with_c = row_of(rows, "b", "c")  # seeds 1 and 2 only: seed 4 has no baseline
    assert b_with_c["n_seeds"] == 2
    assert b_with_c["gain_mean"] == pytest.approx(statistics.mean([0.50 - 0.30, 0.40 - 0.30]))
    assert b_with_c["gain_std"] == pytest.approx(statistics.stdev([0.20, 0.10]))


def test_a_pair_without_runs_or_with_one_seed_is_marked_not_invented():
    scores = {(("a",), 1): {"a": 0.8}, (("b",), 1): {"b": 0.5}, (("a", "b"), 1): {"a": 0.9, "b": 0.4}}
    rows = pair_affinity(scores, ["a", "b", "c"], METRICS)
    one_seed = row_of(rows, "a", "b")
    assert one_seed["n_seeds"] == 1 and one_seed["gain_mean"] == pytest.approx(0.1)
    assert math.isnan(one_seed["gain_std"])  # no spread from one seed
    never_run = row_of(rows, "a", "c")
    assert never_run["n_seeds"] == 0 and math.isnan(never_run["gain_mean"])


def test_group_gains_of_larger_groups():
    rows = group_affinity(hand_made_scores(), METRICS)
    assert [(r["group"], r["task"]) for r in rows] == [("a+b+c", "a"), ("a+b+c", "b"), ("a+b+c", "c")]
    gains = {r["task"]: r["gain_mean"] for r in rows}
    assert gains == pytest.approx({"a": 0.01, "b": -0.02, "c": 0.0})
    assert all(r["n_seeds"] == 1 for r in rows)


def test_bad_scores_are_refused_by_name():
    with pytest.raises(ValueError, match=r"lack task\(s\) \['b'\]"):
        pair_affinity({(("a", "b"), 1): {"a": 0.9}}, ["a", "b"], METRICS)
    with pytest.raises(TypeError, match=r"\(group, seed\)"):
        pair_affinity({("a", "b", 1): {"a": 0.9}}, ["a", "b"], METRICS)
    with pytest.raises(ValueError, match=r"no metric for task\(s\) \['d'\]"):
        pair_affinity({}, ["a", "d"], METRICS)


def test_task_metrics_know_their_direction():
    assert TaskMetric("auc").direction == "max" and TaskMetric("mae").direction == "min"
    assert TaskMetric.parse({"metric": "r2", "split": "validation"}, "t") == TaskMetric("r2", "validation", "max")
    assert TaskMetric.parse("loss", "t", default_split="validation").split == "validation"
    assert TaskMetric.parse({"metric": "my_score", "direction": "min"}, "t").direction == "min"
    with pytest.raises(ValueError, match="no known direction for metric 'my_score'"):
        TaskMetric("my_score")
    with pytest.raises(ValueError, match="'metric', 'split', 'direction'"):
        TaskMetric.parse({"name": "auc"}, "t")
    assert infer_metric(["mae", "rmse", "mse", "loss"], "t").metric == "rmse"
    assert infer_metric(["auc", "accuracy", "loss"], "t").metric == "auc"
    with pytest.raises(ValueError, match="cannot choose a metric for task 't'"):
        infer_metric(["weird"], "t")


def test_directions_agree_with_the_cotrainer():
    from neural_cotraining.trainer.metrics import METRIC_MODES

    assert {name: METRIC_DIRECTIONS[name] for name in METRIC_MODES} == METRIC_MODES


def test_csv_holds_every_pair(tmp_path):
    rows = pair_affinity(hand_made_scores(), ["a", "b", "c"], METRICS)
    path = write_rows_csv(rows, tmp_path / "out" / "pairs.csv", PAIR_FIELDS)
    with open(path, newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert list(read[0]) == list(PAIR_FIELDS)
    assert len(read) == 6
    b_with_a = [r for r in read if r["task"] == "b" and r["partner"] == "a"][0]
    assert float(b_with_a["gain_mean"]) == pytest.approx(0.02) and b_with_a["n_seeds"] == "3"


def test_matrix_and_heatmap(tmp_path):
    rows = pair_affinity(hand_made_scores(), ["a", "b", "c"], METRICS)
    matrix = affinity_matrix(rows, ["a", "b", "c"])
    assert matrix[0][1] == pytest.approx(0.02)  # row: the task evaluated (a); column: its partner (b)
    assert matrix[2][0] == pytest.approx(-0.05)
    assert all(math.isnan(matrix[i][i]) for i in range(3))
    path = plot_affinity_heatmap(rows, ["a", "b", "c"], tmp_path / "plots" / "heatmap.png")
    assert path.is_file()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 200 and image.height > 200
    relative = plot_affinity_heatmap(rows, ["a", "b", "c"], tmp_path / "relative.png", value="relative_gain_mean",
                                     spread="relative_gain_std")
    assert relative.is_file() and relative.read_bytes() != path.read_bytes()


def test_summaries_and_plans_import_without_datajoint():
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys\n"
        "for blocked in ('datajoint', 'neural_cotraining.pipeline'):\n"
        "    sys.modules[blocked] = None  # any import of these now raises ImportError\n"
        "import neural_cotraining.affinity.scores, neural_cotraining.affinity.plan, neural_cotraining.configs.tabular\n"
        "import neural_cotraining.affinity.heatmap, neural_cotraining.dataset.tabular\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
