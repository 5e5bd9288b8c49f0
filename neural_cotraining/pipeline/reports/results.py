"""An experiment's trained models, labelled: final metrics per model and per-epoch metrics."""

from __future__ import annotations

from types import SimpleNamespace

from .rows import rows_per_job

__all__ = ["results_table", "epoch_table"]


def _flatten_final(output: dict) -> dict:
    flat = {}
    final = output.get("final", {}) if isinstance(output, dict) else {}
    for split, tasks in final.items():
        for task, metrics in tasks.items():
            for metric, value in metrics.items():
                flat[f"{split}/{task}/{metric}"] = value
    return flat


def results_table(tables: SimpleNamespace, keys: list[dict]) -> list[dict]:
    """One row per trained model among ``keys``: labels, seed, score and the final metrics per split."""
    rows = []
    for job, found in rows_per_job(tables.TrainedModel(), keys):
        for row in found:
            output = row["output"] if isinstance(row["output"], dict) else {}
            rows.append(
                {
                    **job["labels"],
                    "seed": int(row["seed"]),
                    "score": float(row["score"]),
                    "best_epoch": output.get("best_epoch"),
                    **_flatten_final(output),
                }
            )
    return rows


def epoch_table(tables: SimpleNamespace, keys: list[dict]) -> list[dict]:
    """Per-epoch metric rows of the trained models among ``keys``, labelled."""
    columns = ("epoch", "split", "task", "metric", "value")
    return [
        {**job["labels"], "seed": int(row["seed"]), **{column: row[column] for column in columns}}
        for job, found in rows_per_job(tables.TrainedModel.EpochMetric(), keys, order_by="epoch")
        for row in found
    ]
