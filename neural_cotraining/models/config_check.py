"""Config checks shared by every model builder: strict config keys and the seed's type (both from ``common``).

Kept apart from the builders so that builder modules in sub-packages (e.g. ``models.graph.builders``) can use them
without importing each other.
"""

from __future__ import annotations

from ..common.config_keys import ConfigKeyError, strict_keywords
from ..common.seeds import check_seed

__all__ = ["UnknownConfigKeyError", "check_seed", "strict_config"]

#: the name the models package documents for its unknown-key error; the one ``common`` ConfigKeyError
UnknownConfigKeyError = ConfigKeyError

#: reject config keys the builder does not name as keyword-only arguments, listing the accepted ones
strict_config = strict_keywords(passed=("dataloaders", "seed"), only_keyword_only=True)
