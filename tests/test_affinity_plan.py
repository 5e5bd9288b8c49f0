"""Task-affinity study plans: groups, configs restricted to each group's tasks, affinity files (no database)."""

import pytest

from neural_cotraining.configs import ExperimentFileError
from neural_cotraining.affinity.plan import (
    AffinityStudy,
    load_affinity_file,
    plan_study,
    restrict_to_tasks,
    study_from_dict,
    task_groups,
)
from neural_cotraining.configs.tabular import tabular_heads, tabular_loss_functions, tabular_monitor

TASKS = ["a", "b", "c"]
TRAINER = {
    "max_epochs": 3,
    "main_task": "a",
    "score_metric": "validation/a/auc",
    "loss_functions": {"a": "bce_with_logits", "b": "mse", "c": "mse"},
    "monitor": {"validation/a/auc": "max", "validation/b/rmse": "min"},
    "loss_weighting_options": {"weights": {"a": 1.0, "b": 2.0}},
}


def test_groups_are_singles_pairs_and_a_seeded_sample():
    assert task_groups(TASKS) == [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c")]
    five = list("abcde")
    sample = task_groups(five, group_size=3, n_groups=4, sample_seed=7)
    larger = sample[5 + 10:]
    assert len(larger) == 4 and len(set(larger)) == 4
    assert all(list(group) == sorted(group) for group in larger)  # tasks in study order
    assert larger == task_groups(five, group_size=3, n_groups=4, sample_seed=7)[15:]
    assert any(task_groups(five, group_size=3, n_groups=4, sample_seed=s)[15:] != larger for s in range(8, 12))
    assert len(task_groups(five, group_size=4)) == 5 + 10 + 5  # all 4-groups without n_groups
    with pytest.raises(ValueError, match="group_size must be an integer from 3"):
        task_groups(TASKS, group_size=4)
    with pytest.raises(ValueError, match="n_groups needs group_size"):
        task_groups(TASKS, n_groups=2)
    with pytest.raises(ValueError, match="at least two distinct tasks"):
        task_groups(["a", "a"])


def test_restriction_keeps_only_the_groups_settings():
    restricted = restrict_to_tasks(TRAINER, ("b", "c"), TASKS)
    assert restricted == {
        "max_epochs": 3,
        "loss_functions": {"b": "mse", "c": "mse"},
        "monitor": {"validation/b/rmse": "min"},
        "loss_weighting_options": {"weights": {"b": 2.0}},
    }  # main_task and score_metric named task a: dropped, so the trainer's defaults apply
    only_c = restrict_to_tasks(TRAINER, ("c",), TASKS)
    assert "monitor" not in only_c and "loss_weighting_options" not in only_c  # emptied: dropped
    dataset = restrict_to_tasks({"source": "x", "tasks": TASKS, "other": ["a", "z"]}, ("c", "a"), TASKS,
                                task_key="tasks")
    assert dataset == {"source": "x", "tasks": ["c", "a"], "other": ["a", "z"]}
    assert restrict_to_tasks({"heads": {"a": {}, "b": None}}, ("a",), TASKS) == {"heads": {"a": {}}}
    with pytest.raises(ValueError, match=r"group tasks \['d'\]"):
        restrict_to_tasks({}, ("d",), TASKS)


def study(**overrides):
    options = dict(
        dataset_fn="neural_cotraining.dataset.builders.tabular_loaders",
        dataset_config={"tasks": TASKS},
        model_fn="neural_cotraining.models.builders.hard_sharing_mlp",
        model_config={"heads": {"a": {"kind": "binary"}, "b": {"kind": "regression"}, "c": {"kind": "regression"}}},
        trainer_fn="neural_cotraining.trainer.builders.cotrainer",
        trainer_config={"loss_functions": {"a": "bce_with_logits", "b": "mse", "c": "mse"}},
        seeds=[1, 2],
    )
    return AffinityStudy(**{**options, **overrides})


def test_plan_monitors_each_groups_own_metrics():
    plans = plan_study(study(metrics={"c": {"metric": "mae", "split": "validation"}}))
    assert [plan.group for plan in plans] == task_groups(TASKS)
    pair = plans[4]  # (a, c)
    assert pair.dataset_config == {"tasks": ["a", "c"]}
    assert pair.model_config == {"heads": {"a": {"kind": "binary"}, "c": {"kind": "regression"}}}
    # a: from its loss (bce_with_logits -> auc); c: named; always on validation data
    assert pair.trainer_config["monitor"] == {"validation/a/auc": "max", "validation/c/mae": "min"}
    assert plans[1].trainer_config["monitor"] == {"validation/b/rmse": "min"}
    assert "monitor" not in plan_study(study(), accepts_monitor=False)[0].trainer_config
    assert "monitor" not in plan_study(study(monitor_group=False))[0].trainer_config
    given = plan_study(study(trainer_config={**TRAINER}))
    assert given[3].trainer_config["monitor"] == TRAINER["monitor"]  # (a, b): the config's own monitor, kept
    assert given[2].trainer_config["monitor"] == {"validation/c/rmse": "min"}  # emptied for (c,): filled from loss


def test_a_study_of_some_of_the_datasets_tasks_drops_the_others_settings():
    four = {"a": {"kind": "binary"}, "b": {}, "c": {}, "d": {}}
    plans = plan_study(study(tasks=["a", "b", "c"], dataset_config={"tasks": ["a", "b", "c", "d"]},
                             model_config={"heads": four}))
    assert len(plans) == 6
    assert plans[3].dataset_config == {"tasks": ["a", "b"]}
    assert plans[3].model_config == {"heads": {"a": {"kind": "binary"}, "b": {}}}


def test_metrics_follow_the_heads_when_the_trainer_names_no_losses():
    heads = {"a": {"kind": "binary"}, "b": {"kind": "regression", "loss": "smooth_l1"}, "c": {"kind": "multiclass"}}
    planned = study(model_config={"heads": heads}, trainer_config={})
    assert planned.metric_specs() == {"a": "auc", "b": "rmse", "c": "accuracy"}
    assert plan_study(planned)[5].trainer_config["monitor"] == {"validation/b/rmse": "min",
                                                                "validation/c/accuracy": "max"}
    assert study(model_config={}, trainer_config={}).metric_specs() == {}  # known only from the results


def test_study_checks_its_options():
    assert study(dataset_config={"tasks": ["x", "y"]}, trainer_config={}, model_config={}).tasks == ["x", "y"]
    with pytest.raises(ValueError, match="name the study's tasks"):
        study(dataset_config={})
    with pytest.raises(ValueError, match=r"metrics names task\(s\) \['d'\]"):
        study(metrics={"d": "auc"})
    with pytest.raises(ValueError, match="seeds must be a non-empty list"):
        study(seeds=[])
    with pytest.raises(ValueError, match="heatmap_value"):
        study(heatmap_value="gain")


def test_tabular_config_helpers_cover_exactly_the_tasks():
    tasks = ["worst_area", "malignant"]
    assert tabular_heads("breast_cancer", tasks) == {"worst_area": {"kind": "regression"},
                                                     "malignant": {"kind": "binary"}}
    assert tabular_loss_functions("breast_cancer", tasks) == {"worst_area": "mse", "malignant": "bce_with_logits"}
    assert tabular_monitor("breast_cancer", tasks) == {"validation/worst_area/rmse": "min",
                                                       "validation/malignant/auc": "max"}


def affinity_file(**section):
    entry = {"fn": "neural_cotraining.dataset.builders.tabular_loaders", "config": {"tasks": ["malignant", "bmi"]}}
    return {"schema": "s", "seeds": [1], "datasets": {"d": entry}, "models": {"m": {"fn": "x.y"}},
            "trainers": {"t": {"fn": "x.z"}}, "affinity": section}


def test_affinity_files_are_checked(tmp_path):
    experiment, parsed, output = study_from_dict(affinity_file(group_size=None, output="out", split="validation"))
    assert parsed.tasks == ["malignant", "bmi"] and parsed.split == "validation" and output == "out"
    assert experiment.schema == "s"
    with pytest.raises(ExperimentFileError, match="needs an 'affinity:' section"):
        study_from_dict({k: v for k, v in affinity_file().items() if k != "affinity"})
    with pytest.raises(ExperimentFileError, match=r"affinity has unknown keys \['k'\]"):
        study_from_dict(affinity_file(k=3))
    two = affinity_file()
    two["models"]["m2"] = {"fn": "x.w"}
    with pytest.raises(ExperimentFileError, match="exactly one entry under 'models'"):
        study_from_dict(two)
    with pytest.raises(ExperimentFileError, match="affinity: group_size"):
        study_from_dict(affinity_file(group_size=5))
    with pytest.raises(ExperimentFileError, match="no such affinity file"):
        load_affinity_file(tmp_path / "missing.yaml")


def test_the_shipped_affinity_file_plans_every_group():
    from pathlib import Path

    import neural_cotraining.configs as configs

    experiment, parsed, _ = load_affinity_file(Path(configs.__file__).parent / "tabular_affinity.yaml")
    plans = plan_study(parsed)
    assert len(plans) == 4 + 6 and experiment.seeds == parsed.seeds
    for plan in plans:
        assert plan.dataset_config["tasks"] == list(plan.group)
        assert list(plan.model_config["heads"]) == list(plan.group)
        assert list(plan.trainer_config["loss_functions"]) == list(plan.group)


def test_cli_refuses_a_bad_affinity_file_before_touching_the_database(tmp_path, capsys):
    from neural_cotraining.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text("schema: s\nseeds: [1]\ndatasets: {d: {fn: a.b}}\nmodels: {m: {fn: a.c}}\n"
                    "trainers: {t: {fn: a.d}}\naffinity: {tasks: [x, y], group_size: 7}\n")
    assert main(["affinity", str(path)]) == 1
    assert "group_size must be an integer from 3" in capsys.readouterr().err


def test_an_affinity_file_with_a_yaml_error_is_named_in_one_line(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("schema: s\naffinity: [unclosed\n")
    with pytest.raises(ExperimentFileError) as error:
        load_affinity_file(path)
    message = str(error.value)
    assert message.startswith(f"{path} line 3, column 1: not valid YAML") and "\n" not in message
    assert "<unicode string>" not in message
