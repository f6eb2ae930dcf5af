"""Shared matplotlib helpers: figures through ``matplotlib.figure.Figure`` (Agg), saved atomically.

matplotlib is imported inside these functions, never at module import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from upscope.files import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free Figure with the Agg canvas attached."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: Path, **savefig_kwargs: Any) -> Path:
    """Save ``fig`` as PNG at ``path`` atomically (a complete file, or nothing)."""
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", **savefig_kwargs))
