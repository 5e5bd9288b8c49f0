"""The demo: the paper's experiment in miniature, and how conditions are compared over seeds.

- ``report``: the demo's (and the controls study's) experiment file, printed tables and ``summary.json``;
- ``comparison``: per-seed paired differences, the sign test and the sentence a result supports;
- ``plots``: accuracy against noise level, one line per condition.
"""

from .report import CONTROLS_EXPERIMENT, DEMO_EXPERIMENT, STUDIES, write_summary

__all__ = ["DEMO_EXPERIMENT", "CONTROLS_EXPERIMENT", "STUDIES", "write_summary"]
