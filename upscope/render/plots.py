"""Shared matplotlib helpers: figures through ``matplotlib.figure.Figure`` (Agg), saved atomically.

matplotlib is imported inside these functions, never at module import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from upscope.files import atomic_write
from upscope.text import printable

if TYPE_CHECKING:
    import numpy as np
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


def centred_panel(
    spectrum: np.ndarray,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """An unshifted (H, W) spectrum as imshow draws it, and its extent (left, right, bottom, top).

    Zero frequency goes to the centre (fftshift), fy grows downwards, and every pixel is centred
    on its frequency. An even side has -1/2 but not +1/2 cycles/px (the same frequency); its
    -1/2 row or column is repeated at +1/2, so that the panel is symmetric and runs exactly from
    -1/2 - 1/(2n) to +1/2 + 1/(2n). ``probe-spectra.png`` and ``compare-spectra.png`` use it.

    >>> import numpy as np
    >>> data, extent = centred_panel(np.arange(4.0).reshape(1, 4))
    >>> data.tolist(), [float(e) for e in extent]
    ([[2.0, 3.0, 0.0, 1.0, 2.0]], [-0.625, 0.625, 0.5, -0.5])
    """
    import numpy as np

    data = np.fft.fftshift(spectrum)
    h, w = spectrum.shape
    if h % 2 == 0:
        data = np.concatenate([data, data[:1]], axis=0)
    if w % 2 == 0:
        data = np.concatenate([data, data[:, :1]], axis=1)
    fy = np.fft.fftshift(np.fft.fftfreq(h))
    fx = np.fft.fftshift(np.fft.fftfreq(w))
    top, left = fy[0] - 0.5 / h, fx[0] - 0.5 / w
    return data, (left, -left, -top, top)


def peak_positions(shape: tuple[int, int], scale: int) -> list[tuple[float, float]]:
    """(fx, fy) of every peak bin (:func:`upscope.metrics.peak_bins`) on a centred panel; a peak
    at -1/2 is also drawn at +1/2, where :func:`centred_panel` repeats it.

    >>> sorted(peak_positions((8, 8), 2))  # doctest: +NORMALIZE_WHITESPACE
    [(-0.5, -0.5), (-0.5, 0.0), (-0.5, 0.5), (0.0, -0.5), (0.0, 0.5),
     (0.5, -0.5), (0.5, 0.0), (0.5, 0.5)]
    """
    import numpy as np

    from upscope.metrics import peak_bins

    h, w = shape
    fys, fxs = np.fft.fftfreq(h), np.fft.fftfreq(w)
    positions = []
    for u, v in peak_bins(shape, scale):
        ys = [float(fys[u])] + ([0.5] if fys[u] == -0.5 else [])
        xs = [float(fxs[v])] + ([0.5] if fxs[v] == -0.5 else [])
        positions += [(x, y) for y in ys for x in xs]
    return positions


def figure_text(text: object, limit: int = 80) -> str:
    """A name from a file or a model, safe in a figure: :func:`upscope.text.printable` (control
    characters as escapes, at most ``limit`` characters), ``$`` kept literal (not mathtext), and
    a character the figure's font has no glyph for written as ``\\uXXXX`` (no missing-glyph
    warning, no empty box).

    >>> figure_text("up\x1b[2J $x$")
    'up\\x1b[2J \\$x\\$'
    """
    value = printable(text, limit)
    if not value.isascii():
        value = "".join(
            ch if ord(ch) < 128 or _has_glyph(ch) else f"\\u{ord(ch):04x}" for ch in value
        )
    return value.replace("$", "\\$")


def _has_glyph(ch: str) -> bool:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    global _CHARMAP
    if _CHARMAP is None:
        path = font_manager.findfont(font_manager.FontProperties())
        _CHARMAP = frozenset(FT2Font(path).get_charmap())
    return ord(ch) in _CHARMAP


_CHARMAP: frozenset[int] | None = None


def fitted_title(fig: Figure, text: str, fontsize: float) -> None:
    """``fig.suptitle(text)`` with each line wrapped to the figure's width: a title wider than the
    figure is cut at both edges (a compare of one or two methods makes a narrow figure). The
    figure grows by the lines the wrapping adds, so the panels keep their room."""
    import textwrap

    chars = max(30, int(fig.get_figwidth() * 72 / (0.6 * fontsize)))
    given = text.split("\n")
    lines = [wrapped for line in given for wrapped in textwrap.wrap(line, chars) or [""]]
    fig.set_figheight(fig.get_figheight() + (len(lines) - len(given)) * 1.25 * fontsize / 72)
    fig.suptitle("\n".join(lines), fontsize=fontsize)


def panel_rows(n: int, per_row: int) -> list[range]:
    """Split n panels into rows of nearly equal width, at most ``per_row`` each.

    >>> [list(b) for b in panel_rows(7, 5)]
    [[0, 1, 2, 3], [4, 5, 6]]
    """
    count = -(-n // per_row)
    size = -(-n // count)
    return [range(start, min(start + size, n)) for start in range(0, n, size)]
