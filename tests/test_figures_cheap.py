"""The cheaper ways the figures are drawn give the pixels of the plain matplotlib calls they
replace: bars as one collection (scan), image panels without axes to lay out, titles at their
fixed place, one colour map object per row, a layout run once before saving. Each test draws
the same content both ways, with the installed matplotlib, and compares every pixel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from upscope.render.plots import (
    Frame,
    add_axes_in,
    image_panel,
    new_figure,
    panel_title,
    save_figure,
    settle_layout,
)


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_bars_as_one_collection_are_the_pixels_of_ax_bar() -> None:
    from upscope.render.scan_figure import _bars

    rng = np.random.default_rng(3)
    cases = [  # many adjacent bars, a few narrow ones, bars below 0 (1D phase sums)
        (np.arange(256), rng.uniform(0.0, 2.5, 256), 1.0, ["tab:gray"] * 200 + ["tab:red"] * 56),
        (np.arange(120, 136), rng.integers(1, 4, 16).astype(float), 0.8, "tab:blue"),
        (np.arange(8), rng.normal(0.0, 1.0, 8), 0.7, ["tab:red", "tab:blue"] * 4),
    ]
    for x, heights, width, colours in cases:
        figs = []
        for cheap in (False, True):
            fig = new_figure(4.2, 2.5, layout=None)
            ax = add_axes_in(fig, 0.6, 0.4, 3.4, 1.9)
            if cheap:
                _bars(ax, x, heights, width, colours)
            else:
                ax.bar(x, heights, width=width, color=colours)
            ax.axhline(0.0, color="black", lw=0.6)
            figs.append(fig)
        plain, cheap_fig = figs
        for limits in ("get_xlim", "get_ylim"):  # autoscaled alike (y from 0), to float rounding
            cheap_limits, plain_limits = (getattr(f.axes[0], limits)() for f in (cheap_fig, plain))
            np.testing.assert_allclose(cheap_limits, plain_limits, rtol=1e-12)
        assert np.array_equal(_pixels(cheap_fig), _pixels(plain))


def test_image_panels_and_fixed_titles_are_the_pixels_of_the_plain_calls() -> None:
    from matplotlib import colormaps

    data = np.random.default_rng(5).normal(size=(3, 16, 16))
    figs = []
    for cheap in (False, True):
        fig = new_figure(6.4, 2.6, layout=None)
        shared = colormaps["RdBu_r"]
        for c in range(3):
            ax = add_axes_in(fig, 0.6 + 2.0 * c, 0.2, 1.8, 1.8)
            ax.imshow(data[c], cmap=shared if cheap else "RdBu_r", interpolation="nearest")
            title = f"method {c}\ncheckerbd 0.{c}1"
            if cheap:
                image_panel(ax, ylabel=c == 0)
                panel_title(ax, title, 9)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(title, fontsize=9)
            if c == 0:
                ax.set_ylabel("noise input\nmean energy", fontsize=9)
        figs.append(fig)
    plain, cheap_fig = figs
    assert [ax.get_title() for ax in cheap_fig.axes] == [ax.get_title() for ax in plain.axes]
    assert np.array_equal(_pixels(cheap_fig), _pixels(plain))


def _constrained(settle: bool):
    fig = new_figure(6.0, 3.0)
    axes = fig.subplots(1, 2)
    image = axes[0].imshow(np.arange(64.0).reshape(8, 8))
    fig.colorbar(image, ax=axes[0], label="contributions per output pixel")
    axes[1].plot(np.arange(10), np.arange(10) ** 2, label="profile")
    axes[1].legend(loc="upper center")
    axes[1].set_title("a title\nof two lines")
    fig.suptitle("the figure's title", fontsize=11)
    return settle_layout(fig) if settle else fig


def _panels(
    frames: bool, shapes: list[tuple[int, int]], seed: int
) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """A row of image panels (with titles, a row label on the first and a colorbar beside them)
    drawn as axes or as :class:`Frame`; the pixels, and each panel's box in figure fractions
    (an axes' after its aspect is applied)."""
    from matplotlib import colormaps

    from upscope.render.plots import side_colorbar

    rng = np.random.default_rng(seed)
    # odd figure sizes: an axes' aspect and title placement are computed in pixels, and a
    # frame must round as they do (one ulp moves a glyph by 1/64 px)
    fig = new_figure(
        2.2 * len(shapes) + 1.4 + float(rng.uniform(0, 0.1)), 2.9 + seed / 7, layout=None
    )
    side = float(rng.uniform(1.2, 1.9))
    panels, image = [], None
    for c, shape in enumerate(shapes):
        data = rng.uniform(-1.0, 3.0, shape)
        style = {"cmap": colormaps["RdBu_r"], "vmin": -0.5, "vmax": 2.5}
        title = f"method {c}\ncheckerbd {rng.uniform():.2f}"
        where = (0.7 + 2.1 * c, float(rng.uniform(0.2, 0.4)), side, side)
        if frames:
            panel = Frame(fig, *where)
            image = panel.image(data, **style)
            panel.title(title, 9)
            if c == 0:
                panel.ylabel("noise input\nmean energy", 9)
        else:
            panel = add_axes_in(fig, *where)
            image = panel.imshow(data, interpolation="nearest", **style)
            image_panel(panel, ylabel=c == 0)
            panel_title(panel, title, 9)
            if c == 0:
                panel.set_ylabel("noise input\nmean energy", fontsize=9)
        panels.append(panel)
    bar = side_colorbar(fig, image, panels, pad=0.1, width=0.14, shrink=0.9, extend="max")
    bar.set_label("y / RMS", fontsize=8)
    pixels = _pixels(fig)
    return pixels, [tuple(float(v) for v in p.get_position().bounds) for p in panels]


def test_frames_are_the_pixels_of_image_axes() -> None:
    """Square and oblong images (the frame shrinks to the image's aspect, centred, as an axes
    with aspect="equal"), at random places and sizes."""
    rng = np.random.default_rng(11)
    for seed in range(24):
        shapes = [tuple(int(v) for v in rng.integers(3, 40, 2)) for _ in range(3)]
        if seed < 4:
            shapes = [(n, n) for n, _ in shapes]
        (axes, axes_boxes), (frames, frame_boxes) = (
            _panels(f, shapes, seed) for f in (False, True)
        )
        assert frame_boxes == axes_boxes  # to the last bit: a glyph moves with one ulp
        assert axes.shape == frames.shape
        differ = np.argwhere((axes != frames).any(axis=2))
        assert len(differ) == 0, f"{shapes}: {len(differ)} pixels differ, first {differ[:5]}"


def test_a_settled_layout_saves_the_pixels_of_constrained_layout(tmp_path: Path) -> None:
    plain, settled = _constrained(False), _constrained(True)
    assert plain.get_layout_engine() is not None and settled.get_layout_engine() is None
    files = [save_figure(fig, tmp_path / f"{n}.png") for n, fig in enumerate((plain, settled))]
    a, b = (np.asarray(Image.open(path)) for path in files)
    assert a.shape == b.shape and np.array_equal(a, b)


def test_one_axes_repeated_gives_the_pixels_of_one_axes_per_place() -> None:
    """RepeatedAxes: images with ticks, tick labels, titles, a row label on the first place,
    markers outside the frame and a note on some places; then colorbars beside the places,
    placed from their boxes. The same pixels as one axes per place prepared alike."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from upscope.render.plots import RepeatedAxes, side_colorbar

    rng = np.random.default_rng(7)
    shapes = [(9, 9), (12, 12), (9, 9), (7, 13), (12, 12)]
    data = [rng.normal(size=s) for s in shapes]
    places = [(0.8 + 2.3 * (k % 3), 0.6 + 2.6 * (k // 3), 1.9, 1.9) for k in range(5)]
    magma = colormaps["magma"]

    def draw(repeated: bool) -> tuple[np.ndarray, list[tuple[float, ...]]]:
        fig = new_figure(8.2, 5.6, layout=None)
        axes: list = []
        if repeated:
            rep = RepeatedAxes(fig, places)
            setups = [rep.ax]
        else:
            axes = [add_axes_in(fig, *place) for place in places]
            setups = axes
        parts = []
        for ax in setups:
            image = ax.imshow(np.zeros((1, 1)), cmap=magma, interpolation="nearest")
            (marks,) = ax.plot([], [], "o", mfc="none", mec="cyan", ms=9, clip_on=False)
            note = ax.text(0.5, 0.5, "flat: no spectrum", transform=ax.transAxes, ha="center")
            ax.tick_params(labelsize=7)
            ax.set_xticks([0, 4, 8])
            ax.set_xlabel("fx (cycles/px)", fontsize=8)
            parts.append((image, marks, note))

        def prepare(ax, k: int) -> None:
            image, marks, note = parts[0 if repeated else k]
            rows, cols = shapes[k]
            image.set_data(data[k])
            image.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
            image.set_clim(-2.0 - k / 5, 2.0)
            marks.set_data([0, cols - 1], [0, rows - 1])
            marks.set_markeredgecolor("tab:cyan" if k % 2 else "cyan")
            note.set_visible(k == 2)
            ax.set_xlim(-0.5, cols - 0.5)
            ax.set_ylim(rows - 0.5, -0.5)
            panel_title(ax, f"method {k}\nnoise: peak {k * 1.5:.1f} dB", 9)
            ax.set_ylabel("noise input\nfy (cycles/px)" if k in (0, 3) else "", fontsize=9)

        if repeated:
            boxes = rep.show(prepare)
        else:
            for k, ax in enumerate(axes):
                prepare(ax, k)
            boxes = axes
        for group in ([0, 1, 2], [3, 4]):
            mappable = ScalarMappable(Normalize(-2.0, 2.0), magma)
            side_colorbar(fig, mappable, [boxes[k] for k in group], pad=0.1, width=0.15)
        pixels = _pixels(fig)
        return pixels, [tuple(float(v) for v in b.get_position().bounds) for b in boxes]

    (plain, plain_boxes), (repeated, repeated_boxes) = draw(False), draw(True)
    assert repeated_boxes == plain_boxes
    differ = np.argwhere((plain != repeated).any(axis=2))
    assert len(differ) == 0, f"{len(differ)} pixels differ, first {differ[:5]}"
    # the check is not empty: a place prepared differently shows
    assert not np.array_equal(plain[:, :300], np.full_like(plain[:, :300], 255))


def test_cell_labels_are_the_pixels_of_one_text_per_cell() -> None:
    """plots.cell_labels (one text moved from cell to cell) against ax.text per cell: labels of
    one to three digits in two colours over an image, with a patch and a text of the axes's own
    around them (the drawing order kept)."""
    from matplotlib.patches import Rectangle

    from upscope.render.plots import cell_labels

    rng = np.random.default_rng(2)
    grid = rng.integers(1, 140, (16, 16))
    images = []
    for cheap in (False, True):
        fig = new_figure(5.0, 5.0, layout=None)
        ax = add_axes_in(fig, 0.5, 0.5, 4.0, 4.0)
        ax.imshow(grid, cmap="viridis", interpolation="nearest")
        ax.add_patch(Rectangle((2.5, 2.5), 6, 6, fill=False, edgecolor="red", linestyle="--"))
        cells = [(c, r, str(int(v)), "white" if v < 70 else "black")
                 for (r, c), v in np.ndenumerate(grid)]  # fmt: skip
        if cheap:
            cell_labels(ax, cells, fontsize=7)
        else:
            for x, y, text, colour in cells:
                ax.text(x, y, text, ha="center", va="center", fontsize=7, c=colour, in_layout=False)
        ax.text(0.5, 0.5, "constant", transform=ax.transAxes, fontsize=12)
        images.append(_pixels(fig))
        tight = ax.get_tightbbox(fig.canvas.get_renderer())
        assert tight.width < 4.6 * fig.dpi  # the labels do not stretch the axes' box
    assert np.array_equal(images[0], images[1])
