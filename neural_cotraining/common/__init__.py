"""Leaf helpers any layer may import (it imports nothing of the package).

- :mod:`.config_keys`: the one strict-key check and :class:`ConfigKeyError`;
- :mod:`.value_checks`: ``check_int``, ``check_number``, ``check_fraction``, the checks of a config's numbers;
- :mod:`.seeds`: ``check_seed`` and the two seed formulas (the dataset builders' and the trainer's);
- :mod:`.plain`: numpy values from a database or file as plain Python;
- :mod:`.torch_bytes`: the torch serialiser for weights and checkpoints stored as bytes;
- :mod:`.names`: the shipped task names and the split names;
- :mod:`.name_registry`: :class:`Registry`, behind every ``@register_...`` decorator;
- :mod:`.figures`: matplotlib on the Agg backend;
- :mod:`.progress_text`: how a job's progress reads (labels, main metrics, durations), for the worker's progress
  lines and the ``status``/``watch`` commands alike.
"""

from .config_keys import ConfigKeyError, check_config_keys, keyword_names, strict_keywords
from .name_registry import Registry
from .names import IMAGE_CLASSIFICATION, NEURAL, SPLITS, TEST, TRAIN, VALIDATION
from .plain import from_numpy, plain_values
from .seeds import check_seed, derive_data_seed, derive_training_seed
from .torch_bytes import from_torch_bytes, to_torch_bytes
from .value_checks import check_fraction, check_int, check_number

__all__ = [
    "ConfigKeyError",
    "IMAGE_CLASSIFICATION",
    "NEURAL",
    "Registry",
    "SPLITS",
    "TEST",
    "TRAIN",
    "VALIDATION",
    "check_config_keys",
    "check_fraction",
    "check_int",
    "check_number",
    "check_seed",
    "derive_data_seed",
    "derive_training_seed",
    "from_numpy",
    "from_torch_bytes",
    "keyword_names",
    "plain_values",
    "strict_keywords",
    "to_torch_bytes",
]
