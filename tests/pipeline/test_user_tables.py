"""Tables of the user's own in a schema of their own: a TrainedModelBase variant and a ScoringBase score."""

import datajoint as dj
import pytest
import torch

from neural_cotraining.pipeline import ScoringBase, TrainedModelBase
from tests.pipeline import tiny_builders


def negative_test_mse(loaders, model):
    """``loaders``: one split's ``{task: loader}``, as ScoringBase hands it over."""
    loader = loaders["regression"]
    with torch.no_grad():
        errors = [torch.nn.functional.mse_loss(model(x), y, reduction="sum") for x, y in loader]
    return -float(sum(errors)) / len(loader.dataset)


@pytest.fixture
def lab(pipeline, schema_name):
    """The lab's own schema beside the pipeline's, with a trained-model variant and a score; dropped first."""
    schema = dj.Schema(schema_name + "_lab", connection=pipeline.schema.connection)

    @schema
    class SweepModel(TrainedModelBase):
        table_comment = "the lab's sweep"
        nnfabrik = pipeline

    @schema
    class TestError(ScoringBase):
        trainedmodel_table = pipeline.TrainedModel
        measure_attribute = "negative_mse"
        measure_function = staticmethod(negative_test_mse)
        measure_dataset = "test"

    pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 32}, comment="data")
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 4}, comment="model")
    pipeline.Trainer().add_entry(tiny_builders.sgd_trainer, {"epochs": 2}, comment="trainer")
    pipeline.Seed().insert([{"seed": 1}, {"seed": 2}])
    yield SweepModel, TestError
    schema.drop(prompt=False)  # before the pipeline's schema: its tables refer to the pipeline's


def test_variant_has_its_own_table_comment_and_parts(pipeline, lab):
    SweepModel, _ = lab
    assert SweepModel.populate(reserve_jobs=True) == {"success_count": 2, "error_list": []}
    assert SweepModel().describe().splitlines()[0] == "# the lab's sweep"
    assert SweepModel.database.endswith("_lab") and len(pipeline.TrainedModel()) == 0
    assert len(SweepModel.ModelStorage()) == 2 and SweepModel.ModelState is not pipeline.TrainedModel.ModelState
    assert len(SweepModel.EpochMetric()) == 2 * 2 * 2  # seeds x epochs x splits
    assert {row["comment"] for row in SweepModel().to_dicts()} == {"trainer.model.data"}


def test_variant_trains_as_the_pipeline_does(pipeline, lab):
    SweepModel, _ = lab
    SweepModel.populate()
    pipeline.TrainedModel().populate()
    ours = {row["seed"]: row["score"] for row in pipeline.TrainedModel().to_dicts()}
    theirs = {row["seed"]: row["score"] for row in SweepModel().to_dicts()}
    assert ours == theirs
    _, model = SweepModel().load_model({"seed": 2})
    _, reference = pipeline.TrainedModel().load_model({"seed": 2})
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))


def test_score_downstream_of_trained_model(pipeline, lab):
    _, TestError = lab
    pipeline.TrainedModel().populate()
    assert TestError.populate() == {"success_count": 2, "error_list": []}
    trained = {row["seed"]: row for row in pipeline.TrainedModel().to_dicts()}
    for row in TestError().to_dicts():
        # the trainer's own final test error, computed in training, equals the score computed from load_model
        assert row["negative_mse"] == pytest.approx(-trained[row["seed"]]["output"]["final_mse"]["test"])


def test_score_table_needs_its_trained_model_table(pipeline, schema_name):
    schema = dj.Schema(schema_name + "_lab", connection=pipeline.schema.connection)
    try:
        with pytest.raises(ValueError, match="set trainedmodel_table"):
            @schema
            class Unset(ScoringBase):
                pass
    finally:
        schema.drop(prompt=False)
