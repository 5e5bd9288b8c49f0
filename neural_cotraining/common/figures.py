"""Writing matplotlib figures: the one place that picks the non-interactive backend and saves a PNG."""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["pyplot", "save_figure"]

logger = logging.getLogger(__name__)


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only: workers and CI have no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str | Path, dpi: int = 100) -> Path:
    """Write ``figure`` to ``path`` (creating its folder) and close it."""
    plt = pyplot()
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    logger.info("wrote %s", path)
    return path
