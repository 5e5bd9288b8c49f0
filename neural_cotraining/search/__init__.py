"""Hyperparameter search on top of the pipeline: nnfabrik's ``Bayesian`` and ``Random`` (``utility.hypersearch``).

Map: ``space`` (nnfabrik's ``*_config_auto`` parameter specs), ``optimizer`` (the next trial's values, Optuna),
``driver`` (the loop: propose, record as entries, train with ``populate``, until done), ``nnfabrik`` (the two
classes under nnfabrik's names and arguments), ``search_file`` (the ``search:`` section of an experiment file, for
``neural-cotraining search FILE``). The trials live in the database (``pipeline.search_trials``), so a search resumes
after a crash and many workers can train its trials. See docs/search.md.
"""

from .driver import SearchInterrupted
from .nnfabrik import Bayesian, Random
from .space import SearchSpaceError

__all__ = ["Bayesian", "Random", "SearchInterrupted", "SearchSpaceError"]
