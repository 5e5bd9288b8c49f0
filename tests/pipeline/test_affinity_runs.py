"""A small task-affinity study end to end against the database: entries, training, summary, files, CLI."""

import csv
import itertools

import pytest
import torch
import yaml

from neural_cotraining.registry import ConfigKeyError
from neural_cotraining.cli import main as cli_main
from neural_cotraining.affinity.plan import AffinityStudy
from neural_cotraining.configs.tabular import tabular_heads, tabular_loss_functions
from neural_cotraining.affinity.runs import run_affinity_study

TASKS = ["malignant", "worst_area", "worst_concavity"]
DATASET_FN = "neural_cotraining.dataset.builders.tabular_loaders"
MODEL_FN = "neural_cotraining.models.builders.hard_sharing_mlp"
TRAINER_FN = "neural_cotraining.trainer.builders.cotrainer"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def tiny_configs(epochs=2):
    dataset = {"source": "breast_cancer", "tasks": TASKS, "batch_size": 128}
    model = {"hidden_sizes": [8], "heads": tabular_heads("breast_cancer", TASKS)}
    trainer = {"max_epochs": epochs, "lr": 0.01, "cycler": "max_size_cycle", "loss_weighting": "likelihood",
               "loss_functions": tabular_loss_functions("breast_cancer", TASKS), "verbose": False}
    return dataset, model, trainer


def tiny_study(**overrides):
    dataset, model, trainer = tiny_configs()
    options = dict(dataset_fn=DATASET_FN, dataset_config=dataset, model_fn=MODEL_FN, model_config=model,
                   trainer_fn=TRAINER_FN, trainer_config=trainer, seeds=[1, 2])
    return AffinityStudy(**{**options, **overrides})


