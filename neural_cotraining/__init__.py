"""neural_cotraining: multi-task learning experiments as a DataJoint pipeline, nnfabrik style.

Builders (``dataset_fn``, ``model_fn``, ``trainer_fn``) and their configs are stored in database tables keyed by a
hash of the config; ``TrainedModel.populate()`` trains every missing combination. The database part lives in
``neural_cotraining.pipeline`` (the only module that imports datajoint); everything importable from here works
without a database. ``results`` and ``curves`` read an experiment's trained models back as labelled pandas
DataFrames (they connect when called).
"""

from .hashing import make_hash

__version__ = "0.1.0"

__all__ = ["__version__", "make_hash", "results", "curves"]


def results(experiment=None, *, schema: str | None = None):
    """An experiment's trained models as a pandas DataFrame: one row per model, labelled as the experiment file
    labels its entries (``dataset``, ``model``, ``trainer``, ``seed``), with ``score``, ``best_epoch`` and a column
    per final metric (``split/task/metric``). ``experiment``: the file's path (or a loaded ``Experiment``); without
    one, every job of ``schema``, labelled by the entries' comments.

    >>> import neural_cotraining
    >>> table = neural_cotraining.results("configs/demo.yaml")  # doctest: +SKIP
    """
    from .pipeline.reports.frames import results as read

    return read(experiment, schema=schema)


def curves(experiment=None, *, schema: str | None = None):
    """Per-epoch metrics of an experiment's jobs as a long-format pandas DataFrame (labels, ``seed``, ``epoch``,
    ``split``, ``task``, ``metric``, ``value``, ``running``); arguments as :func:`results`."""
    from .pipeline.reports.frames import curves as read

    return read(experiment, schema=schema)
