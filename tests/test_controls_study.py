"""The controls study's path end to end on a shrunken copy: predictors first, the conditions made from them after,
every condition per seed in summary.json with paired differences, intervals and sentences."""

import json

import pytest
import yaml

from neural_cotraining.cli import main
from neural_cotraining.demo.report import CONTROL_COMPARISONS, CONTROLS_EXPERIMENT

SIMULATION = {"n_sessions": 2, "n_neurons": 6, "n_train_images": 60, "n_test_images": 10, "simulation_seed": 7}
ROBUSTNESS = {"noise_levels": [0.1, 0.4], "corruptions": [], "severities": [1]}


def shrink(experiment: dict) -> dict:
    for label, dataset in experiment["datasets"].items():
        config = dataset["config"]
        if "neural" in config:
            config["neural"].update(SIMULATION)
            config["image"].update(ROBUSTNESS)
        elif label == "neural_only":
            config.update(SIMULATION)
        else:
            config.update(ROBUSTNESS)
    for trainer in experiment["trainers"].values():
        trainer["config"].update(max_epochs=1)
    return experiment


def test_the_study_states_its_expected_outcome_and_pairs_every_control():
    text = CONTROLS_EXPERIMENT.read_text()
    assert "EXPECTED OUTCOME, stated before the first run" in text
    experiment = yaml.safe_load(text)
    conditions = [c["dataset"] for c in experiment["combinations"]]
    assert {"image_only", "cotrain", "cotrain_shuffled", "cotrain_oracle", "cotrain_oracle_shuffled",
            "cotrain_teacher", "cotrain_teacher_shuffled", "noise_trained"} <= set(conditions)
    assert {pair for pair in CONTROL_COMPARISONS} >= {("cotrain_teacher", "cotrain_teacher_shuffled"),
                                                      ("cotrain_oracle", "cotrain_oracle_shuffled")}
    datasets = experiment["datasets"]
    assert datasets["cotrain_teacher_shuffled"]["config"]["neural"]["shuffle_responses"] is True
    assert datasets["cotrain_oracle_shuffled"]["config"]["shuffle_targets"] is True
    budgets = {(t["config"]["max_epochs"], t["config"]["patience"]) for t in experiment["trainers"].values()}
    assert budgets == {(30, None)}


@pytest.mark.db
def test_the_study_trains_predictors_first_and_reports_every_condition(tmp_path, schema_name, capsys):
    path = tmp_path / "controls.yaml"
    path.write_text(yaml.safe_dump(shrink(yaml.safe_load(CONTROLS_EXPERIMENT.read_text()))))
    output = tmp_path / "out"
    try:
        arguments = ["demo", "--study", "controls", "--experiment", str(path), "--schema", schema_name,
                     "--output", str(output), "--workers", "1", "--seeds", "2"]
        assert main(arguments) == 0
    finally:
        from neural_cotraining.pipeline import activate

        activate(schema_name).schema.drop(prompt=False)
    out = capsys.readouterr().out
    assert "jobs: 18 | done 10 |" in out  # first the 5 conditions without trained inputs, 2 seeds each
    assert "jobs: 18 | done 18 |" in out  # then the 4 made from the trained predictor and teacher
    summary = json.loads((output / "summary.json").read_text())
    conditions = [c["dataset"] for c in yaml.safe_load(path.read_text())["combinations"]]
    assert list(summary["conditions"]) == conditions
    assert all(sorted(summary["per_seed"][c]) == ["1", "2"] for c in conditions)
    assert yaml.safe_load((output / "experiment.yaml").read_text())["seeds"] == [1, 2]
    pairs = [f"{a} - {b}" for a, b in CONTROL_COMPARISONS]
    assert list(summary["paired_differences"]) == pairs
    for name in pairs:
        difference = summary["paired_differences"][name]["noise accuracy"]
        low, high = difference["ci95"]
        assert low <= difference["mean"] <= high and difference["n"] == 2
        assert difference["seeds_needed"] is None or difference["seeds_needed"] >= 2
    assert len(summary["sentences"]) == len(pairs)
    for sentence in summary["sentences"]:
        assert sentence in out and "95% interval" in sentence
    assert "each difference with its 95% t interval" in out
    assert summary["robustness_figure"] and (output / "plots" / "robustness.png").stat().st_size > 10_000