def test_affinity_study_end_to_end(pipeline, tmp_path):
    study = tiny_study()
    result = run_affinity_study(pipeline, study, output_dir=tmp_path / "affinity")

    singles = [(task,) for task in TASKS]
    pairs = list(itertools.combinations(TASKS, 2))
    assert [(job.group, job.seed) for job in result.jobs] == [(g, s) for g in singles + pairs for s in (1, 2)]
    # one dataset, model and trainer entry per group, each holding only its group's tasks
    datasets = {tuple(row["dataset_config"]["tasks"]) for row in pipeline.Dataset().to_dicts()}
    assert datasets == set(singles + pairs)
    heads = {tuple(row["model_config"]["heads"]) for row in pipeline.Model().to_dicts()}
    assert heads == set(singles + pairs)
    trainers = {tuple(row["trainer_config"]["loss_functions"]) for row in pipeline.Trainer().to_dicts()}
    assert trainers == set(singles + pairs)
    assert sorted(pipeline.Seed().to_arrays("seed").tolist()) == [1, 2]
    assert len(pipeline.TrainedModel()) == 12 and not result.missing  # 3 singles + 3 pairs, x 2 seeds, all trained

    # every ordered pair, judged on its loss's metric (AUC for the diagnosis, RMSE for the measurements)
    assert {(row["task"], row["partner"]) for row in result.pairs} == set(itertools.permutations(TASKS, 2))
    assert {task: metric.metric for task, metric in result.metrics.items()} == {
        "malignant": "auc", "worst_area": "rmse", "worst_concavity": "rmse"}
    assert all(row["n_seeds"] == 2 for row in result.pairs)

    # the gain is recomputed here from the stored outputs: RMSE is lower-better, so gain = alone - together
    def stored(group, seed, task, metric):
        job = next(job for job in result.jobs if job.group == group and job.seed == seed)
        output = (pipeline.TrainedModel() & job.key).to_dicts()[0]["output"]
        return output["final"]["test"][task][metric]

    row = next(r for r in result.pairs if r["task"] == "worst_area" and r["partner"] == "malignant")
    gains = [stored(("worst_area",), s, "worst_area", "rmse") - stored(("malignant", "worst_area"), s, "worst_area",
                                                                        "rmse") for s in (1, 2)]
    assert row["gain_mean"] == pytest.approx(sum(gains) / 2)
    assert row["gain_std"] == pytest.approx(abs(gains[0] - gains[1]) / 2 ** 0.5)
    row = next(r for r in result.pairs if r["task"] == "malignant" and r["partner"] == "worst_concavity")
    gains = [stored(("malignant", "worst_concavity"), s, "malignant", "auc") - stored(("malignant",), s, "malignant",
                                                                                       "auc") for s in (1, 2)]
    assert row["gain_mean"] == pytest.approx(sum(gains) / 2)

    # model selection monitored the group's own metrics
    trainer_rows = {tuple(r["trainer_config"]["loss_functions"]): r["trainer_config"]
                    for r in pipeline.Trainer().to_dicts()}
    assert trainer_rows[("malignant", "worst_area")]["monitor"] == {
        "validation/malignant/auc": "max", "validation/worst_area/rmse": "min"}

    files = result.files
    assert set(files) == {"scores", "pairs", "heatmap"}
    assert all(path.is_file() and path.stat().st_size > 0 for path in files.values())
    with open(files["pairs"], newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 6
    with open(files["scores"], newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 3 * 2 + 3 * 2 * 2  # one row per job and task
    assert files["heatmap"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # running it again finds every entry and model: nothing new is trained, the summary is the same
    again = run_affinity_study(pipeline, study)
    assert len(pipeline.TrainedModel()) == 12 and len(pipeline.Dataset()) == 6
    assert again.pairs == result.pairs


def test_a_bad_study_inserts_nothing(pipeline):
    _, model, _ = tiny_configs()
    with pytest.raises(ConfigKeyError, match="affinity group malignant: .*width"):
        run_affinity_study(pipeline, tiny_study(model_config={**model, "width": 3}))
    assert len(pipeline.Dataset()) == 0 and len(pipeline.Model()) == 0 and len(pipeline.Seed()) == 0


def test_cli_runs_an_affinity_file_with_a_sampled_group(pipeline, schema_name, tmp_path, capsys):
    dataset, model, trainer = tiny_configs(epochs=1)
    path = tmp_path / "affinity.yaml"
    path.write_text(yaml.safe_dump({
        "schema": schema_name,
        "seeds": [3],
        "datasets": {"d": {"fn": DATASET_FN, "config": dataset}},
        "models": {"m": {"fn": MODEL_FN, "config": model}},
        "trainers": {"t": {"fn": TRAINER_FN, "config": trainer}},
        "affinity": {"group_size": 3, "n_groups": 1, "heatmap_value": "relative_gain_mean",
                     "output": str(tmp_path / "out")},
    }))
    assert cli_main(["affinity", str(path), "--reserve-jobs"]) == 0
    printed = capsys.readouterr().out
    assert "relative_gain_mean" in printed and "group_affinity.csv" in printed
    assert len(pipeline.TrainedModel()) == 3 + 3 + 1
    with open(tmp_path / "out" / "group_affinity.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["group"], r["task"]) for r in rows] == [("+".join(TASKS), task) for task in TASKS]
    assert (tmp_path / "out" / "affinity_heatmap.png").is_file()


def test_failed_jobs_are_reported_and_left_out(pipeline, tmp_path):
    _, _, trainer = tiny_configs()
    study = tiny_study(seeds=[1], trainer_config={**trainer, "main_task": "no_such_task"})  # fails when training
    result = run_affinity_study(pipeline, study, output_dir=tmp_path)
    assert len(result.missing) == len(result.jobs) == 6 and len(pipeline.TrainedModel()) == 0
    assert all(row["n_seeds"] == 0 for row in result.pairs) and len(result.pairs) == 6
    assert (tmp_path / "affinity_heatmap.png").is_file()
