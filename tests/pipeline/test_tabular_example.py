"""examples/tabular_multitask.py runs end to end (tiny settings) and drops its schema with --cleanup."""

import csv
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_tabular_example_runs_and_cleans_up(schema_name, tmp_path):
    output = tmp_path / "tabular"
    command = [sys.executable, str(REPO_ROOT / "examples" / "tabular_multitask.py"), str(output),
               "--schema", schema_name, "--seeds", "1", "--epochs", "2", "--affinity-epochs", "1", "--cleanup"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout
    assert "likelihood" in printed and "fixed" in printed and "malignant AUC" in printed
    assert f"dropped schema {schema_name}" in printed
    with open(output / "pair_affinity.csv", newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 4 * 3  # every ordered pair of the four tasks
    assert (output / "group_affinity.csv").is_file() and (output / "affinity_heatmap.png").is_file()

    from neural_cotraining.pipeline import connect

    schemas = [row[0] for row in connect().query("SHOW DATABASES").fetchall()]
    assert schema_name not in schemas
