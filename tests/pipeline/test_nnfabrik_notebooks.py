"""nnfabrik's example notebooks (``nnfabrik/examples/notebooks``: ``nnfabrik_example``, ``checkpoint_example``,
``experiments_example``), run cell by cell on MariaDB as a lab would port them.

Each code cell is copied as it is in nnfabrik; lines that differ carry a ``# changed:`` / ``# added:`` /
``# fixed:`` comment saying why (docs/nnfabrik.md lists them). What changes is set-up only: the connection and
imports, the schema from ``activate`` (``SCHEMA_NAME`` is the test's throwaway schema), the builders' module paths
(stand-ins for MNIST and nnsysident's mouse data, see ``tests/pipeline/nnfabrik_mnist`` and
``tests/pipeline/nnsysident_standin``), plus two bugs of nnfabrik's experiments notebook that stop it anywhere.
Cells run in one namespace, in order; a cell's last expression is displayed (``repr``) as Jupyter would.
"""

import ast
import os
import signal
import uuid

import pytest

from neural_cotraining.registry import BUILDER_MODULES_ENV
from neural_cotraining.pipeline import drop_schema

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_torch_thread")]


def run_cells(cells, namespace, interrupted=()):
    """Run each cell; the cells numbered in ``interrupted`` must end in KeyboardInterrupt (the user's Ctrl-C)."""
    shown = {}
    for number, source in cells:
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        try:
            exec(compile(tree, f"<cell {number}>", "exec"), namespace)
            if last is not None:
                shown[number] = repr(eval(compile(ast.Expression(last.value), f"<cell {number}>", "eval"), namespace))
        except KeyboardInterrupt:
            assert number in interrupted, f"cell {number} was interrupted"
        else:
            assert number not in interrupted, f"cell {number} ran to the end; it should have been interrupted"
    return shown


@pytest.fixture
def notebook(monkeypatch):
    monkeypatch.setenv(BUILDER_MODULES_ENV, "tests")
    name = f"nct_test_{uuid.uuid4().hex[:12]}"
    namespace = {"SCHEMA_NAME": name}
    yield namespace
    drop_schema(name)


SETUP = """
import os
import datajoint as dj
# changed: the server comes from DJ_HOST, DJ_USER, DJ_PASS (or dj.config), which activate() reads; DataJoint 2's
# strict config has no enable_python_native_blobs (blobs are native) and weights live in the database (no minio)
from neural_cotraining.pipeline import activate  # changed: instead of from nnfabrik.examples.nnfabrik import *
nnfabrik = activate(SCHEMA_NAME, trained_model=False)  # changed: the lab declares its own TrainedModel
Fabrikant, Seed, Dataset, Model, Trainer = nnfabrik.Fabrikant, nnfabrik.Seed, nnfabrik.Dataset, nnfabrik.Model, nnfabrik.Trainer  # changed
schema = nnfabrik.schema  # changed
"""

NNFABRIK_EXAMPLE = [
    (3, SETUP),
    (6, """
fabrikant_info = dict(fabrikant_name="Your Name", email="your@email.com", affiliation="thelab", dj_username="yourname")
Fabrikant().insert1(fabrikant_info, skip_duplicates=True)
"""),
    (7, "Fabrikant()"),
    (10, """
# specify dataset function as string (the function must be importable) as well as the dataset config
dataset_fn = "tests.pipeline.nnfabrik_mnist.dataset.mnist_dataset_fn"  # changed: the MNIST stand-in
dataset_config = dict(batch_size=64) # we specify all the inputs except the ones required by nnfabrik

Dataset().add_entry(dataset_fn=dataset_fn, dataset_config=dataset_config,
                    dataset_fabrikant="Your Name", dataset_comment="A comment about the dataset!");
"""),
    (11, "Dataset()"),
    (14, """
# specify model function as string (the function must be importable) as well as the model config
model_fn = "tests.pipeline.nnfabrik_mnist.model.mnist_model_fn"  # changed: the ported builder's module
model_config = dict(h_dim=5) # we specify all the inputs except the ones required by nnfabrik

Model().add_entry(model_fn=model_fn, model_config=model_config,
                  model_fabrikant="Your Name", model_comment="A comment about the model!");
"""),
    (16, """
model_config = dict(h_dim=15) # we specify all the inputs except the ones required by nnfabrik
Model().add_entry(model_fn=model_fn, model_config=model_config,
                  model_fabrikant="Your Name", model_comment="A comment about the model!");
"""),
    (17, "Model()"),
    (20, """
# specify trainer function as string (the function must be importable) as well as the trainer config
trainer_fn = "tests.pipeline.nnfabrik_mnist.trainer.mnist_trainer_fn"  # changed: the ported builder's module
trainer_config = dict(epochs=1) # we specify all the inputs except the ones required by nnfabrik

Trainer().add_entry(trainer_fn=trainer_fn, trainer_config=trainer_config,
                  trainer_fabrikant="Your Name", trainer_comment="A comment about the trainer!");
"""),
    (21, "Trainer()"),
    (24, "Seed().insert1({'seed': 2020})"),
    (25, "Seed()"),
    (29, """
from neural_cotraining.pipeline import TrainedModelBase  # changed: from nnfabrik.templates.trained_model
# changed: from nnfabrik.examples import nnfabrik -- the set-up cell's nnfabrik
"""),
    (30, """
@schema
class TrainedModel(TrainedModelBase):
    table_comment = "Trained models"
    nnfabrik = nnfabrik
"""),
    (32, "TrainedModel.populate(display_progress=True)"),
    (33, "TrainedModel()"),
]


