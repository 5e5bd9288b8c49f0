"""Experiments as `add` recorded them: a worker without the file trains only the jobs someone asked for, with the
builder modules recorded with them; `load_model` in a fresh process resolves them; reports without a file count
the recorded jobs (MariaDB, real `neural-cotraining` processes)."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pymysql
import pytest

from neural_cotraining.cli import main
from neural_cotraining.registry import BUILDER_MODULES_ENV, DisallowedBuilderError
from tests.pipeline import tiny_builders
from tests.pipeline.test_schema_ownership import definitions as all_definitions, server  # noqa: F401 (a fixture)
from tests.pipeline.worker_processes import command_environment, run_command, start_command
from tests.tiny_experiment import entry, linear, regression, sgd, tiny_experiment_text

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
JOB_KEY = ("dataset_fn", "dataset_hash", "model_fn", "model_hash", "trainer_fn", "trainer_hash", "seed")

# a lab's builder package, written to a temporary folder: allowed only by the experiment file's builder_modules
LAB_BUILDERS = '''
from tests.pipeline import tiny_builders


def data(seed, n_samples=16):
    return tiny_builders.random_regression(seed, n_samples=n_samples)


def model(dataloaders, seed, hidden=3):
    return tiny_builders.linear_model(dataloaders, seed, hidden=hidden)


def trainer(model, dataloaders, seed, uid=None, cb=None, epochs=1):
    return tiny_builders.sgd_trainer(model, dataloaders, seed, uid=uid, cb=cb, epochs=epochs)
'''


@pytest.fixture
def lab(tmp_path):
    """(module name, folder to put on PYTHONPATH): a builder package no allow-list names."""
    name = f"lab_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "builders.py").write_text(LAB_BUILDERS)
    return name, tmp_path


def lab_experiment(path: Path, schema: str, lab_name: str) -> Path:
    """2 datasets x 1 model x 2 trainers, 2 of the 4 combinations asked for, one seed."""
    builders = f"{lab_name}.builders"
    path.write_text(tiny_experiment_text(
        schema, name="sweep", builder_modules=[lab_name],
        datasets={"small": entry(f"{builders}.data", n_samples=16), "large": entry(f"{builders}.data", n_samples=24)},
        models={"linear": entry(f"{builders}.model")},
        trainers={"short": entry(f"{builders}.trainer", epochs=1), "long": entry(f"{builders}.trainer", epochs=2)},
        combinations=[{"dataset": "small", "model": "linear", "trainer": "short"},
                      {"dataset": "large", "model": "linear", "trainer": "long"}]))
    return path


def lab_environment(folder: Path) -> dict:
    """A command's environment with ``folder`` on PYTHONPATH and no builder modules allowed by the environment."""
    env = command_environment()
    env["PYTHONPATH"] += f"{os.pathsep}{folder}"
    del env[BUILDER_MODULES_ENV]
    return env


def run_lab_command(arguments, folder: Path):
    return run_command(*arguments, env=lab_environment(folder))


def run_python(code: str, folder: Path, *arguments, timeout=180):
    return subprocess.run([sys.executable, "-c", code, *arguments], cwd=ROOT, env=lab_environment(folder),
                          capture_output=True, text=True, timeout=timeout)


def job_keys(table) -> set[tuple]:
    return {tuple(int(row[a]) if a == "seed" else row[a] for a in JOB_KEY) for row in table.proj().to_dicts()}


def printed_keys(out: str) -> set[tuple]:
    return {tuple(job[a] for a in JOB_KEY) for job in map(json.loads, out.splitlines())}


def add_unasked_entries(pipeline, monkeypatch):
    """From Python: another trainer and another seed, so the schema's combinations are 12 and 2 were asked for."""
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 1}, comment="from python")
    pipeline.Seed().insert1({"seed": 2})
    assert len(pipeline.TrainedModel().key_source) == 12


