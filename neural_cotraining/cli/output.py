"""What the commands print: tables on stdout, one job's labels."""

from __future__ import annotations

import sys

__all__ = ["labels_of", "print_table"]


def labels_of(job: dict) -> str:
    """``dataset / model / trainer / seed n`` of a labelled job."""
    return f"{job['dataset']} / {job['model']} / {job['trainer']} / seed {job['seed']}"


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def print_table(rows: list[dict], columns: list[str], stream=None) -> None:
    stream = stream or sys.stdout
    widths = {c: max(len(c), *(len(_format_value(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns), file=stream)
    for row in rows:
        print("  ".join(_format_value(row.get(c)).ljust(widths[c]) for c in columns), file=stream)
