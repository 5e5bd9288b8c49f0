"""nnfabrik's table API, used as its README, example notebook and table docstrings use it, against our tables.

Only the set-up differs from nnfabrik code: instead of ``from nnfabrik.main import *`` (tables in a schema chosen at
import) the tables come from ``activate(schema)``, and ``TrainedModelBase`` from ``neural_cotraining.pipeline``.
One test per point of the API, so the count of passing tests is the count of points that hold.
"""

import uuid
import warnings

import pytest
import torch

from neural_cotraining.registry import BUILDER_MODULES_ENV
from neural_cotraining.pipeline import activate
from tests.pipeline import tiny_builders

DATASET_FN = "tests.pipeline.tiny_builders.random_regression"
MODEL_FN = "tests.pipeline.tiny_builders.linear_model"
TRAINER_FN = "tests.pipeline.tiny_builders.uid_reporting_trainer"
DATASET_CONFIG = dict(n_samples=48)
MODEL_CONFIG = dict(hidden=5)
TRAINER_CONFIG = dict(epochs=2)


def add_lab_entries(Fabrikant, Dataset, Model, Trainer, Seed):
    """The example notebook's cells."""
    fabrikant_info = dict(fabrikant_name="Your Name", email="your@email.com", affiliation="thelab",
                          dj_username="yourname")
    Fabrikant().insert1(fabrikant_info, skip_duplicates=True)
    Dataset().add_entry(dataset_fn=DATASET_FN, dataset_config=DATASET_CONFIG, dataset_fabrikant="Your Name",
                        dataset_comment="A comment about the dataset!")
    Model().add_entry(model_fn=MODEL_FN, model_config=MODEL_CONFIG, model_fabrikant="Your Name",
                      model_comment="A comment about the model!")
    Trainer().add_entry(trainer_fn=TRAINER_FN, trainer_config=TRAINER_CONFIG, trainer_fabrikant="Your Name",
                        trainer_comment="A comment about the trainer!")
    Seed().insert1({"seed": 2020})


pytestmark = pytest.mark.db  # every test here runs against the module's schema

