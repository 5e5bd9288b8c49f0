"""Register your own builders: a user package (``examples/my_lab``) trained by the pipeline.

    python examples/register_your_own_builders.py              # schema from $OWN_BUILDERS_SCHEMA (default below)
    python examples/register_your_own_builders.py --cleanup    # ... and drop the schema at the end

What it shows:

1. allow the user package ``my_lab`` as a source of builders (``allow_builder_modules`` in this process, or
   ``NEURAL_COTRAINING_BUILDER_MODULES=my_lab`` in the environment of every worker);
2. add a dataset and a model entry from ``my_lab`` (by function and by dotted name) and a trainer entry from
   neural_cotraining (the co-trainer trains any model called as ``model(x, task=...)``);
3. populate ``TrainedModel`` for two seeds and print the scores and final test metrics.

Nothing is dropped unless ``--cleanup`` is given; running it again trains nothing new (the entries exist already).
The database settings come from the ``DJ_*`` environment variables (local MariaDB by default).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# my_lab lives next to this script; a real lab package would be pip-installed instead
sys.path.insert(0, str(Path(__file__).resolve().parent))

import my_lab.data  # noqa: E402
from neural_cotraining.registry import BUILDER_MODULES_ENV, allow_builder_modules, allowed_module_prefixes  # noqa: E402
from neural_cotraining.pipeline import activate  # noqa: E402

SCHEMA_ENV = "OWN_BUILDERS_SCHEMA"
DEFAULT_SCHEMA = "neural_cotraining_own_builders"
SEEDS = (1, 2)

DATASET_CONFIG = {"n_samples": 256, "n_features": 8, "noise": 0.1, "batch_size": 32}
MODEL_CONFIG = {"hidden": 32}
TRAINER_CONFIG = {
    "max_epochs": 5,
    "lr": 0.01,
    "main_task": "sign",
    "loss_functions": {"sign": "cross_entropy", "level": "mse"},
    "loss_weighting": "likelihood",
    "monitor": {"validation/sign/accuracy": "max"},
    "verbose": False,
}


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--schema",
        default=os.environ.get(SCHEMA_ENV, DEFAULT_SCHEMA),
        help=f"database schema (default: ${SCHEMA_ENV} or {DEFAULT_SCHEMA})",
    )
    parser.add_argument("--cleanup", action="store_true", help="drop the schema at the end")
    return parser.parse_args(argv)


def allow_my_lab() -> None:
    """Builders from outside neural_cotraining are imported only from allowed packages."""
    if "my_lab" in allowed_module_prefixes():
        print(f"my_lab is allowed by {BUILDER_MODULES_ENV}")
    else:
        allow_builder_modules("my_lab")  # this process only; other workers need the environment variable
        print("my_lab allowed with allow_builder_modules('my_lab')")


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    started = time.monotonic()
    allow_my_lab()
    pipe = activate(arguments.schema)
    print(f"schema {arguments.schema}")

    # by function object ...
    dataset_key = pipe.Dataset().add_entry(my_lab.data.two_task_vectors, DATASET_CONFIG, comment="two toy tasks")
    # ... or by dotted name (what is stored either way; the config keys are checked against the signature)
    model_key = pipe.Model().add_entry("my_lab.models.shared_mlp", MODEL_CONFIG, comment="shared MLP trunk")
    trainer_key = pipe.Trainer().add_entry(
        "neural_cotraining.trainer.builders.cotrainer", TRAINER_CONFIG, comment="co-trainer, likelihood weights"
    )
    pipe.Seed().insert([{"seed": seed} for seed in SEEDS], skip_duplicates=True)

    jobs = [{**dataset_key, **model_key, **trainer_key, "seed": seed} for seed in SEEDS]
    result = pipe.TrainedModel().populate(jobs, reserve_jobs=True)
    print(f"trained {result['success_count']} model(s); errors: {len(result['error_list'])}")

    print(f"{'seed':>4}  {'score (val. accuracy)':>21}  {'test accuracy':>13}  {'test rmse':>9}")
    for row in (pipe.TrainedModel() & jobs).to_dicts(order_by="seed"):
        test = row["output"]["final"]["test"]
        accuracy, rmse = test["sign"]["accuracy"], test["level"]["rmse"]
        print(f"{row['seed']:>4}  {row['score']:>21.3f}  {accuracy:>13.3f}  {rmse:>9.3f}")

    if arguments.cleanup:
        pipe.schema.drop(prompt=False)
        print(f"dropped {arguments.schema}")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0 if not result["error_list"] else 1


if __name__ == "__main__":
    sys.exit(main())
