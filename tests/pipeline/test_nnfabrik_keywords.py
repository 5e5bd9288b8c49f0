"""nnfabrik spellings that DataJoint 2 dropped or that differed here, on MariaDB: populate's 0.x keywords
(``order``, ``keys``, ``limit``), one rule for a ``seed`` in a config, ``schema.jobs`` as nnfabrik clears errors."""

import random

import pytest
import torch

from neural_cotraining.nnfabrik_compat import get_all_parts
from neural_cotraining.registry import ConfigKeyError
from tests.pipeline import tiny_builders

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_torch_thread")]

DATASET_FN = "tests.pipeline.tiny_builders.random_regression"
MODEL_FN = "tests.pipeline.tiny_builders.linear_model"
TRAINER_FN = "tests.pipeline.tiny_builders.sgd_trainer"


def add_jobs(tables, seeds, dataset_config=None, trainer_config=None):
    tables.Seed().insert([{"seed": seed} for seed in seeds])
    tables.Dataset().add_entry(DATASET_FN, dataset_config or dict(n_samples=16))
    tables.Model().add_entry(MODEL_FN, dict(hidden=3))
    tables.Trainer().add_entry(TRAINER_FN, trainer_config or dict(epochs=1))


@pytest.fixture
def recorded(pipeline, monkeypatch):
    """The pipeline with 5 jobs (seeds 1..5) and the seeds in the order their jobs were trained."""
    add_jobs(pipeline, [1, 2, 3, 4, 5])
    order = []
    make_compute = pipeline.TrainedModel.make_compute

    def recording(self, key, *fetched):
        order.append(int(key["seed"]))
        return make_compute(self, key, *fetched)

    monkeypatch.setattr(pipeline.TrainedModel, "make_compute", recording)
    return pipeline, order


def source_order(tables):
    return [int(key["seed"]) for key in (tables.TrainedModel.key_source - tables.TrainedModel().proj()).keys()]


def test_populate_order_reverse_runs_the_jobs_in_reverse(recorded):
    tables, order = recorded
    expected = source_order(tables)[::-1]
    result = tables.TrainedModel.populate(order="reverse")
    assert order == expected and result["success_count"] == 5 and len(tables.TrainedModel()) == 5


def test_populate_order_random_shuffles_the_jobs_and_runs_each_once(recorded):
    tables, order = recorded
    expected = source_order(tables)
    random.seed(11)
    random.shuffle(expected)
    random.seed(11)
    tables.TrainedModel.populate(order="random", reserve_jobs=True, max_calls=4)
    assert order == expected[:4] and len(tables.TrainedModel()) == 4
    tables.TrainedModel.populate(order="random")
    assert sorted(order) == [1, 2, 3, 4, 5]


def test_populate_keys_runs_exactly_those_keys_in_that_order(recorded):
    tables, order = recorded
    keys = {int(key["seed"]): key for key in tables.TrainedModel.key_source.keys()}
    tables.TrainedModel.populate(keys=[keys[4], keys[2]])
    assert order == [4, 2] and sorted(int(k["seed"]) for k in tables.TrainedModel().keys()) == [2, 4]


def test_populate_refuses_an_unknown_order_and_limit_naming_the_replacement(recorded):
    tables, order = recorded
    with pytest.raises(ValueError, match=r"order='sideways'.*'original', 'reverse', 'random'"):
        tables.TrainedModel.populate(order="sideways")
    with pytest.raises(TypeError, match=r"limit=.*max_calls"):
        tables.TrainedModel.populate(limit=2)
    assert order == [] and len(tables.TrainedModel()) == 0


def test_a_seed_in_the_dataset_config_fixes_the_data_everywhere_the_model_keeps_the_jobs_seed(pipeline):
    add_jobs(pipeline, [1, 2], dataset_config=dict(n_samples=16, seed=5))
    pipeline.TrainedModel.populate()
    reference = tiny_builders.random_regression(seed=5, n_samples=16)["test"]["regression"].dataset.tensors[0]
    models = []
    for key in pipeline.TrainedModel().keys():
        for seed in (None, 9):  # the job's seed, or one given to load_model: the config's still fixes the data
            dataloaders, model = pipeline.TrainedModel().load_model(key, include_state_dict=False, seed=seed)
            assert torch.equal(dataloaders["test"]["regression"].dataset.tensors[0], reference)
            if seed is None:
                models.append(model)
    config = pipeline.TrainedModel().get_full_config(pipeline.TrainedModel().keys()[0], include_state_dict=False)
    dataloaders, _ = get_all_parts(**{k: v for k, v in config.items() if not k.startswith("trainer")}, seed=1)
    assert torch.equal(dataloaders["test"]["regression"].dataset.tensors[0], reference)
    # the model builder gets the job's seed: the untrained models of seeds 1 and 2 differ
    assert not torch.equal(models[0][0].weight, models[1][0].weight)


def test_a_seed_in_a_model_config_is_refused_in_one_line(pipeline):
    with pytest.raises(ConfigKeyError, match=r"model builder .*linear_model: \['seed'\] are passed by the pipeline"):
        pipeline.Model().add_entry(MODEL_FN, dict(hidden=3, seed=1))
    assert len(pipeline.Model()) == 0


def test_schema_jobs_clears_errors_the_nnfabrik_way(pipeline):
    add_jobs(pipeline, [1, 2], trainer_config=dict(epochs=2, fail_at_epoch=1))
    pipeline.TrainedModel.populate(reserve_jobs=True, suppress_errors=True)
    schema = pipeline.schema
    assert len(pipeline.TrainedModel.jobs.errors) == 2
    (schema.jobs & "status='error'").delete()  # nnfabrik's notebook spelling
    assert len(pipeline.TrainedModel.jobs.errors) == 0
    assert [job.target.table_name for job in schema.jobs] == [pipeline.TrainedModel.table_name]  # still 2.3's list
