"""Database faults during training, and training faults that must leave nothing half-written."""

import datajoint
import pytest

from tests.pipeline import tiny_builders

TRAINER = {"max_epochs": 4, "patience": None, "checkpoint_every": 1, "loss_functions": {"regression": "mse"},
           "verbose": False}


def add_job(pipeline, trainer, config):
    pipeline.Dataset().add_entry(tiny_builders.random_regression, {"n_samples": 32})
    pipeline.Model().add_entry(tiny_builders.linear_model, {"hidden": 4})
    pipeline.Trainer().add_entry(trainer, config)
    pipeline.Seed().insert1({"seed": 5})


def test_connection_lost_during_training_does_not_lose_the_run(pipeline, caplog):
    add_job(pipeline, tiny_builders.connection_killing_cotrainer, {**TRAINER, "kill_at_epoch": 2})
    result = pipeline.TrainedModel().populate(reserve_jobs=True)
    assert result == {"success_count": 1, "error_list": []}
    assert "Reconnecting to database server." in caplog.messages  # the connection was lost and came back
    epochs = sorted(set(pipeline.TrainedModel.EpochMetric().to_arrays("epoch").tolist()))
    assert epochs == [1, 2, 3, 4]
    assert len(pipeline.Checkpoint()) == 0
    assert len(pipeline.TrainedModel().jobs) == 0


def test_non_finite_loss_records_the_error_and_stores_nothing(pipeline):
    # a learning rate this large makes the regression loss overflow to inf within a few steps
    add_job(pipeline, "neural_cotraining.trainer.builders.cotrainer", {**TRAINER, "lr": 1e12, "optimizer": "sgd"})
    result = pipeline.TrainedModel().populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 0
    message = result["error_list"][0][1]
    assert message.startswith("NonFiniteLossError") and "regression" in message
    assert len(pipeline.TrainedModel()) == 0 and len(pipeline.TrainedModel.ModelState()) == 0
    assert len(pipeline.TrainedModel.EpochMetric()) == 0
    errors = pipeline.TrainedModel().jobs.errors.to_dicts()
    assert len(errors) == 1 and errors[0]["error_message"].startswith("NonFiniteLossError")


def test_credentials_are_not_stored_in_any_table(pipeline):
    add_job(pipeline, tiny_builders.sgd_trainer, {"epochs": 1})
    pipeline.TrainedModel().populate(reserve_jobs=True)
    connection = datajoint.conn()
    schema = pipeline.schema.database
    tables = [row[0] for row in connection.query(f"SHOW TABLES IN `{schema}`").fetchall()]
    assert len(tables) >= 8
    password = datajoint.config["database.password"]
    for table in tables:
        for row in connection.query(f"SELECT * FROM `{schema}`.`{table}`").fetchall():
            for value in row:
                if isinstance(value, (bytes, str)) and password:
                    assert (password.encode() if isinstance(value, bytes) else password) not in value


def test_stored_weights_cannot_run_code(pipeline, capsys):
    add_job(pipeline, tiny_builders.sgd_trainer, {"epochs": 1})
    pipeline.TrainedModel().populate()
    key = pipeline.TrainedModel().keys()[0]
    import io

    import torch

    class Exploit:
        def __reduce__(self):
            return (print, ("code ran",))

    buffer = io.BytesIO()
    torch.save({"weight": Exploit()}, buffer)  # a real torch archive, with code in its pickle
    (pipeline.TrainedModel.ModelState() & key).delete_quick()
    pipeline.TrainedModel.ModelState().insert1({**key, "model_state": buffer.getvalue()}, allow_direct_insert=True)
    with pytest.raises(Exception) as error:
        pipeline.TrainedModel().load_model(key)
    assert "Weights only load failed" in str(error.value)
    assert "code ran" not in capsys.readouterr().out


def test_allow_list_holds_for_names_written_straight_into_the_database(pipeline, monkeypatch):
    add_job(pipeline, tiny_builders.sgd_trainer, {"epochs": 1})
    # someone with write access puts a dangerous name in the table, bypassing add_entry
    pipeline.Dataset().insert1({
        "dataset_fn": "subprocess.getoutput", "dataset_hash": "0" * 32, "dataset_config": {"cmd": "echo pwned"},
        "dataset_fabrikant": pipeline.Fabrikant().ensure(),
    })
    result = pipeline.TrainedModel().populate(suppress_errors=True)
    messages = [message for _, message in result["error_list"]]
    assert result["success_count"] == 1  # the legitimate job
    assert len(messages) == 1 and messages[0].startswith("DisallowedBuilderError")
    assert "subprocess" in messages[0]
    key = {"dataset_fn": "subprocess.getoutput"}
    assert len(pipeline.TrainedModel() & key) == 0
