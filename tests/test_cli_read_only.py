"""Commands that only read (status, results, plot, watch, errors) on a schema that does not exist: one line on
stderr, a nonzero exit, and no schema created."""

import pytest

from neural_cotraining.cli import main
from tests.tiny_experiment import write_tiny_experiment

READ_ONLY = [["status"], ["results"], ["plot", "--output", "{tmp}/plots"], ["watch", "--times", "1"],
             ["errors"]]


def _schema_exists(name: str) -> bool:
    from neural_cotraining.pipeline import connect

    connection = connect()
    return bool(connection.query(connection.adapter.schema_exists_sql(name)).rowcount)


@pytest.mark.db
@pytest.mark.parametrize("command", READ_ONLY, ids=lambda command: command[0])
def test_a_read_only_command_on_a_missing_schema_creates_nothing(command, schema_name, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    experiment = write_tiny_experiment(tmp_path, schema_name)
    arguments = [command[0], str(experiment), *(part.format(tmp=tmp_path) for part in command[1:])]
    code = main(["-q", *arguments])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err == (f"error: there is no schema {schema_name} at mysql://root@127.0.0.1:3306: nothing has been added "
                   "to it yet (`add` creates it)\n")
    assert not _schema_exists(schema_name)
    assert not (tmp_path / "plots").exists()


def _all_tables(name: str) -> list[str]:
    from neural_cotraining.pipeline import connect

    connection = connect()
    return sorted(row[0] for row in connection.query(connection.adapter.list_tables_sql(name)).fetchall())


@pytest.mark.db
@pytest.mark.parametrize("command", READ_ONLY, ids=lambda command: command[0])
def test_a_read_only_command_on_an_existing_schema_creates_no_table(command, schema_name, tmp_path, capsys,
                                                                    monkeypatch):
    """Not even DataJoint's hidden jobs table, which its first ``table.jobs`` declares."""
    monkeypatch.setenv("NEURAL_COTRAINING_BUILDER_MODULES", "tests")
    experiment = write_tiny_experiment(tmp_path, schema_name)
    assert main(["-q", "add", str(experiment)]) == 0
    before = _all_tables(schema_name)
    assert not [name for name in before if name.startswith("~~")]
    arguments = [command[0], str(experiment), *(part.format(tmp=tmp_path) for part in command[1:])]
    main(["-q", *arguments])
    capsys.readouterr()
    assert _all_tables(schema_name) == before