def test_nnfabrik_example_notebook_runs_cell_by_cell(notebook):
    shown = run_cells(NNFABRIK_EXAMPLE, notebook)
    trained = notebook["TrainedModel"]
    assert len(trained()) == 2  # two models (h_dim 5 and 15) x one dataset, trainer and seed
    assert {row["model_config"]["h_dim"] for row in (trained * notebook["Model"]).to_dicts()} == {5, 15}
    assert all(0 < row["score"] <= 100 for row in trained().to_dicts())  # the training accuracy in %
    assert "Your Name" in shown[7] and "2020" in shown[25]


CHECKPOINT_EXAMPLE = [
    (1, SETUP),
    (3, """
from neural_cotraining.pipeline.templates.checkpoint import TrainedModelChkptBase, my_checkpoint  # changed: from nnfabrik.templates.checkpoint

Checkpoint = my_checkpoint(nnfabrik)

@nnfabrik.schema
class TrainedModelChkpt(TrainedModelChkptBase):
    table_comment = "My Trained models with checkpointing"
    nnfabrik = nnfabrik
    checkpoint_table = Checkpoint
"""),
    (6, """
fabrikant_info = dict(fabrikant_name="Your Name", email="your@email.com", affiliation="thelab", dj_username="yourname")
Fabrikant().insert1(fabrikant_info, skip_duplicates=True)
"""),
    (7, "Seed().insert([{'seed':7}])"),
    (8, """
dataset_fn = "tests.pipeline.nnfabrik_mnist.dataset.mnist_dataset_fn"  # changed: the MNIST stand-in

dataset_config = dict(batch_size=64) # we specify all the inputs except the ones required by nnfabrik

Dataset().add_entry(dataset_fn=dataset_fn, dataset_config=dataset_config,
                    dataset_fabrikant="Your Name", dataset_comment="A comment about the dataset!");
"""),
    (9, """
# specify model function as string (the function must be importable) as well as the model config
model_fn = "tests.pipeline.nnfabrik_mnist.model.mnist_model_fn"  # changed: the ported builder's module
model_config = dict(h_dim=5) # we specify all the inputs except the ones required by nnfabrik

Model().add_entry(model_fn=model_fn, model_config=model_config,
                  model_fabrikant="Your Name", model_comment="A comment about the model!");
"""),
    (11, """
# specify trainer function as string (the function must be importable) as well as the trainer config
trainer_fn = "tests.pipeline.nnfabrik_mnist.checkpoint_trainer.chkpt_trainer_fn"  # changed: the ported builder's module
trainer_config = dict(epochs=3) # we specify all the inputs except the ones required by nnfabrik

Trainer().add_entry(trainer_fn=trainer_fn, trainer_config=trainer_config,
                  trainer_fabrikant="Your Name", trainer_comment="A comment about the trainer!");
"""),
    (13, "TrainedModelChkpt.populate()"),
    (15, "TrainedModelChkpt()"),
    (16, "Checkpoint()"),
    (19, """
# delete all jobs in error state:
(schema.jobs & "status='error'").delete()
"""),
    (20, "TrainedModelChkpt.populate()"),
    (21, "TrainedModelChkpt()"),
    (22, "Checkpoint()"),
]


def test_checkpoint_example_notebook_resumes_after_an_interrupt(notebook, monkeypatch, capsys):
    from tests.pipeline.nnfabrik_mnist import checkpoint_trainer

    save = checkpoint_trainer.ChkptTrainer.save
    interrupts = []

    def save_then_ctrl_c(self, epoch, score):
        """The notebook says: interrupt the training some time after the first epoch; here, right after it."""
        save(self, epoch, score)
        if epoch == 0 and not interrupts:
            interrupts.append(epoch)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(checkpoint_trainer.ChkptTrainer, "save", save_then_ctrl_c)
    run_cells(CHECKPOINT_EXAMPLE[:9], notebook, interrupted=(13,))
    first = capsys.readouterr().out
    assert len(notebook["TrainedModelChkpt"]()) == 0 and len(notebook["Checkpoint"]()) == 1  # cells 15, 16
    assert "Epoch 0" in first and "Epoch 1" not in first

    run_cells(CHECKPOINT_EXAMPLE[9:], notebook)
    resumed = capsys.readouterr().out
    assert "Epoch 0" not in resumed and "Epoch 1" in resumed and "Epoch 2" in resumed  # resumed at epoch 1
    assert len(notebook["TrainedModelChkpt"]()) == 1 and len(notebook["Checkpoint"]()) == 0  # cells 21, 22


