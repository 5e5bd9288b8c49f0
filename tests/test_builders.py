import json

import pytest

from neural_cotraining import registry as builders
from neural_cotraining.registry import (
    BUILDER_MODULES_ENV,
    CONFIG_FILE_ENV,
    ConfigKeyError,
    DisallowedBuilderError,
    BuilderError,
    check_config,
    resolve_builder,
)
from tests.pipeline import tiny_builders


@pytest.fixture(autouse=True)
def no_runtime_prefixes(monkeypatch):
    monkeypatch.setattr(builders, "_runtime_prefixes", [])
    monkeypatch.delenv(BUILDER_MODULES_ENV, raising=False)
    monkeypatch.delenv(CONFIG_FILE_ENV, raising=False)


def test_our_own_builders_resolve():
    from neural_cotraining.dataset.builders import cotraining_loaders
    from neural_cotraining.trainer.builders import cotrainer

    assert resolve_builder("neural_cotraining.dataset.builders.cotraining_loaders") is cotraining_loaders
    assert resolve_builder("neural_cotraining.trainer.builders.cotrainer") is cotrainer
    assert resolve_builder("neural_cotraining.models.builders.multitask_model").__name__ == "multitask_model"


@pytest.mark.parametrize(
    "name",
    [
        "neural_cotraining.pipeline.server.mariadb.run_command",
        "neural_cotraining.pipeline.server.mariadb.install_debian_package",
        "neural_cotraining.cli.main",
        "neural_cotraining.hashing.make_hash",
        "neural_cotraining.models.builders.strict_config",  # listed in __all__, but a helper: takes no seed
        "neural_cotraining.dataset.images.loaders.digits_loaders",  # a builder, but only via the builders module
    ],
)
def test_our_functions_that_are_not_builders_are_refused(name):
    with pytest.raises(BuilderError, match="is not a builder"):
        resolve_builder(name)


def test_module_outside_allow_list_is_refused_before_import(monkeypatch, tmp_path):
    marker = tmp_path / "imported"
    (tmp_path / "side_effect_module.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef fn(seed): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DisallowedBuilderError, match="not on the allow-list"):
        resolve_builder("side_effect_module.fn")
    assert not marker.exists()
    with pytest.raises(DisallowedBuilderError):
        resolve_builder("os.system")


def test_allow_list_from_environment(monkeypatch):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "other_lab, tests")
    assert resolve_builder("tests.pipeline.tiny_builders.random_regression") is tiny_builders.random_regression


def test_allow_list_prefix_is_a_whole_module_name(monkeypatch):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "test")
    with pytest.raises(DisallowedBuilderError):
        resolve_builder("tests.pipeline.tiny_builders.random_regression")


def test_allow_list_from_config_file(monkeypatch, tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"builder_modules": ["tests.pipeline"]}))
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    assert resolve_builder("tests.pipeline.tiny_builders.linear_model") is tiny_builders.linear_model


