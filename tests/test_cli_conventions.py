"""Command-line conventions: ``--version``; every subcommand's help has a one-line description, its defaults and an
example; ``add --dry-run`` lists the jobs without writing anything."""

import argparse
import json

import pytest

from neural_cotraining import __version__
from neural_cotraining.cli import main
from neural_cotraining.cli.main import build_parser
from tests.tiny_experiment import write_tiny_experiment


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["--version"])
    assert exit_status.value.code == 0
    assert capsys.readouterr().out == f"neural-cotraining {__version__}\n"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_subcommand_help_has_a_description_defaults_and_an_example(name):
    text = _subcommands()[name].format_help()
    description = text.split("\n\n")[1]
    assert description[0].isupper() and description.rstrip().endswith("."), description
    assert f"example:\n  neural-cotraining {name}" in text
    for action in _subcommands()[name]._actions:
        if action.default not in (None, False, argparse.SUPPRESS) and action.help:
            assert f"(default: {action.default})" in " ".join(text.split()), action.dest


@pytest.mark.db
def test_add_dry_run_lists_the_jobs_and_writes_nothing(tmp_path, schema_name, capsys, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    path = write_tiny_experiment(tmp_path, schema_name, seeds=[1, 2])
    from neural_cotraining.pipeline import activate, connect

    assert main(["-q", "add", str(path), "--dry-run"]) == 0
    planned = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    connection = connect()
    assert not connection.query(connection.adapter.schema_exists_sql(schema_name)).rowcount
    try:
        assert main(["-q", "add", str(path)]) == 0
        added = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert planned == added and len(added) == 2
    finally:
        activate(schema_name).schema.drop(prompt=False)
