"""The cyclers by config name (``cycler``): each registers a factory ``(loaders, seed, main_task, ratio) -> Cycler``
with ``@register_cycler("name")``."""

from __future__ import annotations

from ...common.name_registry import Registry

__all__ = ["CYCLERS", "register_cycler"]

CYCLERS = Registry("cycler")
register_cycler = CYCLERS.register
