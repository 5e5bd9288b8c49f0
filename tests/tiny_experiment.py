"""The tests' one writer of a small experiment file: by default the tiny builder trio (``tests/pipeline/
tiny_builders.py``) as dataset ``small`` (32 random regression samples), model ``linear`` (4 hidden units) and
trainer ``sgd`` (2 epochs), seed 1, builders allowed from ``tests``.

A test changes what it is about and nothing else: ``seeds``, whole sections (``trainers={"sgd": sgd(),
"broken": broken()}``) built from the entry helpers below, or further top-level keys (``hash="nnfabrik"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml

TINY_BUILDERS = "tests.pipeline.tiny_builders"
COTRAINER = "neural_cotraining.trainer.builders.cotrainer"


def entry(fn: str, comment: str | None = None, **config: Any) -> dict:
    """An entry ``{fn, config[, comment]}`` of the builder ``fn``."""
    return {"fn": fn, "config": config, **({} if comment is None else {"comment": comment})}


def regression(n_samples: int = 32, comment: str | None = None, **config: Any) -> dict:
    return entry(f"{TINY_BUILDERS}.random_regression", comment, n_samples=n_samples, **config)


def linear(hidden: int = 4, comment: str | None = None, **config: Any) -> dict:
    return entry(f"{TINY_BUILDERS}.linear_model", comment, hidden=hidden, **config)


def sgd(epochs: int = 2, comment: str | None = None, **config: Any) -> dict:
    return entry(f"{TINY_BUILDERS}.sgd_trainer", comment, epochs=epochs, **config)


def broken(epochs: int = 2) -> dict:
    """The SGD trainer whose score is nan from epoch 1 on: a job that fails (nothing stored)."""
    return sgd(epochs, fail_at_epoch=1)


def cotrainer(comment: str | None = None, **config: Any) -> dict:
    """The package's co-trainer (on the tiny trio's data: ``loss_functions={"regression": "mse"}``)."""
    return entry(COTRAINER, comment, **config)


def tiny_experiment(schema: str, *, seeds: Iterable[int] = (1,), datasets: dict | None = None,
                    models: dict | None = None, trainers: dict | None = None, **top_level: Any) -> dict:
    """The experiment as the parsed file would hold it (module docstring for the defaults)."""
    return {
        "schema": schema,
        "builder_modules": ["tests"],
        "seeds": list(seeds),
        "datasets": datasets or {"small": regression()},
        "models": models or {"linear": linear()},
        "trainers": trainers or {"sgd": sgd()},
        **top_level,
    }


def tiny_experiment_text(schema: str, **options: Any) -> str:
    """:func:`tiny_experiment` as YAML, entries in the order given (it decides the order of the jobs)."""
    return yaml.safe_dump(tiny_experiment(schema, **options), sort_keys=False)


def write_tiny_experiment(folder: Path, schema: str, name: str = "experiment.yaml", **options: Any) -> Path:
    """:func:`tiny_experiment` written to ``folder / name``; returns the file's path."""
    path = Path(folder) / name
    path.write_text(tiny_experiment_text(schema, **options))
    return path
