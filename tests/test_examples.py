"""The examples run end to end against the real database, each in a throwaway schema dropped afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = EXAMPLES / "walkthrough.ipynb"
SCRIPT = EXAMPLES / "register_your_own_builders.py"
# one torch thread in the kernel and the script: its thread pool slows down many-fold when the cores are busy
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture
def throwaway_schema(schema_name):
    """A schema name for the example to create; whatever it created is dropped afterwards."""
    from neural_cotraining.pipeline import activate

    yield schema_name
    activate(schema_name).schema.drop(prompt=False)


def schema_exists(name: str) -> bool:
    from neural_cotraining.pipeline import connect

    query = "SELECT schema_name FROM information_schema.schemata WHERE schema_name = %s"
    return bool(connect().query(query, args=(name,)).fetchall())


def trained_rows(name: str) -> list[dict]:
    from neural_cotraining.pipeline import activate

    return activate(name).TrainedModel().proj("score").to_dicts()


def test_walkthrough_notebook_runs_and_trains_a_model(throwaway_schema, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # the kernel inherits this process's environment: the notebook reads its schema from here
    monkeypatch.setenv("WALKTHROUGH_SCHEMA", throwaway_schema)
    for name, value in SINGLE_THREAD.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "the committed notebook should carry no outputs"
    )
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    client.execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert errors == []
    # the learning curves and the predicted digits are drawn inline
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert len(images) == 2
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "same entry, same key: True" in text
    assert "refused:" in text and "max_epoch" in text
    assert "{'success_count': 1, 'error_list': []}" in text
    # the labelled results table: the entries' comments as labels, the best epoch filled
    labelled = next(line for line in text.splitlines() if line.lstrip().startswith("0 "))
    assert "2-block VGG core; neural readouts at block 0" in labelled and " nan" not in labelled

    rows = trained_rows(throwaway_schema)
    assert len(rows) == 1
    assert 0.0 < rows[0]["score"] <= 1.0  # the validation accuracy of a trained digit classifier
    from neural_cotraining.pipeline import activate

    tables = activate(throwaway_schema)
    assert len(tables.TrainedModel.ModelState()) == 1
    epochs = {row["epoch"] for row in tables.TrainedModel.EpochMetric().to_dicts()}
    assert epochs == {1, 2}


def run_script(schema: str, *arguments: str, allowed_by_environment: bool = False) -> subprocess.CompletedProcess:
    environment = {**os.environ, **SINGLE_THREAD, "OWN_BUILDERS_SCHEMA": schema}
    environment.pop("NEURAL_COTRAINING_CONFIG", None)
    if allowed_by_environment:  # as on a worker machine: the allow-list comes from the environment
        environment["NEURAL_COTRAINING_BUILDER_MODULES"] = "my_lab"
    else:  # the script must allow my_lab itself
        environment.pop("NEURAL_COTRAINING_BUILDER_MODULES", None)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=EXAMPLES.parent,
    )


def test_register_your_own_builders_script(throwaway_schema):
    first = run_script(throwaway_schema)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "my_lab allowed with allow_builder_modules('my_lab')" in first.stdout
    assert "trained 2 model(s); errors: 0" in first.stdout
    rows = trained_rows(throwaway_schema)
    assert sorted(row["seed"] for row in rows) == [1, 2]
    from neural_cotraining.pipeline import activate

    tables = activate(throwaway_schema)
    assert {row["model_fn"] for row in tables.Model().to_dicts()} == {"my_lab.models.shared_mlp"}
    assert {row["dataset_fn"] for row in tables.Dataset().to_dicts()} == {"my_lab.data.two_task_vectors"}
    # every seed's result line is printed: seed, score, test accuracy, test rmse
    result_lines = [line.split() for line in first.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [int(line[0]) for line in result_lines] == [1, 2]
    for _, score, accuracy, rmse in result_lines:
        assert 0.5 < float(score) <= 1.0 and 0.5 < float(accuracy) <= 1.0 and float(rmse) > 0.0

    # nothing is dropped by default; a second run (allowed by the environment variable this time: its entries are
    # resolved through the allow-list again) trains nothing new, and --cleanup drops the schema
    assert schema_exists(throwaway_schema)
    second = run_script(throwaway_schema, "--cleanup", allowed_by_environment=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "my_lab is allowed by NEURAL_COTRAINING_BUILDER_MODULES" in second.stdout
    assert "trained 0 model(s); errors: 0" in second.stdout
    assert f"dropped {throwaway_schema}" in second.stdout
    assert not schema_exists(throwaway_schema)


OWN_TABLES = EXAMPLES / "own_tables.py"


def test_own_tables_script_populates_a_variant_and_a_score(schema_name):
    environment = {**os.environ, **SINGLE_THREAD, "OWN_TABLES_SCHEMA": schema_name}
    environment.pop("NEURAL_COTRAINING_BUILDER_MODULES", None)
    try:
        run = subprocess.run([sys.executable, str(OWN_TABLES)], env=environment, capture_output=True, text=True,
                             timeout=300, cwd=EXAMPLES.parent)
        assert run.returncode == 0, run.stderr[-3000:]
        for table in ("TrainedModel", "NoisyAccuracy", "QuickTrainedModel"):
            assert f"{table}: 2 populated, 0 errors" in run.stdout
        rows = [line.split() for line in run.stdout.splitlines() if line.strip()[:1].isdigit()]
        assert [int(row[0]) for row in rows] == [1, 2]
        for _, score, noisy, quick, *_ in rows:
            assert quick == score  # the variant trains with the pipeline's make: the same job, the same score
            assert 0.0 < float(noisy) < float(score)  # noise on the inputs costs accuracy
        assert schema_exists(schema_name + "_analysis")
    finally:
        cleanup = subprocess.run([sys.executable, str(OWN_TABLES), "--cleanup"], env=environment,
                                 capture_output=True, text=True, timeout=300, cwd=EXAMPLES.parent)
    assert cleanup.returncode == 0, cleanup.stderr[-3000:]
    assert "TrainedModel: 0 populated" in cleanup.stdout  # nothing new to train the second time
    assert not schema_exists(schema_name) and not schema_exists(schema_name + "_analysis")
