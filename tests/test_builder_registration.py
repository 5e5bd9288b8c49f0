"""Shipped builders are named by registration, not by the file that defines them."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from neural_cotraining.registry import (
    BuilderError,
    builder_name,
    register_builder,
    registered_builders,
    resolve_builder,
    stored_names,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
BEFORE_THE_MOVE = REPO_ROOT / "tests" / "data" / "demo_entries_before_move.json"


def test_every_shipped_builder_has_one_name_whether_given_as_function_or_name():
    builders = registered_builders()
    assert len(builders) >= 12
    for name, function in builders.items():
        assert builder_name(function) == name
        assert resolve_builder(name) is function
        assert stored_names(name)[0] == name
        assert stored_names(builder_name(function))[0] == name


def test_builders_defined_outside_a_builders_module_are_named_by_registration():
    from neural_cotraining.dataset.images.loaders import digits_loaders
    from neural_cotraining.dataset.neural.loaders import monkey_static_loaders

    assert digits_loaders.__module__ == "neural_cotraining.dataset.images.loaders"
    assert builder_name(digits_loaders) == "neural_cotraining.dataset.builders.digits_loaders"
    assert builder_name(monkey_static_loaders) == "neural_cotraining.dataset.builders.monkey_static_loaders"


def test_an_older_name_resolves_to_the_same_builder_and_is_found_under_the_new_one():
    from neural_cotraining.models.builders import hard_sharing_mlp

    old = "neural_cotraining.models.graph.builders.hard_sharing_mlp"
    assert resolve_builder(old) is hard_sharing_mlp
    assert stored_names(old) == ["neural_cotraining.models.builders.hard_sharing_mlp", old]


def test_a_name_cannot_be_registered_twice():
    def multitask_model(dataloaders, seed):
        return None

    with pytest.raises(ValueError, match="multitask_model is taken by"):
        register_builder("model")(multitask_model)


def test_unregistered_functions_of_ours_are_not_builders():
    with pytest.raises(BuilderError, match="is not a builder"):
        resolve_builder("neural_cotraining.dataset.images.loaders.digits_loaders")


def _name_and_hash_from(tmp_path: Path, module: str) -> dict:
    """Register one builder defined in ``module`` (a fresh file) in a fresh interpreter; its stored name and key."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent('''
        from neural_cotraining.registry import register_builder

        @register_builder("dataset")
        def probe_loaders(seed, size=3):
            return {}
    '''))
    script = textwrap.dedent(f'''
        import json
        from neural_cotraining.hashing import make_hash
        from neural_cotraining.registry import builder_name, resolve_builder
        from {module} import probe_loaders
        name = builder_name(probe_loaders)
        assert resolve_builder(name) is probe_loaders
        print(json.dumps({{"fn": name, "hash": make_hash({{"size": 4}}), "module": probe_loaders.__module__}}))
    ''')
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": f"{tmp_path}:{REPO_ROOT}"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_moving_a_builder_to_another_file_changes_no_key(tmp_path):
    here = _name_and_hash_from(tmp_path, "defined_here")
    moved = _name_and_hash_from(tmp_path, "moved_elsewhere")
    assert here["module"] != moved["module"]
    assert (here["fn"], here["hash"]) == (moved["fn"], moved["hash"])
    assert here["fn"] == "neural_cotraining.dataset.builders.probe_loaders"


@pytest.mark.db
def test_one_builder_added_by_function_and_by_either_name_is_one_entry(pipeline):
    from neural_cotraining.models.builders import hard_sharing_mlp

    config = {"hidden_sizes": [4], "heads": {"a": {"kind": "regression", "outputs": 1}}}
    by_function = pipeline.Model().add_entry(hard_sharing_mlp, config)
    by_name = pipeline.Model().add_entry("neural_cotraining.models.builders.hard_sharing_mlp", config)
    by_old_name = pipeline.Model().add_entry("neural_cotraining.models.graph.builders.hard_sharing_mlp", config)
    assert by_function == by_name == by_old_name
    assert len(pipeline.Model()) == 1


@pytest.mark.db
def test_an_entry_stored_under_an_older_name_is_found_not_added_again(pipeline):
    from neural_cotraining.hashing import make_hash

    config = {"hidden_sizes": [4], "heads": {"a": {"kind": "regression", "outputs": 1}}}
    old = {"model_fn": "neural_cotraining.models.graph.builders.hard_sharing_mlp", "model_hash": make_hash(config)}
    pipeline.Model().insert1({**old, "model_config": config, "model_fabrikant": pipeline.Fabrikant().ensure(None)})
    from neural_cotraining.models.builders import hard_sharing_mlp

    assert pipeline.Model().add_entry(hard_sharing_mlp, config) == old
    assert len(pipeline.Model()) == 1


@pytest.mark.db
def test_the_demo_entries_stored_before_the_move_are_the_demos_keys_after_it(pipeline):
    """Rows as the code before the layout move stored them for configs/demo.yaml (tests/data, written by that code);
    the code after the move finds each of them and adds nothing."""
    from neural_cotraining.configs import load_experiment
    from neural_cotraining.demo import DEMO_EXPERIMENT
    from neural_cotraining.pipeline.experiments import add_experiment

    before = json.loads(BEFORE_THE_MOVE.read_text())
    fabrikant = pipeline.Fabrikant().ensure(None)
    tables = {"dataset": pipeline.Dataset, "model": pipeline.Model, "trainer": pipeline.Trainer}
    for entry in before["entries"]:
        kind = entry["kind"]
        tables[kind]().insert1({f"{kind}_fn": entry["fn"], f"{kind}_hash": entry["hash"],
                                f"{kind}_config": entry["config"], f"{kind}_comment": entry["label"],
                                f"{kind}_fabrikant": fabrikant})
    jobs = add_experiment(pipeline, load_experiment(DEMO_EXPERIMENT))
    assert len(jobs) == 25
    stored = {(e["kind"], e["fn"], e["hash"]) for e in before["entries"]}
    for job in jobs:
        for kind in tables:
            assert (kind, job["key"][f"{kind}_fn"], job["key"][f"{kind}_hash"]) in stored
    assert len(pipeline.Dataset()) + len(pipeline.Model()) + len(pipeline.Trainer()) == len(before["entries"])


@pytest.mark.db
def test_an_experiment_naming_an_older_name_gets_the_canonical_key_everywhere(pipeline):
    from neural_cotraining.configs import experiment_from_dict
    from neural_cotraining.pipeline.experiments import add_experiment, experiment_keys

    raw = {
        "schema": "unused", "seeds": [1],
        "datasets": {"d": {"fn": "neural_cotraining.dataset.builders.tabular_loaders", "config": {}}},
        "models": {"m": {"fn": "neural_cotraining.models.graph.builders.hard_sharing_mlp",
                         "config": {"hidden_sizes": [4]}}},
        "trainers": {"t": {"fn": "neural_cotraining.trainer.builders.cotrainer", "config": {"max_epochs": 1}}},
    }
    experiment = experiment_from_dict(raw)
    added = add_experiment(pipeline, experiment)
    assert added[0]["key"]["model_fn"] == "neural_cotraining.models.builders.hard_sharing_mlp"
    assert experiment_keys(pipeline, experiment) == added == experiment_keys(None, experiment)