def test_a_worker_without_the_file_trains_exactly_the_recorded_jobs(pipeline, schema_name, lab, monkeypatch,
                                                                    tmp_path):
    lab_name, folder = lab
    added = run_lab_command(["add", str(lab_experiment(tmp_path / "sweep.yaml", schema_name, lab_name))], folder)
    assert added.returncode == 0, added.stderr
    asked = printed_keys(added.stdout)
    assert len(asked) == 2
    add_unasked_entries(pipeline, monkeypatch)

    worker = run_lab_command(["worker", "--schema", schema_name, "--idle-exit", "0", "--poll", "0.2"], folder)
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.strip() == "worker: 2 trained, 0 failed, 0 handed back"
    assert (f"allowing builder modules {lab_name}, recorded with experiment(s) sweep of schema {schema_name}"
            in worker.stderr)
    assert job_keys(pipeline.TrainedModel()) == asked
    assert len(pipeline.TrainedModel().jobs) == 0  # no other job was ever queued, none failed


def test_a_worker_on_a_schema_with_no_added_experiment_is_refused(pipeline, schema_name, monkeypatch, capsys):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 8})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 2})
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 1})
    pipeline.Seed().insert1({"seed": 1})
    assert main(["worker", "--schema", schema_name, "--idle-exit", "0"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: schema {schema_name} has no experiment added with `neural-cotraining add`, so a worker without a "
        "file does not know which of its jobs were asked for",
        "hint: give the experiment file (`neural-cotraining worker FILE`), or `neural-cotraining add FILE` first",
    ]
    assert len(pipeline.TrainedModel()) == 0 and len(pipeline.TrainedModel().jobs) == 0


def test_a_worker_without_a_file_exits_2_when_a_job_it_ran_failed(pipeline, schema_name, monkeypatch, capsys):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 8})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 2})
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 1})
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 2, "fail_at_epoch": 1}, comment="broken")
    pipeline.Seed().insert1({"seed": 1})
    pipeline.AddedExperiment().record("from python", pipeline.TrainedModel().key_source.to_dicts())
    capsys.readouterr()
    assert main(["worker", "--schema", schema_name, "--idle-exit", "0"]) == 2
    assert capsys.readouterr().out.strip() == "worker: 1 trained, 1 failed, 0 handed back"


LOAD_MODEL = """
import json, logging, sys
from neural_cotraining.pipeline import activate
from neural_cotraining.registry import DisallowedBuilderError
logging.basicConfig(level=logging.INFO, format="%(message)s")
tables = activate(sys.argv[1], create=False)
unasked, asked = json.loads(sys.argv[2]), json.loads(sys.argv[3])
try:
    tables.TrainedModel().load_model(unasked)
except DisallowedBuilderError as error:
    print("unasked refused:", str(error).split(",")[0])
dataloaders, model = tables.TrainedModel().load_model(asked)
print("asked:", type(model).__name__, model[0].out_features, len(dataloaders["train"]["regression"].dataset))
"""


def test_load_model_in_a_fresh_process_allows_the_modules_recorded_with_its_job(pipeline, schema_name, lab,
                                                                                tmp_path):
    lab_name, folder = lab
    added = run_lab_command(["add", str(lab_experiment(tmp_path / "sweep.yaml", schema_name, lab_name))], folder)
    assert added.returncode == 0, added.stderr
    asked = next(json.loads(line) for line in added.stdout.splitlines() if '"dataset": "large"' in line)
    asked = {a: asked[a] for a in JOB_KEY}
    # small x long: all of the lab's builders, a combination of the schema that no experiment asks for
    small = json.loads(added.stdout.splitlines()[0])
    unasked = {**asked, "dataset_fn": small["dataset_fn"], "dataset_hash": small["dataset_hash"]}

    loaded = run_python(LOAD_MODEL, folder, schema_name, json.dumps(unasked), json.dumps(asked))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == [
        f"unasked refused: builder '{lab_name}.builders.data' is in module '{lab_name}.builders'",
        "asked: Sequential 3 24",
    ]
    assert f"allowing builder modules {lab_name}, recorded with experiment(s) sweep" in loaded.stderr


