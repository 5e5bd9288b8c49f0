"""The task losses by config name (``loss_functions``): each class registers itself with ``@register_loss("name")``,
which also sets its ``name``."""

from __future__ import annotations

from ...common.name_registry import Registry

__all__ = ["LOSSES", "register_loss"]

LOSSES = Registry("loss", stamp_name=True)
register_loss = LOSSES.register
