"""neural_cotraining: multi-task learning experiments as a DataJoint pipeline, nnfabrik style.

Builders (``dataset_fn``, ``model_fn``, ``trainer_fn``) and their configs are stored in database tables keyed by a
hash of the config; ``TrainedModel.populate()`` trains every missing combination. The database part lives in
``neural_cotraining.pipeline`` (the only module that imports datajoint); everything importable from here works
without a database.
"""

from .hashing import make_hash

__version__ = "0.1.0"

__all__ = ["__version__", "make_hash"]
