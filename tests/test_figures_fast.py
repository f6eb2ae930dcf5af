"""The figures after issue 21 (fixed layouts, PNG compression level 1, figures drawn in forked
workers): no layout engine left to move things, no text that runs into another panel or off the
figure, titles of at most two lines where issue 20 asks, saved pixels that are the figure's
pixels, and the same bytes from a worker as from this process. No timing here (bench/)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from matplotlib.image import BboxImage
from torch import nn

from tests.test_compare import smooth_image
from upscope import comparison as compare
from upscope.render.plots import repeated_in
from upscope.scanning.judge import judge
from upscope.scanning.torch_front import trace


@pytest.fixture(scope="module")
def comparison() -> compare.Comparison:
    original = smooth_image(3, 72, 96, seed=4)
    settings = compare.Settings(methods=("nearest", "bicubic", "convT-uneven"), fit=0, width=4)
    return compare.compare(original, settings)


@pytest.fixture(scope="module")
def probe2():
    from upscope.probe_config import ProbeConfig
    from upscope.probing import run_probe

    methods = ("convT-uneven", "bicubic", "nearest")
    return run_probe(ProbeConfig(scale=2, methods=methods, seeds=2, size=16, channels=2))


def _finding():
    torch.manual_seed(1)
    (finding,) = judge(trace(nn.ConvTranspose2d(2, 3, 3, stride=2), [torch.randn(1, 2, 6, 6)]))
    return finding


def _figures(comparison, probe2):
    from upscope.render import compare_figures, compare_view, probe_view, scan_view

    yield "compare-grid", compare_figures.grid_figure(comparison, "bicubic")
    yield "compare-spectra", compare_view.spectra_figure(comparison, compare.spectra(comparison))
    yield "compare-radial", compare_figures.radial_figure(comparison)
    yield "probe-responses", probe_view._grid_figure(probe2.results, probe2.config, "title")
    yield "probe-spectra", probe_view._spectra_figure(probe2.results, ("constant", "noise"), 2, "t")
    yield "scan", scan_view.draw(_finding(), 0.1)


def _apart(fig) -> list[str]:
    """What collides: two axes' boxes with their ticks, labels and titles (a colorbar and its
    own panel included; each place of a RepeatedAxes as an axes), image panels without axes
    (plots.Frame) and the texts around them, a title with any of them, or anything off the
    figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inside = fig.bbox.padded(1)
    boxes = [
        (repr(ax.get_title()), ax.get_tightbbox(renderer))
        for ax in fig.axes
        if ax.get_visible() and ax.axison
    ]
    for repeated in repeated_in(fig):
        for i in range(len(repeated)):
            ax = repeated.at(i)
            boxes.append((repr(ax.get_title()), ax.get_tightbbox(renderer).frozen()))
    boxes += [
        (f"image {n}", a.get_window_extent(renderer))
        for n, a in enumerate(fig.artists)
        if isinstance(a, BboxImage)
    ]
    boxes += [
        (repr(t.get_text()), t.get_window_extent(renderer))
        for t in fig.texts
        if t is not fig._suptitle and t.get_text()
    ]
    bad = [
        f"off the figure: {name}"
        for name, box in boxes
        if not (inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1))
    ]
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        overlap = box_a.intersection(box_a, box_b)
        if overlap is not None and overlap.width > 1 and overlap.height > 1:
            bad.append(f"{a} meets {b}")
    title = fig._suptitle.get_window_extent(renderer)  # type: ignore[union-attr]
    bad += [f"the title meets {name}" for name, box in boxes if box.y1 > title.y0 + 1]
    return bad


def test_every_figure_has_a_fixed_layout_and_nothing_collides(comparison, probe2) -> None:
    for name, fig in _figures(comparison, probe2):
        assert fig.get_layout_engine() is None, name  # nothing re-measured at draw time
        assert _apart(fig) == [], name
        assert fig.get_suptitle(), name
        labelled = [ax for ax in fig.axes if ax.get_title() or ax.get_ylabel()]
        assert len(labelled) >= len(fig.axes) // 2, name


def test_compare_titles_are_two_lines_and_the_zoom_shows_16_pixels(comparison) -> None:
    from upscope.render import compare_figures, compare_view

    grid = compare_figures.grid_figure(comparison, "bicubic")
    for fig in (
        grid,
        compare_view.spectra_figure(comparison, compare.spectra(comparison)),
        compare_figures.radial_figure(comparison),
    ):
        assert fig.get_suptitle().count("\n") == 1
    zooms = [ax for ax in grid.axes if "x zoom (" in ax.get_title()]
    assert zooms and all(ax.get_images()[0].get_array().shape[0] >= 16 for ax in zooms)


