"""The loss weightings by config name (``loss_weighting``): each class registers itself with
``@register_weighting("name")``, which also sets its ``name``."""

from __future__ import annotations

from ...common.name_registry import Registry

__all__ = ["WEIGHTINGS", "register_weighting"]

WEIGHTINGS = Registry("loss_weighting", stamp_name=True)
register_weighting = WEIGHTINGS.register
