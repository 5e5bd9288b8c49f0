"""The neural data formats of ``cotraining_loaders`` (its neural config's ``format``): each neural builder
registers itself with ``@register_neural_format("name")``."""

from __future__ import annotations

from ..common.name_registry import Registry

__all__ = ["NEURAL_FORMATS", "register_neural_format"]

NEURAL_FORMATS = Registry("neural format")
register_neural_format = NEURAL_FORMATS.register
