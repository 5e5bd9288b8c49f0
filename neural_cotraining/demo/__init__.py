"""The demo: the paper's experiment in miniature, and how conditions are compared over seeds.

- ``report``: the demo's experiment file, its printed table and ``summary.json``;
- ``comparison``: per-seed paired differences, the sign test and the sentence a result supports;
- ``plots``: accuracy against noise level, one line per condition.
"""

from .report import DEMO_EXPERIMENT, write_summary

__all__ = ["DEMO_EXPERIMENT", "write_summary"]
