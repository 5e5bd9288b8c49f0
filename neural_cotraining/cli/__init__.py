"""The ``neural-cotraining`` command: one module per group of commands, plus how errors and tables are printed."""

from .main import main

__all__ = ["main"]
