"""The lab's own tables, in a schema of its own, built on the pipeline's (``neural_cotraining.pipeline.templates``).

- ``QuickTrainedModel``: a trained-model table of the lab's own (nnfabrik's ``TrainedModelBase`` pattern): its own
  name and comment, the pipeline's make, keyed by the pipeline's Dataset, Model, Trainer and Seed entries;
- ``NoisyAccuracy``: a computed table downstream of the pipeline's ``TrainedModel``: the test accuracy of each trained
  model on the "sign" task when Gaussian noise is added to the inputs, computed through ``load_model``.

This module connects to nothing when imported: ``declare_analysis_tables`` does, given the pipeline's tables.
"""

from __future__ import annotations

from types import SimpleNamespace

import datajoint as dj
import torch

from neural_cotraining.pipeline import ScoringBase, TrainedModelBase

NOISE_STD = 1.0
NOISE_SEED = 0


def sign_accuracy_under_noise(dataloaders, model, noise_std=NOISE_STD):
    """Accuracy on the "sign" task of ``{task: loader}`` with N(0, noise_std^2) added to every input (fixed seed)."""
    generator = torch.Generator().manual_seed(NOISE_SEED)
    correct = total = 0
    with torch.no_grad():
        for inputs, labels in dataloaders["sign"]:
            noisy = inputs + noise_std * torch.randn(inputs.shape, generator=generator)
            correct += int((model(noisy, task="sign").argmax(dim=1) == labels).sum())
            total += len(labels)
    return correct / total


def declare_analysis_tables(pipeline: SimpleNamespace, schema_name: str) -> SimpleNamespace:
    """Declare the lab's tables in ``schema_name`` (created if needed) on top of ``pipeline`` (what ``activate``
    returned)."""
    schema = dj.Schema(schema_name, connection=pipeline.schema.connection)

    @schema
    class QuickTrainedModel(TrainedModelBase):
        table_comment = "quick sweeps of the lab, trained beside the pipeline's TrainedModel"
        nnfabrik = pipeline

    @schema
    class NoisyAccuracy(ScoringBase):
        table_comment = "test accuracy on the sign task with Gaussian noise (std 1) on the inputs"
        trainedmodel_table = pipeline.TrainedModel
        measure_attribute = "noisy_accuracy"
        measure_dataset = "test"
        measure_function = staticmethod(sign_accuracy_under_noise)

    return SimpleNamespace(schema=schema, QuickTrainedModel=QuickTrainedModel, NoisyAccuracy=NoisyAccuracy)