def test_crop_and_detail_follow_the_image_size() -> None:
    from upscope.render.compare_figures import DETAIL_MIN, ZOOM, crop_side

    for height, width in [(180, 240), (512, 512), (64, 64), (1080, 1920)]:
        side = crop_side(height, width)
        assert ZOOM * DETAIL_MIN <= side <= 96
        assert side == max(ZOOM * DETAIL_MIN, min(96, min(height, width) // 8))


def test_saved_png_is_the_figure_and_its_zoom_panel_shows_the_image(comparison, tmp_path) -> None:
    """The file holds the canvas's pixels (a lossless PNG at the chosen level), and the original's
    zoom panel, read back from the file, is the detail of the image, pixel by pixel."""
    from PIL import Image

    from upscope.render import compare_figures
    from upscope.render.plots import COMPRESS_LEVEL, save_figure

    assert COMPRESS_LEVEL == 1
    fig = compare_figures.grid_figure(comparison, "bicubic")
    path = save_figure(fig, tmp_path / "grid.png")
    saved = np.asarray(Image.open(path).convert("RGBA"))
    width, height = (fig.get_size_inches() * fig.dpi).astype(int)  # as Agg truncates
    assert saved.shape == (height, width, 4)
    assert np.array_equal(saved, np.asarray(fig.canvas.buffer_rgba()))
    (zoom,) = [ax for ax in fig.axes if ax.get_title().endswith("zoom (16x16)")][:1]
    shown = np.asarray(zoom.get_images()[0].get_array())  # (16, 16, 3) in [0, 1]
    box = zoom.get_window_extent()
    n = shown.shape[0]
    centres = [(box.x0 + (k + 0.5) * box.width / n, box.y1 - (k + 0.5) * box.height / n)
               for k in range(n)]  # fmt: skip
    for i, (_, y) in enumerate(centres):
        for j, (x, _) in enumerate(centres):
            pixel = saved[height - int(y) - 1, int(x), :3].astype(float) / 255
            assert np.abs(pixel - shown[i, j]).max() <= 1.5 / 255


def test_flat_spectrum_panel_is_empty_and_labelled(probe2) -> None:
    from upscope.render import probe_view

    fig = probe_view._spectra_figure(probe2.results, ("constant",), 2, "t")
    (panels,) = repeated_in(fig)  # one axes drawn at every panel's place
    flat = [i for i in range(len(panels)) if panels.at(i).get_title().endswith("constant: flat")]
    assert flat and len(flat) < len(panels)  # bicubic and nearest on a constant
    for i in range(len(panels)):
        ax = panels.at(i)
        empty = np.ma.getmaskarray(ax.get_images()[0].get_array()).all()  # no colour: white
        notes = [t for t in ax.texts if t.get_visible() and t.get_text()]
        assert empty == (i in flat)
        assert [t.get_text().split("\n")[0] for t in notes] == (
            ["flat: no spectrum"] if i in flat else []
        )


def test_responses_use_plain_labels(probe2) -> None:
    from upscope.render import probe_view

    fig = probe_view._grid_figure(probe2.results, probe2.config, "title")
    titles = [t.get_text() for t in fig.texts if "checkerbd" in t.get_text()]  # frames' titles
    assert len(titles) == 2 * 3  # a mean row per input, a panel per method
    assert all("\nmean map " in t and "cb " not in t for t in titles)
    fig.canvas.draw()
    images = [a for a in fig.artists if isinstance(a, BboxImage)]
    assert len(images) == 4 * 3  # two rows per input
    assert min(image.get_window_extent().width for image in images) >= 170


def test_pixel_shuffle_title_reads_as_a_division_of_the_values() -> None:
    from tests.test_scan import SAMPLES
    from upscope.render import scan_view
    from upscope.scanning.load import load_model

    (finding,) = judge(trace(load_model(f"{SAMPLES}:ESPCN", seed=0), [torch.randn(1, 1, 8, 8)]))
    title = scan_view.draw(finding, 0.1).axes[0].get_title()
    assert "conv channels (c*9+a*3+b),\neach divided by their mean |value| " in title
