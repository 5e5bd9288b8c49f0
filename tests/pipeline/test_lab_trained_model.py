"""A lab's own TrainedModel table (nnsysident's pattern) beside the pipeline's lookup tables, on MariaDB.

nnsysident declares ``@schema class TrainedModel(TrainedModelBase)`` with columns of its own and a ``make`` of its
own in nnfabrik's style: parts built with ``load_model(key, include_trainer=True, include_state_dict=False)``, the
trained weights saved to a file whose path goes into ``ModelStorage.insert1``, the trainer's output in a blob.
"""

import os
import tempfile

import pytest
import torch

from neural_cotraining.registry import BUILDER_MODULES_ENV
from neural_cotraining.pipeline import TrainedModelBase, activate
from neural_cotraining.pipeline.schema_rules.class_binding import TableNameTakenError, definition_attributes

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_torch_thread")]

DATASET_FN = "tests.pipeline.nnfabrik_mnist.dataset.mnist_dataset_fn"
MODEL_FN = "tests.pipeline.nnfabrik_mnist.model.mnist_model_fn"
TRAINER_FN = "tests.pipeline.nnfabrik_mnist.trainer.mnist_trainer_fn"


@pytest.fixture
def lookup_tables(schema_name, monkeypatch):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    tables = activate(schema_name, trained_model=False)
    yield tables
    tables.schema.drop(prompt=False)


def add_entries(tables):
    tables.Seed().insert1({"seed": 2020})
    tables.Dataset().add_entry(dataset_fn=DATASET_FN, dataset_config=dict(batch_size=64))
    tables.Model().add_entry(model_fn=MODEL_FN, model_config=dict(h_dim=5))
    tables.Trainer().add_entry(trainer_fn=TRAINER_FN, trainer_config=dict(epochs=1))


def lab_trained_model(tables, seen):
    """nnsysident's pattern, in the lab's own module: extra columns and nnfabrik's make."""

    class TrainedModel(TrainedModelBase):
        table_comment = "Trained models"
        nnfabrik = tables

        @property
        def definition(self):
            return super().definition + """
            train_loss = null: float64   # a column of the lab's own
            """

        def make(self, key):
            fabrikant_name = self.user_table().ensure()
            seed = (self.seed_table() & key).to_dicts()[0]["seed"]
            dataloaders, model, trainer = self.load_model(key, include_trainer=True, include_state_dict=False,
                                                          seed=seed)
            seen["training"] = model.training

            def call_back(**kwargs):
                self.connection.ping()
                self.call_back(**kwargs)

            score, output, model_state = trainer(model=model, dataloaders=dataloaders, seed=seed, uid=key,
                                                 cb=call_back)
            with tempfile.TemporaryDirectory() as temp_dir:
                filepath = os.path.join(temp_dir, "weights.pth.tar")
                torch.save(model_state, filepath)
                key["score"] = score
                key["output"] = {"accuracies": output[0], "epochs": output[1]}
                key["fabrikant_name"] = fabrikant_name
                key["train_loss"] = 0.25
                self.insert1(key)
                key["model_state"] = filepath
                self.ModelStorage.insert1(key, ignore_extra_fields=True)
            seen["weights"] = {name: tensor.clone() for name, tensor in model_state.items()}

    return tables.schema(TrainedModel)


def test_a_labs_own_trained_model_with_extra_columns_and_weights_from_a_file(lookup_tables, tmp_path):
    assert not hasattr(lookup_tables, "TrainedModel")
    add_entries(lookup_tables)
    seen = {}
    TrainedModel = lab_trained_model(lookup_tables, seen)
    TrainedModel.populate()

    row = TrainedModel().to_dicts()[0]
    assert row["train_loss"] == 0.25 and row["output"]["epochs"] == 1 and len(row["output"]["accuracies"]) == 1
    assert seen["training"] is True  # load_model(include_trainer=True) hands over the model to train
    key = TrainedModel().keys()[0]
    path = (TrainedModel.ModelStorage & key).fetch1("model_state", download_path=str(tmp_path))
    assert os.path.dirname(path) == str(tmp_path) and path.endswith(".pth.tar")
    stored = torch.load(path, weights_only=True)
    assert all(torch.equal(stored[name], seen["weights"][name]) for name in seen["weights"])
    # the raw bytes stay available, and fetch1 without attributes writes the file too
    raw = (TrainedModel.ModelStorage & key).fetch1("model_state")
    assert isinstance(raw, bytes) and open(path, "rb").read() == raw
    whole = (TrainedModel.ModelStorage & key).fetch1(download_path=str(tmp_path))
    assert whole["model_state"] == path
    # loading for inference: the trained weights, in eval mode
    model = TrainedModel().load_model(key, include_dataloader=False)
    assert model.training is False and torch.equal(model.fc1.weight, seen["weights"]["fc1.weight"])


def test_a_class_named_like_a_table_activate_declared_is_refused(pipeline):
    class TrainedModel(TrainedModelBase):
        nnfabrik = pipeline

    with pytest.raises(TableNameTakenError) as error:
        pipeline.schema(TrainedModel)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("TrainedModel: activate(") and "trained_model=False)" in message
    assert len(pipeline.TrainedModel()) == 0


def test_a_class_bound_to_an_existing_table_lacking_its_columns_is_refused(pipeline, monkeypatch):
    # the schema was made with the pipeline's TrainedModel; a lab now declares its own of the same name
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    tables = activate(pipeline.schema.database, trained_model=False)
    with pytest.raises(TableNameTakenError, match=r"^TrainedModel: the table .* exists already without train_loss"):
        lab_trained_model(tables, {})


def test_definition_attributes_names_only_the_tables_own_columns():
    definition = """
    # comment: with a colon
    -> Model
    epoch: int32       # epoch
    ---
    comment = "": varchar(768) # a: b
    -> [nullable] Fabrikant
    score : float64
    """
    assert definition_attributes(definition) == ["epoch", "comment", "score"]
