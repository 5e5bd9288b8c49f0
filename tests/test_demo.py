"""The demo's path end to end, on a shrunken copy of the demo experiment (the full demo is its own command)."""

import json

import yaml

from neural_cotraining.cli import main
from neural_cotraining.demo.report import CONDITIONS, DEMO_EXPERIMENT


def shrink(experiment: dict) -> dict:
    simulation = {"n_sessions": 2, "n_neurons": 6, "n_train_images": 60, "n_test_images": 10, "simulation_seed": 7}
    robustness = {"noise_levels": [0.1, 0.4], "corruptions": ["gaussian_blur"], "severities": [1, 3]}
    experiment["seeds"] = [1]
    for label in ("cotrain", "cotrain_shuffled"):
        experiment["datasets"][label]["config"]["neural"].update(simulation)
        experiment["datasets"][label]["config"]["image"].update(robustness)
    for label in ("image_only", "noise_trained"):
        experiment["datasets"][label]["config"].update(robustness)
    experiment["datasets"]["neural_only"]["config"].update(simulation)
    for trainer in experiment["trainers"].values():
        trainer["config"].update(max_epochs=1)
    return experiment


def test_the_demo_is_the_papers_experiment_in_miniature():
    experiment = yaml.safe_load(DEMO_EXPERIMENT.read_text())
    assert [c["dataset"] for c in experiment["combinations"]] == CONDITIONS
    assert len(experiment["seeds"]) >= 3
    assert experiment["datasets"]["cotrain_shuffled"]["config"]["neural"]["shuffle_responses"] is True
    assert experiment["datasets"]["noise_trained"]["config"]["train_noise_levels"]
    options = experiment["trainers"]["cotrain"]["config"]["loss_weighting_options"]
    assert options.get("log_variance_bounds") or options.get("log_variance_decay")  # weights that cannot run away
    budgets = {(t["config"]["max_epochs"], t["config"]["patience"], t["config"]["restore_best"])
               for t in experiment["trainers"].values()}
    assert budgets == {(30, None, False)}  # every condition is judged after the same training


def test_demo_prints_the_summary_and_writes_its_files(tmp_path, schema_name, capsys):
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(shrink(yaml.safe_load(DEMO_EXPERIMENT.read_text()))))
    try:
        arguments = ["demo", "--experiment", str(path), "--schema", schema_name, "--output", str(tmp_path / "out"),
                     "--workers", "1"]
        assert main(arguments) == 0
    finally:
        from neural_cotraining.pipeline import activate

        activate(schema_name).schema.drop(prompt=False)
    out = capsys.readouterr().out
    assert "jobs: 5 | done 5 |" in out
    table = out.split("per condition, mean ± sd over seeds")[1].splitlines()
    assert table[1].split()[:4] == ["condition", "seeds", "test", "accuracy"]
    assert [line.split()[0] for line in table[2:7]] == CONDITIONS
    assert "oracle correlation of the simulated neurons (leave-one-out, test trials): 0." in out
    corruptions = out.split("accuracy under each corruption")[1].splitlines()
    assert corruptions[1].split() == ["condition", "gaussian_blur"]
    assert [line.split()[0] for line in corruptions[2:6]] == CONDITIONS[:4]
    paired = out.split("paired differences over the same seeds")[1].splitlines()
    assert [line.split()[0] for line in paired[2:4]] == ["cotrain", "cotrain"]
    assert "cotrain - image_only" in paired[2] and "cotrain - cotrain_shuffled" in paired[3]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert 0 < summary["oracle_correlation"] < 1
    assert list(summary["conditions"]) == CONDITIONS
    assert sorted(summary["per_seed"]["cotrain"]) == ["1"]
    assert summary["conditions"]["neural_only"]["neural test correlation"]["n"] == 1
    difference = summary["paired_differences"]["cotrain - cotrain_shuffled"]["noise 0.1"]
    per_seed = summary["per_seed"]
    expected = per_seed["cotrain"]["1"]["noise 0.1"] - per_seed["cotrain_shuffled"]["1"]["noise 0.1"]
    assert difference["per_seed"]["1"] == expected
    assert len(summary["sentences"]) == 2 and all(s.startswith("cotrain") for s in summary["sentences"])
    for sentence in summary["sentences"]:
        assert sentence in out
    assert (tmp_path / "out" / "plots" / "robustness.png").stat().st_size > 10_000
    assert len(list((tmp_path / "out" / "plots").glob("*__*.png"))) == 5
    assert (tmp_path / "out" / "results.csv").read_text().startswith("dataset,model,trainer,seed,score")
