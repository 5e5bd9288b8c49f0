"""Hostile or odd input to the command: each is one line on stderr naming the file (and the key), exit 1, nothing
written, and nothing runs for minutes: names with a trailing newline, a file that is not UTF-8, a config nested
3,000 levels deep, a YAML alias chain ("billion laughs"), results and plots sent where nothing can be written."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from neural_cotraining.registry import BuilderError, resolve_builder
from neural_cotraining.cli import main
from tests.tiny_experiment import regression, sgd, write_tiny_experiment

ROOT = Path(__file__).resolve().parents[1]
TRIO = (
    "models:\n  linear: {fn: tests.pipeline.tiny_builders.linear_model, config: {hidden: 4}}\n"
    "trainers:\n  sgd: {fn: tests.pipeline.tiny_builders.sgd_trainer, config: {epochs: 1}}\n"
)


def run(capsys, *arguments):
    code = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


def laughs(levels: int) -> str:
    """A config whose list at level n holds nine aliases of the list at level n-1: 9**levels values."""
    lines = ["      l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"      l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("content, message", [
    (b"schema: caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 11)"),
    (f"datasets:\n  small:\n    fn: tests.pipeline.tiny_builders.random_regression\n    config:\n      a: {'[' * 3000}"
     f"{']' * 3000}\n".encode(), "datasets.small.config.a[0][0][0][0][0][0][0][0]... is nested more than 64 levels deep"),
    (f"datasets:\n  small:\n    fn: tests.pipeline.tiny_builders.random_regression\n    config:\n{laughs(7)}".encode(),
     "datasets.small.config.l6 expands to more than 1,000,000 values (through YAML aliases, *name)"),
])
def test_a_file_that_cannot_be_read_safely_is_one_line_naming_file_and_key(tmp_path, content, message):
    """In a subprocess with a time limit: a refusal that took minutes (an alias chain expanded) fails too."""
    path = tmp_path / "experiment.yaml"
    path.write_bytes(b"schema: nct_never_made\nbuilder_modules: [tests]\n" + content + TRIO.encode()
                     if not content.startswith(b"schema") else content)
    completed = subprocess.run([sys.executable, "-m", "neural_cotraining.cli", "add", str(path)], cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1 and completed.stdout == ""
    assert completed.stderr.strip().splitlines() == [f"error: {path}: {message}"]


def test_a_yaml_anchor_merge_still_reads(tmp_path, capsys, monkeypatch):
    from neural_cotraining.configs import load_experiment

    path = tmp_path / "experiment.yaml"
    path.write_text("schema: s\nbuilder_modules: [tests]\ndatasets:\n  small: &small {fn: tests.pipeline.tiny_builders."
                    "random_regression, config: {n_samples: 8}}\n  other: {<<: *small, comment: again}\n" + TRIO)
    experiment = load_experiment(path)
    assert experiment.datasets["other"].config == {"n_samples": 8} and experiment.datasets["other"].comment == "again"


def test_names_with_a_trailing_newline_are_refused(capsys, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    with pytest.raises(BuilderError, match="is not a builder name"):
        resolve_builder("tests.pipeline.tiny_builders.linear_model\n")
    code, out, err = run(capsys, "drop", "nct_schema\n", "--yes")
    assert code == 1 and err == ["error: schema name 'nct_schema\\n' must be 1-64 letters, digits or underscores"]


def test_a_builder_name_with_a_trailing_newline_in_a_file_is_one_line(capsys, tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text('schema: nct_never_made\nbuilder_modules: [tests]\ndatasets:\n  small: {fn: "tests.pipeline.'
                    'tiny_builders.random_regression\\n", config: {n_samples: 8}}\n' + TRIO)
    code, out, err = run(capsys, "add", path)
    assert code == 1 and out == ""
    assert len(err) == 1 and err[0].startswith(f"error: {path}: datasets.small: ") and "is not a builder name" in err[0]


@pytest.fixture
def trained(tmp_path, schema_name, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = write_tiny_experiment(tmp_path, schema_name, datasets={"small": regression(n_samples=16)},
                                 trainers={"sgd": sgd(epochs=1)})
    assert main(["populate", str(path), "--add"]) == 0
    yield path
    from neural_cotraining.pipeline import drop_schema

    drop_schema(schema_name)


@pytest.mark.db
def test_results_and_plots_sent_where_nothing_can_be_written_are_one_line(capsys, tmp_path, trained):
    capsys.readouterr()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for option, target in (("--csv", blocker / "r.csv"), ("--json", blocker / "r.json")):
        code, _, err = run(capsys, "results", trained, option, target)
        assert code == 1 and len(err) == 1 and err[0].startswith(f"error: cannot write {target}: "), err
    code, out, err = run(capsys, "plot", trained, "--output", blocker / "plots")
    assert code == 1 and out == "" and len(err) == 1 and err[0].startswith(f"error: cannot write {blocker / 'plots'}: ")
    assert blocker.read_text() == "not a folder"