EXPERIMENTS_EXAMPLE = [
    (0, """
import os
import datajoint as dj
import pandas as pd
# changed: the server comes from DJ_HOST, DJ_USER, DJ_PASS (or dj.config); no enable_python_native_blobs in
# DataJoint 2; the schema is named in activate() below, not in dj.config['schema_name']
random_seed = 42  # added: the notebook uses random_seed without defining it
from itertools import product  # added: the notebook uses product without importing it
"""),
    (1, """
from neural_cotraining.pipeline import activate  # changed: instead of from nnfabrik.main import *
nnfabrik = activate(SCHEMA_NAME, trained_model=False)  # changed
Fabrikant, Seed, Dataset, Model, Trainer = nnfabrik.Fabrikant, nnfabrik.Seed, nnfabrik.Dataset, nnfabrik.Model, nnfabrik.Trainer  # changed

# import from your repository instead
from tests.pipeline.test_nnfabrik_notebooks import lab_tables  # changed: nnsysident.tables.experiments
TrainedModel, Experiments, OracleScore = lab_tables(nnfabrik)  # changed
Seed().insert1({"seed": random_seed})  # added: the lab's database holds its seeds already
"""),
    (4, """
dataset_fn = "tests.pipeline.nnsysident_standin.static_loaders"  # changed: a stand-in for nnsysident's loaders

dataset_paths = [
    "/notebooks/data/real/static20892-9-10-preproc0.zip",
    "/notebooks/data/real/static20892-9-11-preproc0.zip",
    "/notebooks/data/real/static20892-9-10-preproc0.zip",
    "/notebooks/data/real/static20892-9-11-preproc0.zip",
]

dataset_config_base = {
        "paths": None,  # fixed: was [dataset_path], which is not defined yet here (cell 5's loop sets it)
        "seed": random_seed,
        "batch_size": 64,
        "normalize_images": True,
        "normalize_neurons": True,
        "return_more": True,
        "device": "cuda",
        "shuffle_train": True,
    }
"""),
    (5, """
neurons_ns = [[169, 169], [164, 164], [169, 169, 169, 169], [164, 164, 164, 164]]
areas = [["V1", "PM"], ["V1", "PM"], ["V1", "PM", "AL", "RL"], ["V1", "PM", "AL", "RL"]]

dataset_fns, dataset_hashes = [], []
for dataset_path, neurons_n, area in zip(dataset_paths, neurons_ns, areas):

    dataset_config = dataset_config_base.copy()
    dataset_config["paths"] = [dataset_path]  # fixed: the loop never set each dataset's path
    dataset_config["area"] = area
    dataset_config["neurons_n"] = neurons_n

    dataset_key = Dataset().add_entry(
        dataset_fn=dataset_fn,
        dataset_config=dataset_config,
        dataset_comment="",
        dataset_fabrikant="kklurz",
        skip_duplicates=True,
        return_pk_only=True,
    )

    dataset_fns.append(dataset_key["dataset_fn"])
    dataset_hashes.append(dataset_key["dataset_hash"])
"""),
    (7, """
model_fn = 'tests.pipeline.nnsysident_standin.se2d_fullgaussian2d'  # changed: a stand-in for nnsysident's model

model_config_base = {'init_mu_range': 0.55,
                     'init_sigma': 0.4,
                     'input_kern': 15,
                     'hidden_kern': 13,
                     'gamma_input': 1.0,
                     'grid_mean_predictor': {'type': 'cortex',
                                              'input_dimensions': 2,
                                              'hidden_layers': 0,
                                              'hidden_features': 0,
                                              'final_tanh': False},
                     'gamma_readout': 20.074,
                     'share_features': True,
                     'share_transform': False}
"""),
    (8, """
model_fns, model_hashes = [], []

#loop over different model_configs if necessary (see dataset_config as an example)
model_config = model_config_base.copy()

model_key = Model().add_entry(
    model_fn=model_fn,
    model_config=model_config,
    model_comment="",
    model_fabrikant="kklurz",
    skip_duplicates=True,
    return_pk_only=True,
)

model_fns.append(model_key["model_fn"])
model_hashes.append(model_key["model_hash"])
"""),
    (10, """
trainer_fn = "tests.pipeline.nnsysident_standin.standard_trainer"  # changed: a stand-in for nnsysident's trainer

trainer_config_base = {'detach_core': True}
"""),
    (11, """
trainer_fns, trainer_hashes = [], []

#loop over different trainer_configs if necessary (see dataset_config as an example)
trainer_config = trainer_config_base.copy()

trainer_key = Trainer().add_entry(
    trainer_fn=trainer_fn,
    trainer_config=trainer_config,
    trainer_comment="",
    trainer_fabrikant="kklurz",
    skip_duplicates=True,
    return_pk_only=True,
)

trainer_fns.append(trainer_key["trainer_fn"])
trainer_hashes.append(trainer_key["trainer_hash"])
"""),
    (13, """
dfs, dhs, mfs, mhs, tfs, ths = [], [], [], [], [], []
restrictions = []
for (df, dh), (mf, mh), (tf, th) in product(
    zip(dataset_fns, dataset_hashes),
    zip(model_fns, model_hashes),
    zip(trainer_fns, trainer_hashes),
):
    combination = {
        "dataset_fn": df,
        "dataset_hash": dh,
        "model_fn": mf,
        "model_hash": mh,
        "trainer_fn": tf,
        "trainer_hash": th,
    }
    restrictions.append(combination)
"""),
    (15, """
fabrikant_name = "kklurz"
experiment_name = "My insightful experiment"
experiment_comment = "This experiment analyzes ..."

Experiments().add_entry(
    experiment_name=experiment_name,
    experiment_fabrikant=fabrikant_name,
    experiment_comment=experiment_comment,
    restrictions=restrictions,
    skip_duplicates=True,
)
"""),
    (17, """
experiment_name = "My insightful experiment"
tm_restriction = Experiments().Restrictions() & 'experiment_name="{}"'.format(
    experiment_name
)

TrainedModel.progress(tm_restriction)
"""),
    (19, """
for experiment_name in ["My insightful experiment", "My other insightful experiment"]:

    TrainedModel.populate(Experiments.Restrictions & 'experiment_name="{}"'.format(experiment_name),  # fixed: the & was missing (a syntax error)
                          reserve_jobs=True,
                          order="random",)
"""),
    (21, """
OracleScore.populate()  # added: a lab populates its oracle scores beforehand (nnsysident: its own notebook)
experiment_name = "My insightful experiment"

data = pd.DataFrame(((TrainedModel *
                       Experiments.Restrictions &
                       'experiment_name="{}"'.format(experiment_name)) *
                      Dataset *
                      Model *
                      Trainer *
                      Seed *
                      OracleScore).fetch())

# Plot stuff...
"""),
    (24, """
tms_n = 0
for experiment_name in Experiments.fetch("experiment_name"):
    print(experiment_name)
    tm_restriction = Experiments.Restrictions & 'experiment_name="{}"'.format(
        experiment_name
    )
    aa = TrainedModel.progress(tm_restriction)
    tms_n += aa[1]
    print("\\n")
"""),
]


