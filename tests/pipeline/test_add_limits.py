"""``add`` checks what fits the columns first and inserts in one transaction: bad input is one line naming the file,
entry and key with nothing written; a failure inside the database leaves no entry behind (MariaDB; PostgreSQL in
test_postgres)."""

import pymysql
import yaml
import pytest

from neural_cotraining.cli import main
from neural_cotraining.configs import experiment_from_dict
from neural_cotraining.pipeline.experiments import add_experiment
from tests.tiny_experiment import TINY_BUILDERS, entry, sgd, tiny_experiment_text

pytestmark = pytest.mark.db


def experiment_text(schema, seeds=(1, 2), dataset_fn=f"{TINY_BUILDERS}.random_regression", trainer_comment="sgd",
                    trainer_label="sgd", **top_level) -> str:
    return tiny_experiment_text(schema, seeds=seeds, datasets={"small": entry(dataset_fn, n_samples=8)},
                                trainers={trainer_label: sgd(epochs=1, comment=trainer_comment)}, **top_level)


@pytest.fixture
def server():
    connection = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    yield connection.cursor()
    connection.close()


LONG_NAME = f"{TINY_BUILDERS}.{'x' * 80}"
CASES = {
    "comment": ({"trainer_comment": "c" * 300}, "trainers.sgd.comment is 300 characters long; the database column "
                                                "holds at most 256"),
    "label": ({"trainer_comment": "", "trainer_label": "l" * 257}, f"trainers.{'l' * 257}.label is 257 characters "
                                                                   "long; the database column holds at most 256"),
    "builder name": ({"dataset_fn": LONG_NAME}, f"datasets.small.fn is {len(LONG_NAME)} characters long; the database "
                                                "column holds at most 96"),
    "seed": ({"seeds": [1, 3000000000]}, "seeds[1] is 3000000000, outside the seed column's range "
                                           "-2147483648..2147483647"),
    "experiment name": ({"name": "n" * 101}, "name is 101 characters long; the database column holds at most 100"),
    "label with a comment": ({"trainer_label": "l" * 257}, f"trainers.{'l' * 257} (its label) is 257 characters "
                                                           "long; the database column holds at most 256"),
    "builder module": ({"builder_modules": ["tests", "os"]}, "builder_modules[1]: 'os' is part of Python's standard "
                                                             "library; refused"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_value_that_does_not_fit_its_column_is_one_line_and_nothing_is_written(capsys, tmp_path, server,
                                                                                   schema_name, case):
    changes, message = CASES[case]
    path = tmp_path / "experiment.yaml"
    path.write_text(experiment_text(schema_name, **changes))
    assert main(["add", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip().splitlines() == [f"error: {path}: {message}"]
    assert server.execute("SHOW DATABASES LIKE %s", (schema_name,)) == 0  # refused before the schema was made


def test_a_file_whose_stem_is_too_long_a_name_says_so(capsys, tmp_path, server, schema_name):
    path = tmp_path / f"{'s' * 101}.yaml"
    path.write_text(experiment_text(schema_name))
    assert main(["add", str(path)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {path}: name (the file's stem; `name:` sets another) is 101 characters long; the database column "
        "holds at most 100"]
    assert server.execute("SHOW DATABASES LIKE %s", (schema_name,)) == 0


def test_an_add_that_the_database_stops_half_way_leaves_no_entry(pipeline, server, schema_name):
    """The seeds go in last; a trigger makes the server refuse them after the entries went in."""
    server.execute(f"CREATE TRIGGER {schema_name}.refuse_seeds BEFORE INSERT ON {schema_name}.seed FOR EACH ROW "
                   "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'seeds refused by the test'")
    experiment = experiment_from_dict(yaml.safe_load(experiment_text(schema_name)))
    with pytest.raises(Exception, match="seeds refused by the test"):
        add_experiment(pipeline, experiment)
    for table in ("fabrikant", "dataset", "model", "trainer", "seed"):
        server.execute(f"SELECT COUNT(*) FROM {schema_name}.{table}")
        assert server.fetchone() == (0,), table
    server.execute(f"DROP TRIGGER {schema_name}.refuse_seeds")
    add_experiment(pipeline, experiment)
    assert len(pipeline.Dataset()) == len(pipeline.Model()) == len(pipeline.Trainer()) == 1
    assert len(pipeline.Seed()) == 2


def test_add_entry_refuses_a_comment_or_name_too_long_for_its_column(pipeline):
    with pytest.raises(ValueError, match="^trainer entry.comment is 257 characters long; the database column holds "
                                         "at most 256$"):
        pipeline.Trainer().add_entry(f"{TINY_BUILDERS}.sgd_trainer", {"epochs": 1}, comment="c" * 257)
    with pytest.raises(ValueError, match=rf"^dataset entry.fn is {len(LONG_NAME)} characters long"):
        pipeline.Dataset().add_entry(LONG_NAME, {})
    assert len(pipeline.Trainer()) == len(pipeline.Dataset()) == len(pipeline.Fabrikant()) == 0


GO_AND_ADD = """
import sys, time
from pathlib import Path
from neural_cotraining.cli import main
go = Path(sys.argv[1])
Path(sys.argv[3]).touch()  # imported: ready
while not go.exists():
    time.sleep(0.005)
sys.exit(main(["add", sys.argv[2]]))
"""


def test_three_concurrent_first_adds_to_a_new_schema_all_succeed(tmp_path, server, schema_name):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "experiment.yaml"
    path.write_text(experiment_text(schema_name))
    go = tmp_path / "go"
    environment = dict(os.environ, PYTHONPATH=str(root))
    ready = [tmp_path / f"ready{index}" for index in range(3)]
    processes = [subprocess.Popen([sys.executable, "-c", GO_AND_ADD, str(go), str(path), str(flag)], cwd=root,
                                  env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for flag in ready]
    try:
        deadline = time.monotonic() + 120
        while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
            time.sleep(0.05)
        go.touch()  # all three start adding at once
        results = [(process.wait(timeout=120), *process.communicate()) for process in processes]
        assert [code for code, _, _ in results] == [0, 0, 0], [err[-1500:] for _, _, err in results]
        assert all(len(out.splitlines()) == 2 for _, out, _ in results)  # one key per job: 1 x 1 x 1 x 2 seeds
        for table, rows in (("dataset", 1), ("model", 1), ("trainer", 1), ("seed", 2), ("fabrikant", 1)):
            server.execute(f"SELECT COUNT(*) FROM {schema_name}.{table}")
            assert server.fetchone() == (rows,), table
    finally:
        for process in processes:
            process.kill()
        server.execute(f"DROP DATABASE IF EXISTS {schema_name}")
