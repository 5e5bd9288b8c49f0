"""What fits the entry tables' columns, checked before anything is written.

A value too long for its column or out of its integer range is not a database error to be met half-way through an
``add`` (MySQL in strict mode refuses the row, after the rows before it went in): it is bad input, refused in one
line naming the entry and key, before the transaction that inserts the entries starts.
"""

from __future__ import annotations

__all__ = ["BUILDER_MODULES_LENGTH", "COMMENT_LENGTH", "EXPERIMENT_NAME_LENGTH", "FN_LENGTH", "LABEL_LENGTH",
           "SEED_RANGE", "check_entry_fits", "check_experiment_record_fits", "check_seeds_fit"]

# the columns' sizes, declared with them in tables.py
FN_LENGTH = 96  # dotted builder names; keeps the TrainedModel key within MySQL's 3072-byte index limit
COMMENT_LENGTH = 256  # an entry's comment
SEED_RANGE = (-(2**31), 2**31 - 1)  # the seed column is an int32
EXPERIMENT_NAME_LENGTH = 100  # an added experiment's name (nnfabrik's Experiments uses the same)
BUILDER_MODULES_LENGTH = 1000  # an added experiment's builder modules, comma-separated
LABEL_LENGTH = COMMENT_LENGTH  # an entry's label in an added job (a label stands in for a missing comment)


def _check_length(value: str, limit: int, where: str) -> None:
    if len(value) > limit:
        raise ValueError(f"{where} is {len(value)} characters long; the database column holds at most {limit}")


def check_entry_fits(fn: str, comment: str, where: str, comment_key: str = "comment") -> None:
    """The builder's dotted name and the comment fit their columns (``where`` names the entry)."""
    _check_length(fn, FN_LENGTH, f"{where}.fn")
    _check_length(comment, COMMENT_LENGTH, f"{where}.{comment_key}")


def check_seeds_fit(seeds, where: str = "seeds") -> None:
    low, high = SEED_RANGE
    for index, seed in enumerate(seeds):
        if not low <= int(seed) <= high:
            raise ValueError(f"{where}[{index}] is {seed}, outside the seed column's range {low}..{high}")


def check_experiment_record_fits(name: str, builder_modules, labels, name_key: str = "name") -> None:
    """An added experiment's name, its builder modules (joined by commas) and its entries' labels (``[(where,
    label)]``) fit their columns; ``name_key`` says where the name came from."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{name_key} must be a non-empty string, not {name!r}")
    _check_length(name, EXPERIMENT_NAME_LENGTH, name_key)
    _check_length(",".join(builder_modules), BUILDER_MODULES_LENGTH, "builder_modules (joined by commas)")
    for where, label in labels:
        _check_length(label, LABEL_LENGTH, f"{where} (its label)")
