"""Base classes for tables of the user's own, in their own schema, in nnfabrik's template style.

``TrainedModelBase`` (nnfabrik's name and pattern): a trained-model table with its own name and comment and the
pipeline's make. Subclass it, point ``nnfabrik`` at the pipeline's tables and decorate it with a schema::

    tables = activate("my_pipeline")                       # Fabrikant, Seed, Dataset, Model, Trainer, ...
    schema = dj.Schema("my_analysis")                       # or tables.schema

    @schema
    class QuickTrainedModel(TrainedModelBase):
        table_comment = "trained models of the quick sweep"
        nnfabrik = tables                                   # the namespace activate() returned, a module or a dict

    QuickTrainedModel.populate()

It gets ``populate`` (checkpoints, heartbeats, dead-worker recovery), ``load_model``, ``get_full_config``,
``call_back`` and the parts ``ModelState`` (alias ``ModelStorage``), ``EpochMetric`` and ``UnitResult``. Each
table can be pointed elsewhere with ``dataset_table``, ``model_table``, ``trainer_table``, ``seed_table``,
``user_table``, ``checkpoint_table`` (``None``: no checkpoints) or ``live_tables`` (``None``: no live progress).
Variants in one schema share its ``Checkpoint``, ``LiveJob`` and ``LiveEpochMetric`` tables: they are keyed by the job, and every
variant trains a job the same way.

``ScoringBase`` (a smaller version of nnfabrik's): a computed table downstream of a trained-model table, one number
per trained model, from ``measure_function(dataloader, model)`` on the trained model (``load_model``)::

    @schema
    class NoiseAccuracy(ScoringBase):
        trainedmodel_table = tables.TrainedModel
        measure_attribute = "noise_accuracy"
        measure_dataset = "test"

        @staticmethod
        def measure_function(dataloader, model):
            ...
"""

from __future__ import annotations

import math
from types import ModuleType, SimpleNamespace
from typing import Any

import datajoint as dj

from ..tables import EpochMetricPart, ModelStatePart, UnitResultPart, trained_model_definition
from ..trained_model import TrainedModelMethods

__all__ = ["TrainedModelBase", "ScoringBase", "declare_trained_model", "find_table"]


def find_table(context: Any, name: str, required: bool = True) -> Any:
    """The table ``name`` in ``context``: the namespace ``activate`` returns, a module or a dict."""
    if isinstance(context, (ModuleType, SimpleNamespace)):
        context = vars(context)
    if not isinstance(context, dict):
        raise ValueError(
            f"set the class attribute nnfabrik to the pipeline's tables (what activate() returns), or set "
            f"{name.lower()}_table; got {context!r}"
        )
    if name not in context and required:
        raise ValueError(f"the tables given as nnfabrik have no {name}")
    return context.get(name)


class TrainedModelBase(TrainedModelMethods, dj.Computed):
    """A trained-model table: keyed by Model, Dataset, Trainer and Seed; score, output, weights, per-epoch
    metrics. See the module docstring."""

    nnfabrik: Any = None
    table_comment = "Trained models"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # every table gets parts of its own: DataJoint binds a part class to one master
        cls.ModelState = type("ModelState", (ModelStatePart,), {"__module__": cls.__module__})
        cls.EpochMetric = type("EpochMetric", (EpochMetricPart,), {"__module__": cls.__module__})
        cls.UnitResult = type("UnitResult", (UnitResultPart,), {"__module__": cls.__module__})

    @property
    def dataset_table(self):
        return find_table(self.nnfabrik, "Dataset")

    @property
    def model_table(self):
        return find_table(self.nnfabrik, "Model")

    @property
    def trainer_table(self):
        return find_table(self.nnfabrik, "Trainer")

    @property
    def seed_table(self):
        return find_table(self.nnfabrik, "Seed")

    @property
    def user_table(self):
        return find_table(self.nnfabrik, "Fabrikant")

    @property
    def added_experiment_table(self):
        """The experiments ``add`` recorded (their builder modules, for ``load_model``); None where not given."""
        return find_table(self.nnfabrik, "AddedExperiment", required=False)

    @property
    def checkpoint_table(self):
        return find_table(self.nnfabrik, "Checkpoint", required=False)

    @property
    def live_tables(self):
        """(LiveJob, LiveEpochMetric), or None where the tables given hold none (no live progress then)."""
        job = find_table(self.nnfabrik, "LiveJob", required=False)
        epochs = find_table(self.nnfabrik, "LiveEpochMetric", required=False)
        return (job, epochs) if job is not None and epochs is not None else None

    @property
    def definition(self) -> str:
        return trained_model_definition(self.table_comment)


class _ModelStorageAlias:
    """``ModelStorage`` (nnfabrik's name) is ``ModelState``. A descriptor that answers only once the schema has
    bound ``ModelState`` to its master, so that declaring the table does not see the part twice."""

    def __get__(self, instance, owner):
        part = owner.ModelState
        return part if getattr(part, "_master", None) is owner else None


TrainedModelBase.ModelStorage = _ModelStorageAlias()


class ScoringBase(dj.Computed):
    """One number per trained model of ``trainedmodel_table``: ``measure_function(dataloader, model,
    **function_kwargs)`` on the ``measure_dataset`` split, stored as ``measure_attribute``."""

    trainedmodel_table: Any = None
    measure_dataset = "test"
    measure_attribute = "score"
    function_kwargs: dict = {}
    table_comment = "a score of each trained model"

    @staticmethod
    def measure_function(dataloader, model, **kwargs) -> float:
        raise NotImplementedError("set measure_function to the function that scores a model on a dataloader")

    @property
    def definition(self) -> str:
        if self.trainedmodel_table is None:
            raise ValueError(f"{type(self).__name__}: set trainedmodel_table to the trained-model table it scores")
        return f"""
        # {self.table_comment}
        -> self.trainedmodel_table
        ---
        {self.measure_attribute}: float64
        {self.measure_attribute}_ts = CURRENT_TIMESTAMP: datetime
        """

    def get_model(self, key: dict):
        """The trained model (eval mode) and its dataloaders of one key: ``(dataloaders, model)``."""
        return self.trainedmodel_table().load_model(key)

    def make(self, key: dict) -> None:
        dataloaders, model = self.get_model(key)
        value = float(self.measure_function(dataloaders[self.measure_dataset], model, **self.function_kwargs))
        if not math.isfinite(value):
            raise ValueError(f"{type(self).__name__}: the measure of {key} is {value}; nothing stored")
        self.insert1({**key, self.measure_attribute: value})


def declare_trained_model(schema: dj.Schema, context: dict) -> None:
    """Declare the pipeline's own ``TrainedModel`` in ``schema`` (after ``tables.declare_tables``)."""

    class TrainedModel(TrainedModelBase):
        table_comment = "a model trained from one dataset, model, trainer and seed entry"
        nnfabrik = context

    context["TrainedModel"] = schema(TrainedModel, context=context)