def experiment_file(path: Path, schema: str, seeds=(1,), combinations=("sgd",), modules=("tests",)) -> Path:
    """The tiny trio with a second trainer (``slow``), named ``sweep``, asking for the ``combinations`` given."""
    path.write_text(tiny_experiment_text(
        schema, name="sweep", builder_modules=list(modules), seeds=seeds, datasets={"small": regression(n_samples=8)},
        models={"linear": linear(hidden=2)}, trainers={"sgd": sgd(epochs=1), "slow": sgd(epochs=2, comment="two epochs")},
        combinations=[{"dataset": "small", "model": "linear", "trainer": trainer} for trainer in combinations]))
    return path


def records(pipeline) -> tuple[list, list]:
    return pipeline.AddedExperiment().to_dicts(), pipeline.AddedJob().to_dicts(order_by=JOB_KEY)


def test_adding_twice_changes_nothing_and_an_edited_file_updates_its_record(pipeline, schema_name, tmp_path,
                                                                           capsys, caplog):
    path = experiment_file(tmp_path / "experiment.yaml", schema_name, combinations=("sgd", "slow"))
    assert main(["add", str(path)]) == 0
    first = records(pipeline)
    assert [row["builder_modules"] for row in first[0]] == ["tests"]
    assert first[0][0]["experiment_comment"] == str(path)
    assert [(row["trainer_label"], row["seed"]) for row in first[1]] == [("sgd", 1), ("slow", 1)]
    time.sleep(1.1)  # a second insert would show in the timestamp
    assert main(["add", str(path)]) == 0
    assert records(pipeline) == first

    caplog.clear()
    experiment_file(path, schema_name, seeds=(1, 2), combinations=("sgd",), modules=("tests", "tests.pipeline"))
    assert main(["add", str(path)]) == 0
    experiments, jobs = records(pipeline)
    assert [row["builder_modules"] for row in experiments] == ["tests,tests.pipeline"]
    assert experiments[0]["experiment_ts"] == first[0][0]["experiment_ts"]  # when it was first added
    assert sorted((row["trainer_label"], int(row["seed"])) for row in jobs) == [("sgd", 1), ("sgd", 2)]
    assert len(pipeline.Trainer()) == 2  # the entry of the job it dropped stays
    assert "experiment 'sweep': 1 job(s) recorded before are not in" in caplog.text


def test_an_add_that_dies_inside_its_transaction_leaves_no_experiment_behind(pipeline, schema_name, tmp_path):
    """Another session holds the experiment's row uncommitted, so the add waits inside its transaction, after its
    entries and seeds went in; its connection is then killed. Nothing of it may remain."""
    path = experiment_file(tmp_path / "experiment.yaml", schema_name)
    holder = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=False)
    admin = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    try:
        with holder.cursor() as cursor:
            cursor.execute(f"INSERT INTO {schema_name}.fabrikant (fabrikant_name) VALUES ('holder')")
            cursor.execute(f"INSERT INTO {schema_name}.added_experiment (experiment_name, experiment_fabrikant) "
                           "VALUES ('sweep', 'holder')")
        add = start_command("add", str(path))
        waiting = None
        deadline = time.monotonic() + 120
        with admin.cursor() as cursor:
            while waiting is None and time.monotonic() < deadline and add.poll() is None:
                cursor.execute("SELECT id FROM information_schema.processlist WHERE info LIKE %s "
                               "AND id <> CONNECTION_ID()",
                               (f"%INTO `{schema_name}`.`added_experiment`%",))
                found = cursor.fetchall()
                waiting = found[0][0] if found else None
                time.sleep(0.05)
            assert waiting is not None, add.communicate(timeout=60)
            cursor.execute(f"KILL CONNECTION {waiting}")
        _, stderr = add.communicate(timeout=120)
        assert add.returncode != 0, stderr
    finally:
        holder.rollback()
        holder.close()
        admin.close()
    assert len(pipeline.AddedExperiment()) == len(pipeline.AddedJob()) == 0
    assert len(pipeline.Dataset()) == len(pipeline.Model()) == len(pipeline.Trainer()) == len(pipeline.Seed()) == 0


