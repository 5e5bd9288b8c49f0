"""The demo's path end to end, on a shrunken copy of the demo experiment (the full demo is its own command)."""

import json

import yaml

from neural_cotraining.demo import DEMO_EXPERIMENT, run_demo


def shrink(experiment: dict) -> dict:
    simulation = {"n_sessions": 2, "n_neurons": 6, "n_train_images": 60, "n_test_images": 10, "simulation_seed": 7}
    experiment["seeds"] = [1]
    experiment["datasets"]["cotrain"]["config"]["neural"].update(simulation)
    experiment["datasets"]["neural_only"]["config"].update(simulation)
    for trainer in experiment["trainers"].values():
        trainer["config"].update(max_epochs=1)
    return experiment


def test_demo_prints_the_summary_and_writes_its_files(tmp_path, schema_name, capsys):
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(shrink(yaml.safe_load(DEMO_EXPERIMENT.read_text()))))
    try:
        assert run_demo(schema=schema_name, output_dir=str(tmp_path / "out"), experiment_path=path) == 0
    finally:
        from neural_cotraining.pipeline import activate

        activate(schema_name).schema.drop(prompt=False)
    out = capsys.readouterr().out
    assert "jobs: 3 | done 3 |" in out
    table = out.split("summary (mean ± sd over seeds")[1].splitlines()
    assert table[1].split()[:6] == ["condition", "seeds", "test", "accuracy", "noise", "accuracy"]
    assert [line.split()[0] for line in table[2:5]] == ["cotrain", "image_only", "neural_only"]
    assert "oracle correlation of the simulated neurons (leave-one-out, test trials): 0." in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert 0 < summary["oracle_correlation"] < 1
    assert {row["condition"] for row in summary["summary"]} == {"cotrain", "image_only", "neural_only"}
    assert len(list((tmp_path / "out" / "plots").glob("*.png"))) == 3
    assert (tmp_path / "out" / "results.csv").read_text().startswith("dataset,model,trainer,seed,score")
