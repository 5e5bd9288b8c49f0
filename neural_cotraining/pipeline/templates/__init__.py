"""Tables of the user's own in nnfabrik's template style (nnfabrik's ``templates/``).

- ``base``: ``TrainedModelBase`` (a trained-model table with the pipeline's make) and ``ScoringBase`` (one number
  per trained model);
- ``checkpoint``: ``TrainedModelChkptBase`` and ``my_checkpoint``, nnfabrik's ``call_back(uid, epoch, model, state)``
  checkpoint protocol;
- ``experiments``: ``experiments_table``, nnfabrik's ``Experiments`` table with its ``Restrictions`` part.
"""

from .base import ScoringBase, TrainedModelBase, declare_trained_model, find_table
from .checkpoint import TrainedModelChkptBase, my_checkpoint
from .experiments import experiments_table

__all__ = ["ScoringBase", "TrainedModelBase", "TrainedModelChkptBase", "declare_trained_model", "experiments_table",
           "find_table", "my_checkpoint"]