@pytest.mark.parametrize("module, reason", [
    ("os", "is part of Python's standard library"),
    ("builtins", "is part of Python's standard library"),
    ("subprocess.run", "is part of Python's standard library"),
    ("__main__", "is a private or __main__ module"),
    ("my_lab; import os", "is not a dotted module name"),
])
def test_a_recorded_builder_module_that_is_not_a_labs_package_is_refused(pipeline, schema_name, tmp_path, module,
                                                                          reason):
    assert main(["add", str(experiment_file(tmp_path / "experiment.yaml", schema_name))]) == 0
    pipeline.AddedExperiment().update1({"experiment_name": "sweep", "builder_modules": f"tests,{module}"})
    expected = f"schema {schema_name}, experiment 'sweep', builder_modules: {module!r} {reason}; refused"
    with pytest.raises(DisallowedBuilderError) as refused:
        pipeline.TrainedModel().load_model(pipeline.AddedJob().proj().to_dicts()[0])
    assert str(refused.value) == expected


def test_a_worker_refuses_os_recorded_as_a_builder_module_and_trains_nothing(pipeline, schema_name, tmp_path):
    assert main(["add", str(experiment_file(tmp_path / "experiment.yaml", schema_name))]) == 0
    with pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True) as connection:
        connection.cursor().execute(f"UPDATE {schema_name}.added_experiment SET builder_modules = 'os'")
    worker = run_lab_command(["worker", "--schema", schema_name, "--idle-exit", "0"], tmp_path)
    assert worker.returncode == 1
    assert worker.stderr.strip().splitlines()[-1] == (
        f"error: schema {schema_name}, experiment 'sweep', builder_modules: 'os' is part of Python's standard "
        "library; refused")
    assert len(pipeline.TrainedModel()) == 0 and len(pipeline.TrainedModel().jobs) == 0


def test_reports_without_a_file_count_the_recorded_jobs_and_every_trained_model(pipeline, schema_name, tmp_path,
                                                                              monkeypatch, capsys):
    path = experiment_file(tmp_path / "experiment.yaml", schema_name, seeds=(1, 2), combinations=("sgd",))
    assert main(["add", str(path)]) == 0
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 3}, comment="three epochs")
    pipeline.Seed().insert1({"seed": 3})
    assert len(pipeline.TrainedModel().key_source) == 9  # the file's 2 trainers and the new one, 3 seeds
    capsys.readouterr()
    assert main(["status", "--schema", schema_name]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "jobs: 2 | done 0 | pending 0 | reserved 0 | errors 0 | not started 2"]

    # a model trained from Python that no experiment asks for still shows
    unasked = (pipeline.TrainedModel().key_source & {"trainer_hash": pipeline.Trainer().config_hash({"epochs": 3}),
                                                     "seed": 3}).keys()
    pipeline.TrainedModel().populate(unasked)
    assert main(["status", "--schema", schema_name]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "jobs: 3 | done 1 | pending 0 | reserved 0 | errors 0 | not started 2"]
    assert main(["results", "--schema", schema_name]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert [row.split()[:5] for row in rows] == [["small", "linear", "three", "epochs", "3"]]

    from neural_cotraining import results

    assert results(schema=schema_name)[["dataset", "trainer", "seed"]].values.tolist() == [
        ["small", "three epochs", 3]]


def test_reports_on_a_schema_filled_from_python_keep_every_combination(pipeline, schema_name, monkeypatch, capsys):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 8})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 2})
    for epochs in (1, 2):
        pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": epochs})
    pipeline.Seed().insert([{"seed": 1}, {"seed": 2}])
    capsys.readouterr()
    assert main(["status", "--schema", schema_name]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "jobs: 4 | done 0 | pending 0 | reserved 0 | errors 0 | not started 4"]


def definitions(server, schema: str) -> dict[str, str]:
    """Every table's definition, DataJoint's hidden ones included."""
    return all_definitions(server, schema)