def lab_tables(tables):
    """The lab's module (nnsysident's ``tables/experiments.py``): its TrainedModel, nnfabrik's Experiments and an
    OracleScore per dataset (here the mean test response of the stand-in data)."""
    import datajoint as dj
    import torch

    from neural_cotraining.pipeline import TrainedModelBase
    from neural_cotraining.pipeline.templates.experiments import experiments_table

    schema = tables.schema

    @schema
    class TrainedModel(TrainedModelBase):
        table_comment = "Trained models"
        nnfabrik = tables

    class OracleScore(dj.Computed):
        definition = """
        -> Dataset
        ---
        oracle_score: float64
        """

        def make(self, key):
            loaders = tables.Dataset().get_dataloader(key=key)["test"]
            responses = torch.cat([loader.dataset.tensors[1] for loader in loaders.values()], dim=1)
            self.insert1({**key, "oracle_score": float(responses.mean())})

    return TrainedModel, experiments_table(tables), schema(OracleScore, context={"Dataset": tables.Dataset})


def test_experiments_example_notebook_runs_cell_by_cell(notebook, capsys):
    shown = run_cells(EXPERIMENTS_EXAMPLE, notebook)
    TrainedModel, Experiments = notebook["TrainedModel"], notebook["Experiments"]
    assert shown[17] == "(4, 4)"  # progress before training: 4 of 4 to do
    assert len(Experiments.Restrictions()) == 4 and len(TrainedModel()) == 4
    assert len(notebook["data"]) == 4 and {"score", "oracle_score", "experiment_name"} <= set(notebook["data"].columns)
    assert notebook["tms_n"] == 4 and "My insightful experiment" in capsys.readouterr().out
    # the dataset config's seed (random_seed) reached every dataset builder; the jobs' Seed row is the same here
    assert {row["dataset_config"]["seed"] for row in notebook["Dataset"]().to_dicts()} == {42}
