"""What fits the entry tables' columns, checked before anything is written.

A value too long for its column or out of its integer range is not a database error to be met half-way through an
``add`` (MySQL in strict mode refuses the row, after the rows before it went in): it is bad input, refused in one
line naming the entry and key, before the transaction that inserts the entries starts.
"""

from __future__ import annotations

__all__ = ["COMMENT_LENGTH", "FN_LENGTH", "SEED_RANGE", "check_entry_fits", "check_seeds_fit"]

# the columns' sizes, declared with them in tables.py
FN_LENGTH = 96  # dotted builder names; keeps the TrainedModel key within MySQL's 3072-byte index limit
COMMENT_LENGTH = 256  # an entry's comment
SEED_RANGE = (-(2**31), 2**31 - 1)  # the seed column is an int32


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