@pytest.mark.parametrize("marked", [True, False], ids=["marked", "before the marker"])
def test_a_schema_made_before_the_added_experiments_reads_as_before_and_gains_them_when_written(
        server, schema_name, monkeypatch, capsys, marked):
    from neural_cotraining.pipeline import activate, drop_schema
    from neural_cotraining.pipeline.schema_rules.marker import MARKER_TABLE

    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    tables = activate(schema_name)
    tables.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 8})
    tables.Model().add_entry(tiny_builders.linear_model, {"hidden": 2})
    tables.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 1})
    tables.Seed().insert1({"seed": 1})
    try:
        # as an earlier version left it: without the two tables (and, earlier still, without the marker)
        server.execute(f"DROP TABLE {schema_name}.added_job, {schema_name}.added_experiment")
        if not marked:
            server.execute(f"DROP TABLE {schema_name}.`{MARKER_TABLE}`")
        before = definitions(server, schema_name)
        capsys.readouterr()
        assert main(["status", "--schema", schema_name]) == 0  # reading: every combination, nothing created
        assert capsys.readouterr().out.splitlines() == [
            "jobs: 1 | done 0 | pending 0 | reserved 0 | errors 0 | not started 1"]
        assert definitions(server, schema_name) == before

        written = activate(schema_name)
        after = definitions(server, schema_name)
        assert {"added_experiment", "added_job", MARKER_TABLE} <= set(after)
        assert {name: after[name] for name in before} == before  # nothing altered
        assert written.AddedExperiment().recorded_jobs() is None and len(written.Dataset()) == 1
    finally:
        drop_schema(schema_name)


POSTGRES_SCRIPT = """
import json, sys
from pathlib import Path
from neural_cotraining.cli import main
from neural_cotraining.pipeline import activate
from tests.pipeline.test_added_experiments import experiment_file
schema, folder = sys.argv[1], Path(sys.argv[2])
try:
    path = experiment_file(folder / "experiment.yaml", schema, combinations=("sgd", "slow"))
    assert main(["-q", "add", str(path)]) == 0
    experiment_file(path, schema, seeds=(1, 2), combinations=("sgd",), modules=("tests", "tests.pipeline"))
    assert main(["-q", "add", str(path)]) == 0
    tables = activate(schema)
    worked = main(["-q", "worker", "--schema", schema, "--idle-exit", "0"])
    print(json.dumps({
        "modules": tables.AddedExperiment().recorded_modules(),
        "jobs": sorted([job["labels"]["trainer"], job["key"]["seed"]] for job in tables.AddedExperiment().recorded_jobs()),
        "worker": worked, "trained": sorted(int(seed) for seed in tables.TrainedModel().to_arrays("seed")),
    }))
finally:
    activate(schema).schema.drop(prompt=False)
"""


def test_the_record_and_a_worker_without_a_file_on_postgresql(tmp_path):
    from tests.pipeline.postgres_script import run_on_postgresql

    report = run_on_postgresql(POSTGRES_SCRIPT, str(tmp_path))
    assert report == {"modules": {"sweep": ["tests", "tests.pipeline"]}, "jobs": [["sgd", 1], ["sgd", 2]],
                      "worker": 0, "trained": [1, 2]}


def test_errors_and_retry_without_the_file(pipeline, schema_name, tmp_path, capsys):
    from tests.tiny_experiment import broken

    path = tmp_path / "experiment.yaml"
    path.write_text(tiny_experiment_text(schema_name, seeds=(1, 2), trainers={"sgd": sgd(epochs=1),
                                                                             "broken": broken()}))
    assert main(["-q", "populate", str(path), "--add", "--reserve-jobs"]) == 2
    capsys.readouterr()
    assert main(["errors", "--schema", schema_name]) == 2
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out[:-1]] == ["small / linear / broken / seed 1",
                                                          "small / linear / broken / seed 2"]
    assert out[-1] == (f"2 of 4 jobs failed; `neural-cotraining retry --schema {schema_name} --all` clears them for "
                       "the next populate or worker")
    assert main(["retry", "--schema", schema_name, "broken", "seed=2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["retry small / linear / broken / seed 2",
                                                    "cleared 1 failed job(s); the next populate or worker trains them "
                                                    "again"]
    assert len(pipeline.TrainedModel().jobs.errors) == 1
