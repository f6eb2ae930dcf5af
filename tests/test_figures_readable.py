"""Figures a person can read: compare's high-pass row and 4x zoom, its radial small multiples,
probe's spectra on one scale per input with flat panels marked, wrapped overlap titles, text
markers for winners (they survive NO_COLOR), one PNG naming convention, notes that explain."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.test_compare import smooth_image
from upscope import arith
from upscope import comparison as compare
from upscope.overlap_map import stack_overlap
from upscope.render.plots import repeated_in

NAME = re.compile(r"^[a-z]+-[a-z0-9.x-]+\.png$")  # <command>-<what>.png, lowercase, hyphens


@pytest.fixture(scope="module")
def small_comparison() -> compare.Comparison:
    original = smooth_image(3, 48, 48, seed=2)
    settings = compare.Settings(methods=("nearest", "bicubic", "convT-uneven"), fit=0, width=4)
    return compare.compare(original, settings)


def test_compare_grid_has_a_high_pass_row_on_one_scale_and_a_4x_zoom(small_comparison) -> None:
    from upscope.render import compare_figures

    result = small_comparison
    fig = compare_figures.grid_figure(result, "bicubic")
    titles = [ax.get_title() for ax in fig.axes]
    passes = [ax for ax in fig.axes if ax.get_title().startswith("high-pass")]
    assert len(passes) == len(result.results) + 1  # every method and the original
    assert len({ax.get_images()[0].get_clim() for ax in passes}) == 1  # one colour scale
    assert any(ax.get_ylabel() == "high-pass (grey level)" for ax in fig.axes)  # its colorbar
    _, height, width = result.original.shape
    top, left, side = compare.zoom_window(result, compare_figures.crop_side(height, width))
    d_top, d_left, d_side = compare_figures.detail_window(result, top, left, side)
    assert d_side == max(min(16, side), side // 4) // 2 * 2  # at least 16 px, or the whole crop
    assert top <= d_top and d_top + d_side <= top + side
    zooms = [ax for ax in fig.axes if ax.get_title().startswith(f"{side / d_side:.3g}x zoom (")]
    assert len(zooms) == len(result.results) + 1  # the original's first
    images = [result.original] + [r.output for r in result.results]
    for ax, pixels in zip(zooms, images, strict=True):
        shown = np.asarray(ax.get_images()[0].get_array())
        expected = np.moveaxis(pixels[:, d_top : d_top + d_side, d_left : d_left + d_side], 0, -1)
        assert shown.shape[:2] == (d_side, d_side)
        assert np.allclose(shown, np.clip(expected, 0, 1))
    assert sum("* best PSNR" in t for t in titles) == 1
    assert any(t.startswith("bicubic") and "* best PSNR" in t for t in titles)
    assert "* marks the best PSNR" in " ".join(fig.get_suptitle().split())
    assert fig.get_suptitle().count("\n") <= 1  # at most two lines


def test_high_pass_keeps_a_period_s_grid_and_drops_a_ramp() -> None:
    from upscope.render.compare_figures import high_pass

    for s in (2, 3):
        ramp = np.add.outer(np.arange(30.0), np.arange(30.0))[None] / 60
        assert np.abs(high_pass(ramp, s)[s:-s, s:-s]).max() < 1e-12
        grid = np.zeros((1, 30, 30))
        grid[:, ::s, ::s] = 1.0
        hp = high_pass(grid, s)
        assert hp[s * 3, s * 3] == pytest.approx(1 - 1 / (2 * s - 1) ** 2 * (1 if s == 2 else 1))


def test_compare_radial_is_small_multiples_against_the_best_interpolation(
    small_comparison,
) -> None:
    from upscope.render import compare_figures

    result = small_comparison
    fig = compare_figures.radial_figure(result)
    panels = [ax for ax in fig.axes if ax.get_lines()]
    assert len(panels) == len(result.results)
    best = compare_figures.best_interpolation(result.results)
    assert (
        best is not None
        and best.method
        == max((r for r in result.results if not r.learned), key=lambda r: r.psnr).method
    )
    for ax, r in zip(panels, result.results, strict=True):
        labels = [
            line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")
        ]
        assert labels == ([r.method] if r.method == best.method else [best.method, r.method])
    assert all(ax.get_ylabel() in ("", "minus original (dB)") for ax in panels)
    assert fig.get_suptitle().count("\n") <= 1 and "20 log10 |F|" in fig.get_suptitle()
    for ax in panels:  # its own y scale covers its curves
        low, high = ax.get_ylim()
        data = np.concatenate([np.asarray(line.get_ydata()) for line in ax.get_lines()[2:]])
        assert data.max() <= high and np.percentile(data, 1) >= low


def test_compare_table_marks_winners_without_colour(run_cli, tmp_path: Path) -> None:
    image = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray((smooth_image(3, 32, 32).transpose(1, 2, 0) * 255).astype(np.uint8)).save(image)
    args = ["compare", str(image), "-m", "nearest,bilinear,bicubic", "--fit", "0", "--no-png"]
    doc = json.loads(run_cli(*args, "--json").stdout)
    table = run_cli(*args).stdout  # CliRunner: no colour, as in a log
    best = max(doc["results"], key=lambda r: r["psnr"])
    row = next(line for line in table.splitlines() if line.startswith(best["method"]))
    assert f"{best['psnr']:.2f}*" in row
    assert "* marks the best of each column" in " ".join(table.split())


def test_zoneplate_says_what_it_shows(run_cli) -> None:
    args = ["compare", "zoneplate", "-m", "nearest", "--fit", "0", "--no-png"]
    doc = json.loads(run_cli(*args, "--json").stdout)
    assert "aliasing" in doc["note"] and "no upsampler can undo" in doc["note"]
    text = " ".join(run_cli(*args).stdout.split())
    assert "zone plate:" in text and "not PSNR" in text


@pytest.fixture(scope="module")
def probe3():
    from upscope.probe_config import ProbeConfig
    from upscope.probing import run_probe

    methods = ("convT-uneven", "convT-even", "bilinear", "bicubic", "nearest")
    return run_probe(ProbeConfig(scale=3, methods=methods, seeds=2, size=24, channels=2))


def test_probe_spectra_one_scale_per_input_flat_panels_marked(probe3, tmp_path: Path) -> None:
    from matplotlib.image import imread

    from upscope.render import probe_view

    path = probe_view._spectra(probe3.results, ("constant", "noise"), 3, "t", tmp_path / "s.png")
    assert path.name == "s.png"
    # redraw to inspect: the same function builds the figure it saves
    import matplotlib.figure

    saved: list[matplotlib.figure.Figure] = []
    original = probe_view.save_figure
    probe_view.save_figure = lambda fig, p: saved.append(fig) or p  # type: ignore[assignment]
    try:
        probe_view._spectra(probe3.results, ("constant", "noise"), 3, "t", tmp_path / "t.png")
    finally:
        probe_view.save_figure = original
    (fig,) = saved
    (repeated,) = repeated_in(fig)  # one axes drawn at every panel's place, prepared for each
    fig.canvas.draw()
    panels = []  # (title, colour limits, visible texts, width in pixels) of each place
    for i in range(len(repeated)):
        ax = repeated.at(i)
        texts = [t.get_text() for t in ax.texts if t.get_visible()]
        width = ax.get_window_extent().width
        panels.append((ax.get_title(), ax.get_images()[0].get_clim(), texts, width))
    by_input: dict[str, set[tuple[float, float]]] = {}
    for title, clim, _, _ in panels:
        kind = title.split("\n")[1].split(":")[0]
        by_input.setdefault(kind, set()).add(clim)
    assert {k: len(v) for k, v in by_input.items()} == {"constant": 1, "noise": 1}
    totals = {m.method: float(m.spectrum.sum()) for m in probe3.results if m.input == "constant"}
    top = max(totals.values())
    for title, _, texts, _ in panels:
        name = title.split("\n")[0].split(" (")[0]
        if not title.split("\n")[1].startswith("constant"):
            continue
        flat = totals[name] <= probe_view.NOISE_FLOOR * top
        assert ("flat" in title) == flat
        assert any(t.startswith("flat") for t in texts) == flat
    assert totals["bicubic"] <= probe_view.NOISE_FLOOR * top < totals["convT-uneven"]
    assert min(width for *_, width in panels) > 150  # was ~115 px
    assert imread(path).shape[1] > 1000


def test_probe_names_convt_k_s_and_explains_bilinear_on_noise(probe3) -> None:
    from upscope.render.probe_view import _label

    rows = {(m.method, m.input): m for m in probe3.results}
    assert _label(rows["convT-uneven", "noise"]) == "convT-uneven (k=5 s=3)"
    assert _label(rows["convT-even", "noise"]) == "convT-even (k=6 s=3)"
    # bilinear x3 on white noise: one phase per axis copies a pixel (variance 1), two mix
    # 1/3 and 2/3 (variance 5/9); energy imbalance (max - min) / mean over the 9 phases
    per_axis = np.array([5 / 9, 1.0, 5 / 9])
    energy = np.outer(per_axis, per_axis)
    expected = (energy.max() - energy.min()) / energy.mean()
    from upscope.probing import blend_imbalance

    assert blend_imbalance("bilinear", 3) == pytest.approx(expected, rel=1e-12)
    assert blend_imbalance("bilinear", 2) == pytest.approx(0.0, abs=1e-12)  # phases at +-1/4
    assert rows["bilinear", "noise"].checkerboard == pytest.approx(expected, rel=0.15)
    assert f"noise scores {expected:.2f} from the weights" in rows["bilinear", "noise"].note
    assert "variance 5/9" in rows["bilinear", "noise"].note
    assert "variance" not in rows["nearest", "noise"].note


def test_probe_table_names_k_s_and_marks_flat_values(run_cli) -> None:
    args = ["probe", "--scale", "3", "--seeds", "1", "--size", "12", "--channels", "1"]
    text = run_cli(*args, "--methods", "convT-uneven,nearest", "--no-png").stdout
    assert "convT-uneven (k=5 s=3)" in text
    row = next(line for line in text.splitlines() if line.startswith("nearest"))
    assert "0.00±0.00*" in row
    assert "* marks a flat value" in " ".join(text.split())
    bilinear_s2 = run_cli("probe", "--seeds", "1", "--size", "12", "--channels", "1",
                          "--methods", "bilinear", "--json", "--no-png").stdout  # fmt: skip
    assert all("variance" not in r["note"] for r in json.loads(bilinear_s2)["results"])


def test_long_overlap_titles_wrap_inside_the_figure() -> None:
    from upscope.render import overlap_view

    texts = ["convT k=3 s=2 p=1 op=1", "conv k=3 p=1", "upsample scale=2", "convT k=5 s=1 p=2"]
    specs = [arith.parse_layer(t) for t in texts * 2]
    fig = overlap_view.figure(stack_overlap(specs, (3, 3)))
    assert fig.get_suptitle().count("\n") >= 2
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()  # type: ignore[union-attr]
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width


def test_every_png_name_follows_one_convention(run_cli, tmp_path: Path) -> None:
    from upscope.render import compare_view, overlap_view

    for texts in (["convT k=3 s=2"], ["upsample scale=1.5", "convT k=4x3 s=2 p=1"]):
        result = stack_overlap([arith.parse_layer(t) for t in texts], (6, 6))
        assert NAME.match(overlap_view.file_name(result)), overlap_view.file_name(result)
    doc = json.loads(
        run_cli(
            "overlap", "--k", "3", "--s", "2", "--layers", "2", "--out", str(tmp_path), "--json"
        ).stdout  # fmt: skip
    )
    assert Path(doc["png"]).name == "overlap-convt-k3-s2-p0-op0-d1-x2-in8x8.png"
    assert all(NAME.match(n) for n in compare_view.FIGURES)
    from upscope.render.scan_view import _safe

    assert _safe("decoder.Up_1") == "decoder.up-1" and NAME.match(f"scan-01-{_safe('Up_1')}.png")


def _inside(fig, artist) -> bool:
    fig.canvas.draw()
    box = artist.get_window_extent(fig.canvas.get_renderer())
    return box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y0 >= 0 and box.y1 <= fig.bbox.height


def test_a_long_title_on_a_narrow_figure_is_wrapped_inside_it() -> None:
    from upscope.render.plots import fitted_title, new_figure

    text = "a title far longer than a narrow figure is wide, " * 4 + "\nsecond line"
    plain = new_figure(3.0, 2.0)
    plain.suptitle(text, fontsize=11)
    assert not _inside(plain, plain._suptitle)  # what the figures did: cut at both edges
    fig = new_figure(3.0, 2.0)
    fitted_title(fig, text, 11)
    assert _inside(fig, fig._suptitle)
    assert fig.get_figheight() > 2.0  # grown by the added lines


def test_compare_figures_of_two_methods_keep_their_titles_inside(small_comparison) -> None:
    from dataclasses import replace

    from upscope.render import compare_figures, compare_view

    two = replace(small_comparison, results=small_comparison.results[:2])
    grid = compare_figures.grid_figure(two, two.results[0].method)
    assert _inside(grid, grid._suptitle)
    spectra = compare_view.spectra_figure(two, compare.spectra(two))
    assert _inside(spectra, spectra._suptitle)