@pytest.fixture(scope="module")
def trained():
    """A schema with the notebook's entries and a TrainedModel of the user's own (nnfabrik's pattern), populated."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(BUILDER_MODULES_ENV, "tests")
        tables = activate(f"nct_test_{uuid.uuid4().hex[:12]}")
        schema = tables.schema
        add_lab_entries(tables.Fabrikant, tables.Dataset, tables.Model, tables.Trainer, tables.Seed)
        calls = []
        from neural_cotraining.pipeline import TrainedModelBase

        @schema
        class TrainedModel(TrainedModelBase):
            table_comment = "Trained models"
            nnfabrik = tables

            def call_back(self, uid=None, epoch=None, model=None, info=None):
                calls.append({"uid": uid, "epoch": epoch, "model": type(model).__name__, "info": info})

        TrainedModel.populate(display_progress=True)
        yield tables, TrainedModel, calls
        schema.drop(prompt=False)


# ---- Fabrikant ----
def test_fabrikant_insert_with_nnfabrik_columns(trained):
    row = (trained[0].Fabrikant() & {"fabrikant_name": "Your Name"}).to_dicts()[0]
    assert (row["email"], row["affiliation"], row["dj_username"], row["full_name"]) == (
        "your@email.com", "thelab", "yourname", "")


def test_fabrikant_add_entry_returns_the_primary_key(pipeline):
    key = pipeline.Fabrikant().add_entry("ada", "ada@lab.org", "thelab", full_name="Ada L.", dj_username="ada_db")
    assert key == {"fabrikant_name": "ada"}
    assert (pipeline.Fabrikant() & key).to_dicts()[0]["full_name"] == "Ada L."


def test_fabrikant_add_entry_refuses_a_duplicate_unless_skipped(pipeline):
    pipeline.Fabrikant().add_entry("ada", "ada@lab.org", "thelab", dj_username="ada_db")
    with pytest.raises(ValueError, match="already exists"):
        pipeline.Fabrikant().add_entry("ada", "other@lab.org", "thelab", dj_username="other")
    with pytest.warns(UserWarning, match="Skipping"):
        row = pipeline.Fabrikant().add_entry("bob", "b@lab.org", "lab", dj_username="ada_db", skip_duplicates=True,
                                             return_pk_only=False)
    assert row["fabrikant_name"] == "ada" and len(pipeline.Fabrikant()) == 1  # same database user: the same person


def test_fabrikant_get_current_user(pipeline):
    assert pipeline.Fabrikant.get_current_user() is None
    database_user = pipeline.schema.connection.get_user().split("@")[0]
    pipeline.Fabrikant().add_entry("me", "me@lab.org", "lab")  # dj_username defaults to the connection's user
    assert (pipeline.Fabrikant() & {"fabrikant_name": "me"}).to_dicts()[0]["dj_username"] == database_user
    assert pipeline.Fabrikant.get_current_user() == "me"


# ---- Dataset / Model / Trainer ----
def test_add_entry_with_nnfabrik_keywords(trained):
    row = trained[0].Dataset().to_dicts()[0]
    assert row["dataset_fn"] == DATASET_FN and row["dataset_config"] == DATASET_CONFIG
    assert row["dataset_fabrikant"] == "Your Name" and row["dataset_comment"] == "A comment about the dataset!"
    assert trained[0].Model().to_dicts()[0]["model_comment"] == "A comment about the model!"
    assert trained[0].Trainer().to_dicts()[0]["trainer_fabrikant"] == "Your Name"


def test_add_entry_positional_in_nnfabrik_order(pipeline):
    key = pipeline.Model().add_entry(MODEL_FN, {"hidden": 3}, "three hidden", None)
    assert key == {"model_fn": MODEL_FN, "model_hash": pipeline.Model().to_dicts()[0]["model_hash"]}
    assert pipeline.Model().to_dicts()[0]["model_comment"] == "three hidden"


def test_add_entry_takes_the_function_itself(pipeline):
    key = pipeline.Dataset().add_entry(dataset_fn=tiny_builders.random_regression, dataset_config={"n_samples": 8})
    assert key["dataset_fn"] == DATASET_FN


def test_add_entry_duplicate_raises_with_skip_duplicates_false(pipeline):
    pipeline.Trainer().add_entry(trainer_fn=TRAINER_FN, trainer_config=TRAINER_CONFIG)
    with pytest.raises(ValueError, match="already exists"):
        pipeline.Trainer().add_entry(trainer_fn=TRAINER_FN, trainer_config=TRAINER_CONFIG, skip_duplicates=False)


def test_add_entry_duplicate_skipped_returns_the_existing_key(pipeline):
    first = pipeline.Trainer().add_entry(trainer_fn=TRAINER_FN, trainer_config=TRAINER_CONFIG)
    with pytest.warns(UserWarning, match="Skipping"):
        again = pipeline.Trainer().add_entry(trainer_fn=TRAINER_FN, trainer_config=TRAINER_CONFIG,
                                             trainer_comment="other", skip_duplicates=True)
    assert again == first and len(pipeline.Trainer()) == 1


def test_add_entry_return_pk_only_false_returns_the_row(pipeline):
    row = pipeline.Model().add_entry(model_fn=MODEL_FN, model_config=MODEL_CONFIG, return_pk_only=False)
    assert row["model_config"] == MODEL_CONFIG and row["model_fn"] == MODEL_FN and "model_ts" in row


def test_add_entry_fabrikant_defaults_to_the_current_user(pipeline):
    pipeline.Fabrikant().add_entry("me", "me@lab.org", "lab")
    key = pipeline.Dataset().add_entry(dataset_fn=DATASET_FN, dataset_config=DATASET_CONFIG)
    assert (pipeline.Dataset() & key).to_dicts()[0]["dataset_fabrikant"] == "me"


def test_fn_config(trained):
    assert (trained[0].Dataset()).fn_config == (DATASET_FN, DATASET_CONFIG)
    assert (trained[0].Trainer()).fn_config == (TRAINER_FN, TRAINER_CONFIG)


def test_resolve_fn(trained):
    assert trained[0].Model.resolve_fn(MODEL_FN) is tiny_builders.linear_model


def test_dataset_get_dataloader(trained):
    loaders = trained[0].Dataset().get_dataloader(seed=2020)
    reference = tiny_builders.random_regression(seed=2020, **DATASET_CONFIG)
    assert torch.equal(loaders["test"]["regression"].dataset.tensors[0], reference["test"]["regression"].dataset.tensors[0])


def test_model_build_model(trained):
    loaders = trained[0].Dataset().get_dataloader(seed=1)
    model = trained[0].Model().build_model(dataloaders=loaders, seed=1)
    reference = tiny_builders.linear_model(loaders, seed=1, **MODEL_CONFIG)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    with pytest.raises(ValueError, match="can not both be None"):
        trained[0].Model().build_model()


def test_trainer_get_trainer(trained):
    trainer = trained[0].Trainer().get_trainer()
    assert trainer.func is tiny_builders.uid_reporting_trainer and trainer.keywords == TRAINER_CONFIG
    function, config = trained[0].Trainer().get_trainer(build_partial=False)
    assert function is tiny_builders.uid_reporting_trainer and config == TRAINER_CONFIG


# ---- TrainedModel ----
def test_trained_model_declared_as_in_the_notebook_populates(trained):
    tables, TrainedModel, _ = trained
    assert len(TrainedModel()) == 1
    # declared in the pipeline's schema under the same name, it is the pipeline's own TrainedModel table
    assert TrainedModel.full_table_name == tables.TrainedModel.full_table_name and len(tables.TrainedModel()) == 1


def test_trained_model_comment_joins_trainer_model_dataset(trained):
    row = trained[1]().to_dicts()[0]
    assert row["comment"] == "A comment about the trainer!.A comment about the model!.A comment about the dataset!"


def test_trained_model_attributes(trained):
    row = trained[1]().to_dicts()[0]
    assert row["score"] == pytest.approx(-row["output"]["final_mse"]["validation"])
    assert row["fabrikant_name"] and row["trainedmodel_ts"] is not None


def test_model_storage_part(trained):
    storage = trained[1].ModelStorage
    assert storage is trained[1].ModelState and len(storage()) == 1 and "model_state" in storage.heading.names


def test_trainer_gets_the_key_as_uid(trained):
    row = trained[1]().to_dicts()[0]
    assert row["output"]["uid"] == trained[1]().keys()[0]


def test_call_back_is_called_with_what_the_trainer_reports(trained):
    calls = trained[2]
    assert [call["epoch"] for call in calls] == [0, 1]
    assert calls[0]["info"] == {"seen": 0} and calls[0]["model"] == "Sequential"
    assert calls[0]["uid"] == trained[1]().keys()[0]


def test_load_model_returns_dataloaders_and_the_trained_model(trained):
    key = trained[1]().keys()[0]
    dataloaders, model = trained[1]().load_model(key)
    reference_loaders = tiny_builders.random_regression(seed=2020, **DATASET_CONFIG)
    reference = tiny_builders.linear_model(reference_loaders, seed=2020, **MODEL_CONFIG)
    tiny_builders.sgd_trainer(reference, reference_loaders, seed=2020, **TRAINER_CONFIG)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    assert set(dataloaders) == {"train", "validation", "test"}


def test_load_model_on_a_restricted_table(trained):
    dataloaders, model = (trained[1]() & {"seed": 2020}).load_model()
    assert isinstance(model, torch.nn.Module)


def test_load_model_include_trainer(trained):
    dataloaders, model, trainer = trained[1]().load_model(include_trainer=True)
    assert trainer.func is tiny_builders.uid_reporting_trainer


def test_load_model_without_dataloader(trained):
    model = trained[1]().load_model(include_dataloader=False)
    assert isinstance(model, torch.nn.Module)


def test_load_model_without_state_dict(trained):
    _, untrained = trained[1]().load_model(include_state_dict=False)
    _, trained_model = trained[1]().load_model()
    fresh = tiny_builders.linear_model(tiny_builders.random_regression(seed=2020, **DATASET_CONFIG), seed=2020,
                                       **MODEL_CONFIG)
    assert all(torch.equal(a, b) for a, b in zip(untrained.state_dict().values(), fresh.state_dict().values()))
    assert not torch.equal(untrained.state_dict()["0.weight"], trained_model.state_dict()["0.weight"])


def test_load_model_with_another_seed(trained):
    loaders, _ = trained[1]().load_model(seed=7)
    reference = tiny_builders.random_regression(seed=7, **DATASET_CONFIG)
    assert torch.equal(loaders["test"]["regression"].dataset.tensors[0], reference["test"]["regression"].dataset.tensors[0])


def test_get_full_config(trained):
    config = trained[1]().get_full_config()
    assert {k: v for k, v in config.items() if k != "state_dict"} == dict(
        dataset_fn=DATASET_FN, dataset_config=DATASET_CONFIG, model_fn=MODEL_FN, model_config=MODEL_CONFIG,
        trainer_fn=TRAINER_FN, trainer_config=TRAINER_CONFIG)
    assert set(config["state_dict"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    short = trained[1]().get_full_config(include_state_dict=False, include_trainer=False)
    assert set(short) == {"dataset_fn", "dataset_config", "model_fn", "model_config"}


# ---- nnfabrik.builder helpers ----
def test_builder_helpers_rebuild_the_trained_model(trained):
    from neural_cotraining.nnfabrik_compat import get_all_parts

    config = trained[1]().get_full_config()
    dataloaders, model, trainer = get_all_parts(**config, seed=2020)
    _, loaded = trained[1]().load_model()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    assert trainer.keywords == TRAINER_CONFIG
    assert "seed" not in config["dataset_config"]  # get_all_parts leaves the config it is given alone


def test_get_data_get_model_get_trainer(trained):
    from neural_cotraining.nnfabrik_compat import get_data, get_model, get_trainer

    loaders = get_data(DATASET_FN, {**DATASET_CONFIG, "seed": 3})
    model = get_model(MODEL_FN, MODEL_CONFIG, loaders, seed=3)
    state = {name: torch.zeros_like(value) for name, value in model.state_dict().items()}
    zeroed = get_model(tiny_builders.linear_model, MODEL_CONFIG, loaders, seed=3, state_dict=state)
    assert all(float(value.abs().sum()) == 0.0 for value in zeroed.state_dict().values())
    assert get_trainer(TRAINER_FN) is tiny_builders.uid_reporting_trainer
    assert get_trainer(TRAINER_FN, {"epochs": 1}).keywords == {"epochs": 1}


def test_populate_warns_about_nothing_unexpected(trained):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trained[1].populate() == {"success_count": 0, "error_list": []}
