"""Tables of your own: a trained-model variant and a computed score downstream of TrainedModel, in your own schema.

    python examples/own_tables.py              # schemas from $OWN_TABLES_SCHEMA (default below) and <that>_analysis
    python examples/own_tables.py --cleanup    # ... and drop both at the end

What it shows (the tables are declared in ``my_lab/analysis.py``, the lab's own schema module):

1. the pipeline's entries (the lab's dataset and model builders, the co-trainer) and two seeds;
2. ``TrainedModel.populate()`` (the pipeline's), then ``NoisyAccuracy.populate()``: a ``ScoringBase`` table in the
   lab's schema that scores every trained model through ``load_model``;
3. ``QuickTrainedModel.populate()``: a ``TrainedModelBase`` variant with its own name and comment, trained by the
   pipeline's make into the lab's schema;
4. the scores side by side.

Running it again trains nothing new. The database settings come from the ``DJ_*`` environment variables.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# my_lab lives next to this script; a real lab package would be pip-installed instead
sys.path.insert(0, str(Path(__file__).resolve().parent))

from my_lab.analysis import declare_analysis_tables  # noqa: E402
from neural_cotraining.registry import allow_builder_modules  # noqa: E402
from neural_cotraining.pipeline import activate  # noqa: E402

SCHEMA_ENV = "OWN_TABLES_SCHEMA"
DEFAULT_SCHEMA = "neural_cotraining_own_tables"
SEEDS = (1, 2)
TRAINER_CONFIG = {
    "max_epochs": 3,
    "lr": 0.01,
    "main_task": "sign",
    "loss_functions": {"sign": "cross_entropy", "level": "mse"},
    "monitor": {"validation/sign/accuracy": "max"},
    "verbose": False,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schema", default=os.environ.get(SCHEMA_ENV, DEFAULT_SCHEMA), help="the pipeline's schema")
    parser.add_argument("--cleanup", action="store_true", help="drop both schemas at the end")
    arguments = parser.parse_args(argv)

    allow_builder_modules("my_lab")
    pipeline = activate(arguments.schema)
    lab = declare_analysis_tables(pipeline, arguments.schema + "_analysis")
    pipeline.Dataset().add_entry("my_lab.data.two_task_vectors", {"n_samples": 256}, comment="two toy tasks")
    pipeline.Model().add_entry("my_lab.models.shared_mlp", {"hidden": 16}, comment="shared MLP")
    pipeline.Trainer().add_entry("neural_cotraining.trainer.builders.cotrainer", TRAINER_CONFIG, comment="3 epochs")
    pipeline.Seed().insert([{"seed": seed} for seed in SEEDS], skip_duplicates=True)

    results = {
        "TrainedModel": pipeline.TrainedModel().populate(),
        "NoisyAccuracy": lab.NoisyAccuracy().populate(),
        "QuickTrainedModel": lab.QuickTrainedModel().populate(),
    }
    for table, result in results.items():
        print(f"{table}: {result['success_count']} populated, {len(result['error_list'])} errors")

    noisy = {row["seed"]: row["noisy_accuracy"] for row in lab.NoisyAccuracy().to_dicts()}
    quick = {row["seed"]: row for row in lab.QuickTrainedModel().to_dicts()}
    print(f"{'seed':>4}  {'score':>6}  {'noisy accuracy':>14}  {'quick score':>11}  quick comment")
    for row in pipeline.TrainedModel().to_dicts(order_by="seed"):
        seed = row["seed"]
        print(f"{seed:>4}  {row['score']:>6.3f}  {noisy[seed]:>14.3f}  {quick[seed]['score']:>11.3f}  "
              f"{quick[seed]['comment']}")

    if arguments.cleanup:
        lab.schema.drop(prompt=False)  # first: its tables refer to the pipeline's
        pipeline.schema.drop(prompt=False)
        print(f"dropped {arguments.schema}_analysis and {arguments.schema}")
    return 0 if not any(result["error_list"] for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
