"""Shared matplotlib helpers: figures through ``matplotlib.figure.Figure`` (Agg), saved atomically.

matplotlib is imported inside these functions, never at module import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from upscope.files import atomic_write
from upscope.text import printable

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.figure import Figure

#: zlib level of every PNG (Pillow's default is 6). Measured on compare's three figures (1.3
#: megapixels each): level 1 encodes in 40-70% of level 6's time and its files are 0-9% larger;
#: level 0 (no compression) makes files of 5-7 MB; 9 takes 2-9x longer for 1% less.
COMPRESS_LEVEL = 1

#: line height of figure text, in multiples of the font size (matplotlib's default linespacing
#: 1.2, plus the descent of the last line)
LINE = 1.25


def new_figure(
    width: float, height: float, layout: Literal["constrained"] | None = "constrained"
) -> Figure:
    """A pyplot-free Figure with the Agg canvas attached. ``layout=None``: no layout engine; the
    axes stay where they are put (:func:`panel_grid`, :func:`add_axes_in`), which costs nothing
    at draw time, while constrained layout measures every text of the figure on each draw (half
    of a many-panel figure's time)."""
    from matplotlib.figure import Figure

    from upscope.render import glyphs

    fig = Figure(figsize=(width, height), dpi=100, layout=layout)
    glyphs.canvas(fig)  # Agg, its text drawn from cached glyphs where that gives the same pixels
    return fig


def save_figure(fig: Figure, path: Path, **savefig_kwargs: Any) -> Path:
    """Save ``fig`` as PNG at ``path`` atomically (a complete file, or nothing), compressed at
    :data:`COMPRESS_LEVEL`."""
    from upscope.render import drawer

    if drawer.role() is not None and not _inside[0]:  # it would be drawn twice, or not at all
        raise RuntimeError("a figure of a figures call is saved outside save_all")
    kwargs = {"pil_kwargs": {"compress_level": COMPRESS_LEVEL}, **savefig_kwargs}
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", **kwargs))


def save_all(jobs: Sequence[tuple[Callable[[], Figure], Path]]) -> list[Path]:
    """Build and save each ``(build, path)`` (every figure of a command goes through here);
    returns the paths, in order.

    In a command's own process, with a drawing process (:mod:`upscope.render.drawer`), this
    lists the paths and draws none: the two drawing processes draw every second job each,
    counted over the whole figures call. Anywhere else it draws each, one after another."""
    from upscope.render import drawer

    paths = []
    _inside[0] = True
    try:
        for build, path in jobs:
            if drawer.share(drawer.next_index()):
                save_figure(build(), path)
            paths.append(path)
    finally:
        _inside[0] = False
    return paths


def save_one(build: Callable[[], Figure], path: Path) -> Path:
    """:func:`save_all` of one job."""
    return save_all([(build, path)])[0]


_inside = [False]  # save_figure is being called from save_all


def text_height(text: str, fontsize: float) -> float:
    """Inches that ``text`` (its lines) takes at ``fontsize`` points."""
    return (text.count("\n") + 1) * LINE * fontsize / 72


def add_axes_in(fig: Figure, left: float, bottom: float, width: float, height: float) -> Axes:
    """An axes at a fixed place given in inches from the figure's bottom-left corner."""
    return fig.add_axes(fractions(fig, left, bottom, width, height))


def fractions(
    fig: Figure, left: float, bottom: float, width: float, height: float
) -> tuple[float, float, float, float]:
    """A place in inches as (left, bottom, width, height) figure fractions: the one arithmetic
    of :func:`add_axes_in`, :class:`Frame` and :class:`RepeatedAxes`, which give the same
    pixels only while they place alike (one ulp moves a glyph)."""
    w, h = fig.get_size_inches()
    return (left / w, bottom / h, width / w, height / h)


def panel_grid(
    rows: int,
    cols: int,
    panel: tuple[float, float],
    gap: tuple[float, float],
    margins: tuple[float, float, float, float],
) -> tuple[Figure, np.ndarray]:
    """A figure of ``rows`` x ``cols`` axes at fixed places, without a layout engine: each panel
    ``panel`` = (width, height) inches, ``gap`` = (between columns, between rows) inches (room
    for the titles and labels the caller draws there), ``margins`` = (left, right, top, bottom)
    inches. The figure's size follows from them. Returns the figure and a (rows, cols) array.

    >>> fig, axes = panel_grid(2, 3, (2.0, 1.0), (0.5, 0.25), (1.0, 0.5, 0.75, 0.25))
    >>> [float(v) for v in fig.get_size_inches()], axes.shape
    ([8.5, 3.25], (2, 3))
    >>> [round(float(v), 6) for v in axes[1, 0].get_position().bounds]  # in figure fractions
    [0.117647, 0.076923, 0.235294, 0.307692]
    """
    import numpy as np

    width, height = panel
    left, right, top, bottom = margins
    fig_w = left + cols * width + (cols - 1) * gap[0] + right
    fig_h = top + rows * height + (rows - 1) * gap[1] + bottom
    fig = new_figure(fig_w, fig_h, layout=None)
    axes = np.empty((rows, cols), dtype=object)
    for r in range(rows):
        for c in range(cols):
            x = left + c * (width + gap[0])
            y = fig_h - top - height - r * (height + gap[1])
            axes[r, c] = add_axes_in(fig, x, y, width, height)
    return fig, axes


def side_colorbar(
    fig: Figure,
    image: Any,
    axes: Sequence[Axes | Frame | Placed],
    *,
    pad: float = 0.1,
    width: float = 0.15,
    shrink: float = 1.0,
    **colorbar_kwargs: Any,
) -> Colorbar:
    """A colorbar ``width`` inches wide, ``pad`` inches right of ``axes`` (their union), as tall
    as ``shrink`` of them and centred on them: the place constrained layout gave it, fixed.
    ``axes`` may be :class:`Frame` panels or the :class:`Placed` boxes of :class:`RepeatedAxes`."""
    for ax in axes:
        ax.apply_aspect()  # an equal-aspect image shrinks its box now, not at draw time
    boxes = [ax.get_position() for ax in axes]
    fig_w, fig_h = fig.get_size_inches()
    x1 = max(b.x1 for b in boxes) * fig_w
    y0, y1 = min(b.y0 for b in boxes) * fig_h, max(b.y1 for b in boxes) * fig_h
    tall = (y1 - y0) * shrink
    cax = add_axes_in(fig, x1 + pad, y0 + (y1 - y0 - tall) / 2, width, tall)
    return fig.colorbar(image, cax=cax, **colorbar_kwargs)


class Placed:
    """A panel's box (figure fractions) where no axes of its own stands: one place of
    :class:`RepeatedAxes`, for :func:`side_colorbar`."""

    def __init__(self, box: Any) -> None:
        self.box = box

    def apply_aspect(self) -> None:
        """Nothing to do: the box is where the axes is drawn, its aspect applied."""

    def get_position(self) -> Any:
        return self.box


class RepeatedAxes:
    """One axes drawn at each of ``places`` (left, bottom, width, height inches, as
    :func:`add_axes_in`), where the figure draws its axes. Make its artists once on ``.ax``
    (an image, lines, ticks, labels), then :meth:`show` with ``prepare(ax, i)``, which sets
    before each drawing what place ``i`` shows (its data, limits, title, labels): every
    property that any place changes.

    The pixels of one axes per place, prepared alike (tests/test_figures_cheap.py), without
    making an axes per place: about 6 ms each (its two axes, ticks and spines), and a figure
    of 18 spectra with ticks made 20. The axes is not one of ``fig.axes``."""

    def __init__(self, fig: Figure, places: Sequence[tuple[float, float, float, float]]):
        from matplotlib.axes import Axes as MplAxes

        self.fig = fig
        self.rects = [fractions(fig, *place) for place in places]
        self.ax = MplAxes(fig, self.rects[0])
        self.prepare: Callable[[Axes, int], None] = lambda ax, i: None

    def show(self, prepare: Callable[[Axes, int], None]) -> list[Placed]:
        """Draw the axes at every place, prepared by ``prepare``, whenever the figure is drawn;
        returns each place's box with its aspect applied (for :func:`side_colorbar`)."""
        from matplotlib.artist import Artist

        self.prepare = prepare
        repeated = self

        class _Places(Artist):
            def draw(self, renderer: Any) -> None:
                for i in range(len(repeated.rects)):
                    repeated.at(i).draw(renderer)
                self.stale = False

        placed = []
        for i in range(len(self.rects)):
            ax = self.at(i)
            ax.apply_aspect()
            placed.append(Placed(ax.get_position().frozen()))
        places = _Places()
        places.repeated = self  # type: ignore[attr-defined]  # (:func:`repeated_in`)
        places.set_zorder(self.ax.get_zorder())  # drawn where the figure draws axes
        self.fig.add_artist(places)
        return placed

    def at(self, i: int) -> Axes:
        """The axes at place ``i``, prepared for it (what a test reads: its title, image,
        texts)."""
        self.ax.set_position(self.rects[i])
        self.prepare(self.ax, i)
        return self.ax

    def __len__(self) -> int:
        return len(self.rects)


def repeated_in(fig: Figure) -> list[RepeatedAxes]:
    """The :class:`RepeatedAxes` of ``fig``, in the order they were shown."""
    return [a.repeated for a in fig.artists if hasattr(a, "repeated")]


def settle_layout(fig: Figure) -> Figure:
    """Run the figure's layout engine (constrained layout) now, once, and keep its result: the
    engine is then removed, so saving draws the figure once. With an engine, ``savefig`` first
    draws the whole figure without output only to run the layout, then draws it again: every
    tick, label and title was placed twice. Call it when the figure is complete (nothing added
    after moves). The same pixels: the same layout, run on the same figure at the same dpi.

    >>> fig = new_figure(4.0, 3.0)
    >>> ax = fig.add_subplot()
    >>> before = ax.get_position().bounds
    >>> settle_layout(fig).get_layout_engine() is None, ax.get_position().bounds != before
    (True, True)
    """
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine(None)
    return fig


def panel_title(ax: Axes, text: str, fontsize: float) -> None:
    """``ax.set_title(text)`` at the height matplotlib's automatic placement gives it above a
    panel with no ticks or labels on top (``y=1``: the title's pad above the frame), fixed.
    The same pixels, but the automatic placement measures the axes and their neighbours on
    every draw. Only for panels whose x axis is at the bottom (every upscope panel)."""
    ax.set_title(text, fontsize=fontsize, y=1.0)


def image_panel(ax: Axes, *, ylabel: bool = False) -> None:
    """No ticks on an image panel, and no axis drawn unless ``ylabel`` (the y axis keeps its
    label, the row's name): the frame alone. The same pixels as ``set_xticks([])`` and
    ``set_yticks([])``, without placing two empty axes and their labels on every draw."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.xaxis.set_visible(False)
    ax.yaxis.set_visible(ylabel)


class Frame:
    """An image panel without an Axes: the image, its black frame, a title and a row label,
    drawn by figure-level artists at a fixed place (``left``, ``bottom``, ``width``,
    ``height`` inches). The same pixels as an axes from :func:`add_axes_in` with ``imshow``
    (``interpolation="nearest"``), :func:`image_panel`, :func:`panel_title` and ``set_ylabel``
    (tests/test_figures_cheap.py compares them), for about a tenth of the cost: an Axes makes
    and lays out two axes, their ticks and four spines, on every draw, that such a panel never
    shows (probe-responses: 36 panels).

    It has ``get_position`` and ``apply_aspect``, so :func:`side_colorbar` places a colorbar
    beside frames as beside axes."""

    def __init__(self, fig: Figure, left: float, bottom: float, width: float, height: float):
        from matplotlib.transforms import Bbox

        self.fig = fig
        # in figure fractions, as add_axes_in places an axes; the image's box is the slot
        # shrunk to the image's aspect
        self.slot = Bbox.from_bounds(*fractions(fig, left, bottom, width, height))
        self.box = self.slot

    def image(
        self, data: np.ndarray, *, cmap: Any = None, vmin: float | None = None,
        vmax: float | None = None,
    ) -> Any:  # fmt: skip
        """Draw ``data`` (2D) with ``cmap`` from ``vmin`` to ``vmax``, at equal aspect, centred
        in the slot as ``Axes.apply_aspect`` places an axes with ``aspect="equal"``; returns the
        image (a mappable for a colorbar)."""
        from matplotlib.image import BboxImage
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MplPath
        from matplotlib.transforms import Bbox, TransformedBbox

        rows, cols = data.shape[:2]
        pixels = Bbox.unit().transformed(self.fig.transSubfigure)  # as apply_aspect, in floats
        shrunk = self.slot.shrunk_to_aspect(rows / cols, self.slot, pixels.height / pixels.width)
        self.box = shrunk.anchored("C", self.slot)
        x0, y0, x1, y1 = self.box.extents
        image = BboxImage(
            TransformedBbox(self.box, self.fig.transFigure),
            interpolation="nearest",
            origin="upper",
            cmap=cmap,
        )
        image.set_data(data)
        image.set_clim(vmin, vmax)
        self.fig.add_artist(image)
        # the four spines: each a two-point line with projecting caps, as an axes draws them
        for a, b in (((x0, y0), (x0, y1)), ((x1, y0), (x1, y1)), ((x0, y0), (x1, y0)),
                     ((x0, y1), (x1, y1))):  # fmt: skip
            self.fig.add_artist(
                PathPatch(
                    MplPath([a, b]),
                    transform=self.fig.transFigure,
                    fill=False,
                    linewidth=0.8,
                    edgecolor="black",
                    capstyle="projecting",
                    zorder=2.5,
                )
            )
        return image

    def title(self, text: str, fontsize: float) -> None:
        """:func:`panel_title`: centred, its baseline 6 points above the frame (the same
        transforms as an axes title: the box's, then the offset)."""
        from matplotlib.transforms import ScaledTranslation

        label = self.fig.text(0.5, 1.0, text, fontsize=fontsize, ha="center")
        label.set_verticalalignment("baseline")
        label.set_transform(
            self._in_box() + ScaledTranslation(0.0, 6 / 72, self.fig.dpi_scale_trans)
        )

    def ylabel(self, text: str, fontsize: float) -> None:
        """``set_ylabel`` of a panel without ticks: rotated, centred on the frame's left edge,
        4 points left of it."""
        from matplotlib.transforms import ScaledTranslation, blended_transform_factory

        label = self.fig.text(
            0.0,
            0.5,
            text,
            fontsize=fontsize,
            rotation=90,
            ha="center",
            va="bottom",
            rotation_mode="anchor",
        )
        box = self._in_box()
        label.set_transform(
            blended_transform_factory(
                box + ScaledTranslation(-4 / 72, 0.0, self.fig.dpi_scale_trans), box
            )
        )

    def _in_box(self) -> Any:
        """The transform from the box's (0, 1) coordinates to pixels: an axes' ``transAxes``."""
        from matplotlib.transforms import BboxTransformTo, TransformedBbox

        return BboxTransformTo(TransformedBbox(self.box, self.fig.transFigure))

    def apply_aspect(self) -> None:
        """Nothing to do: :meth:`image` placed the box (for :func:`side_colorbar`)."""

    def get_position(self) -> Any:
        """The image's box in figure fractions (a ``Bbox``), as ``Axes.get_position``."""
        return self.box.frozen()


def cell_labels(
    ax: Axes, cells: Sequence[tuple[float, float, str, Any]], **text_kwargs: Any
) -> Any:
    """Write each ``(x, y, text, colour)`` of ``cells`` in ``ax`` (data coordinates), centred,
    with ``text_kwargs`` (``fontsize``): the pixels of one ``ax.text(x, y, text, ha="center",
    va="center", c=colour, in_layout=False, **text_kwargs)`` per cell, drawn by one text moved
    from cell to cell, so the 256 labels of a 16x16 map make one artist instead of 256 (about
    0.15 ms each to make and lay out; tests/test_figures_cheap.py compares the pixels). Returns
    the artist."""
    from matplotlib.artist import Artist

    label = ax.text(0.0, 0.0, "", ha="center", va="center", in_layout=False, **text_kwargs)
    label.set_visible(False)  # drawn by the artist below, once per cell
    items = list(cells)

    class _Cells(Artist):
        zorder = label.get_zorder()  # where the texts would be drawn

        def draw(self, renderer: Any) -> None:
            label.set_visible(True)
            try:
                for x, y, text, colour in items:
                    label.set_position((x, y))
                    label.set_text(text)
                    label.set_color(colour)
                    label.draw(renderer)
            finally:
                label.set_visible(False)
            self.stale = False

    artist = _Cells()
    artist.cells = items  # type: ignore[attr-defined]  # (:func:`cells_in`)
    artist.set_in_layout(False)
    ax.add_artist(artist)
    return artist


def cells_in(ax: Axes) -> list[tuple[float, float, str, Any]]:
    """The ``(x, y, text, colour)`` that :func:`cell_labels` writes in ``ax``."""
    return [cell for a in ax.artists if hasattr(a, "cells") for cell in a.cells]


def fixed_title(fig: Figure, text: str, fontsize: float, pad: float = 0.08) -> None:
    """``fig.suptitle`` with its top ``pad`` inches below the figure's top edge."""
    fig.suptitle(text, fontsize=fontsize, y=1 - pad / fig.get_figheight(), va="top")


def wrap_lines(text: str, width_in: float, fontsize: float) -> str:
    """Each line of ``text`` wrapped to ``width_in`` inches at ``fontsize`` points (an average
    character is about 0.6 of the font size wide)."""
    import textwrap

    chars = max(30, int(width_in * 72 / (0.6 * fontsize)))
    return "\n".join(
        wrapped for line in text.split("\n") for wrapped in textwrap.wrap(line, chars) or [""]
    )


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
    r"""A name from a file or a model, safe in a figure: :func:`upscope.text.printable` (control
    characters as escapes, at most ``limit`` characters), ``$`` kept literal (not mathtext), and
    a character the figure's font has no glyph for written as ``\uXXXX`` (no missing-glyph
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


def fitted_fontsize(
    lines: Sequence[str], width_in: float, largest: float, smallest: float = 7.0
) -> float:
    """The largest font size up to ``largest`` at which the longest of ``lines`` fits in
    ``width_in`` inches (an average character is about 0.6 of the font size wide), at least
    ``smallest``: a title kept to its lines instead of wrapped into more.

    >>> fitted_fontsize(["x" * 100], 10.0, 11.0)
    11.0
    >>> fitted_fontsize(["x" * 150], 10.0, 11.0), fitted_fontsize(["x" * 300], 10.0, 11.0)
    (8.0, 7.0)
    """
    longest = max((len(line) for line in lines), default=1) or 1
    return max(smallest, min(largest, width_in * 72 / (0.6 * longest)))