def test_allow_list_at_run_time():
    builders.allow_builder_modules("tests.pipeline.tiny_builders")
    assert resolve_builder("tests.pipeline.tiny_builders.sgd_trainer") is tiny_builders.sgd_trainer


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("make_hash", "is not a builder name"),
        ("neural_cotraining.hashing.make_hash()", "is not a builder name"),
        ("neural_cotraining.hashing.__import__", "private names"),
        ("neural_cotraining.dataset.builders.missing", "is not a builder"),
        ("neural_cotraining.no_such_module.fn", "is not a builder"),
        ("neural_cotraining.models.builders.UnknownConfigKeyError", "is not a builder"),
        ("tests.pipeline.tiny_builders.missing", "has no attribute 'missing'"),
        ("tests.no_such_module.fn", "cannot import module"),
        ("tests.pipeline.tiny_builders.torch", "not a function"),
    ],
)
def test_bad_names_are_refused(name, fragment):
    builders.allow_builder_modules("tests")
    with pytest.raises(BuilderError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        resolve_builder(name)


def test_unknown_config_key_names_the_accepted_ones():
    with pytest.raises(ConfigKeyError) as error:
        check_config(tiny_builders.random_regression, {"n_sample": 3}, "dataset")
    message = str(error.value)
    assert "['n_sample']" in message and "'n_samples'" in message and "'noise'" in message


def test_missing_required_key_and_reserved_keys_are_refused():
    def needs_path(seed, path, batch_size=4):
        return {}

    with pytest.raises(ConfigKeyError, match=r"needs config keys \['path'\]"):
        check_config(needs_path, {"batch_size": 2}, "dataset")
    with pytest.raises(ConfigKeyError, match=r"\['seed'\] are passed by the pipeline"):
        check_config(tiny_builders.linear_model, {"hidden": 3, "seed": 1}, "model")
    check_config(needs_path, {"path": "x", "seed": 1}, "dataset")  # nnfabrik's rule: a dataset config may fix its seed


def test_var_keyword_builders_accept_any_key():
    def anything(model, dataloaders, seed, uid, cb, **config):
        return 0.0, {}, {}

    check_config(anything, {"whatever": 1}, "trainer")


def test_config_must_be_a_dict_with_string_keys():
    with pytest.raises(ConfigKeyError, match="must be a dict"):
        check_config(tiny_builders.linear_model, [("hidden", 3)], "model")
    with pytest.raises(ConfigKeyError, match="keys must be strings"):
        check_config(tiny_builders.linear_model, {1: 3}, "model")


RE_EXPORTS = """
import functools
from os import system
from subprocess import run

from tests.pipeline.tiny_builders import linear_model

own_partial = functools.partial(linear_model, hidden=2)


def data(seed):
    return {}
"""


@pytest.mark.parametrize("name, defined_in", [("run", "subprocess"), ("system", "posix"),
                                              ("linear_model", "tests.pipeline.tiny_builders")])
def test_a_name_an_allowed_module_only_imports_from_elsewhere_does_not_resolve(monkeypatch, tmp_path, name,
                                                                              defined_in):
    (tmp_path / "lab_reexports.py").write_text(RE_EXPORTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    builders.allow_builder_modules("lab_reexports")
    assert resolve_builder("lab_reexports.data").__module__ == "lab_reexports"
    with pytest.raises(BuilderError) as refused:
        resolve_builder(f"lab_reexports.{name}")
    if name == "system":  # os.system is a built-in function, not one defined in Python anywhere
        assert str(refused.value) == "builder 'lab_reexports.system' is a builtin_function_or_method, not a function"
    else:
        assert str(refused.value).startswith(f"builder 'lab_reexports.{name}' is defined in module {defined_in!r}, "
                                             "which is not on the allow-list")
    with pytest.raises(BuilderError, match="is a partial, not a function"):
        resolve_builder("lab_reexports.own_partial")


@pytest.mark.parametrize("name, reason", [
    ("os", "is part of Python's standard library"),
    ("os.path", "is part of Python's standard library"),
    ("builtins", "is part of Python's standard library"),
    ("posix", "is part of Python's standard library"),
    ("importlib.util", "is part of Python's standard library"),
    ("__main__", "is a private or __main__ module"),
    ("_lab", "is a private or __main__ module"),
    ("lab.", "is not a dotted module name"),
    ("lab x", "is not a dotted module name"),
    ("", "is not a dotted module name"),
    (3, "is not a dotted module name"),
])
def test_a_module_read_from_the_database_is_refused_unless_it_can_be_a_labs_package(name, reason):
    with pytest.raises(DisallowedBuilderError) as refused:
        builders.check_recorded_module(name, "schema s, experiment 'e', builder_modules")
    assert str(refused.value) == f"schema s, experiment 'e', builder_modules: {name!r} {reason}; refused"
    assert builders.check_recorded_module("my_lab.models") == "my_lab.models"
