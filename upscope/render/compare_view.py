"""Presentation of ``upscope compare``: the table, the figures (the JSON is
``upscope.documents``)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from upscope import documents, present
from upscope.compare_result import Comparison
from upscope.render import compare_figures
from upscope.render.cells import Name, fixed, print_table
from upscope.render.console import View, out_console
from upscope.render.plots import (
    add_axes_in,
    centred_panel,
    fitted_fontsize,
    fixed_title,
    new_figure,
    peak_positions,
    save_all,
    side_colorbar,
)
from upscope.text import markup

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.console import Console

    from upscope.compare_result import MethodResult

__all__ = ["show", "save_figures"]

#: (JSON key, column title, decimals); short titles, explained by LEGEND under the table
COLUMNS = (
    ("psnr", "PSNR\ndB", 2),
    ("ssim", "SSIM", 4),
    ("checkerboard", "checker\noutput", 4),
    ("checkerboard_error", "checker\nerror", 4),
    ("spectral_peak_db", "peak\ndB", 1),
    ("seconds", "time\ns", 2),
)
LEGEND = (
    "Higher is better for PSNR and SSIM, lower for the rest; * marks the best of each column "
    "(green in colour). "
    "checker output: phase energy imbalance of the output; checker error: the same of its error "
    "image (output - original); peak dB: spectral peak at multiples of 1/S; time s: seconds to "
    "fit and upsample."
)

#: the axes reach this share of the panel beyond each edge, so that no spine covers a bin
_SPINE_PAD = 0.02

FIGURES = compare_figures.FIGURES


def _best(results: list[MethodResult], key: str) -> float | None:
    from upscope.compare_result import HIGHER_IS_BETTER

    values = [r.metric(key) for r in results if np.isfinite(r.metric(key))]
    if not values:
        return None
    return max(values) if HIGHER_IS_BETTER.get(key, False) else min(values)


def show(
    result: Comparison, doc: dict[str, Any], sort: str, console: Console | None = None
) -> None:
    """The table (sorted by ``sort``, best value of each column in bold green) and file list."""
    from upscope.compare_result import sort_results

    console = console or out_console()
    s = result.settings
    height, width = doc["size"]
    fit = f"learned methods fitted {s.fit} steps" if s.fit else "learned methods untrained"
    table = Table(
        title=f"{markup(doc['image'])}: {width}x{height} pixels (WxH), "
        f"{doc['channels']} channel(s), "
        f"upsampled x{s.scale} from its {s.scale}x{s.scale} box average; {fit}, seed {s.seed}, "
        f"{s.device}",
        title_justify="left",
        caption=f"sorted by {sort}. {LEGEND}",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
    )
    # no padding: every cell ends in its own one-character gap, which in a number column holds
    # the best value's marker "*" (so the marker costs no width and digits stay aligned); rich
    # measures a cell without its trailing space, so each no-wrap column gets its true width
    best = {key: _best(result.results, key) for key, _, _ in COLUMNS}
    rows: list[list[str]] = []
    ordered = sort_results(result.results, sort)
    for r in ordered:
        row = []
        for key, _, decimals in COLUMNS:
            value = r.metric(key)
            text = fixed(value, decimals)
            won = best[key] is not None and value == best[key]
            row.append(f"[bold green]{text}*[/]" if won else f"{text} ")
        rows.append(row)
    table.add_column("method")
    table.add_column("kind ", no_wrap=True, min_width=len("learned "))
    for n, (_, title, _) in enumerate(COLUMNS):
        heads = [line + " " for line in title.split("\n")]
        cells_len = [len(Text.from_markup(row[n]).plain) for row in rows]
        wide = max([len(h) for h in heads] + cells_len)
        table.add_column("\n".join(heads), justify="right", no_wrap=True, min_width=wide)
    for r, row in zip(ordered, rows, strict=True):
        kind = "learned " if r.learned else "[dim]fixed[/dim] "
        table.add_row(Name(r.method, gap=1), kind, *row)
    print_table(console, table)
    if doc.get("note"):
        console.print(doc["note"])
    if doc["alpha"] != "none":
        console.print(f"alpha: {doc['alpha']}")
    for path in doc["png"]:
        console.print(f"wrote {markup(path, None)}")


def save_figures(result: Comparison, out: Path) -> list[Path]:
    """The crop grid, the 2D spectra and the radial spectra, saved atomically under ``out``."""
    from upscope.compare_result import spectra

    best = _best(result.results, "psnr")
    best_name = next((r.method for r in result.results if r.psnr == best), None)
    return save_all(  # the spectra are computed in the job: where it is drawn, and only there
        [
            (partial(compare_figures.grid_figure, result, best_name), out / FIGURES[0]),
            (lambda: spectra_figure(result, spectra(result)), out / FIGURES[1]),
            (partial(compare_figures.radial_figure, result), out / FIGURES[2]),
        ]
    )


def _grid_layout(n: int) -> tuple[int, int]:
    cols = min(4, n)
    return (n + cols - 1) // cols, cols


def spectra_figure(result: Comparison, specs: dict[str, np.ndarray]) -> Figure:
    """One panel per spectrum of :func:`upscope.comparison.spectra`, on one colour scale, with a
    cyan circle at each frequency (m/S, n/S) cycles/px (:func:`peak_positions`)."""
    from matplotlib import colormaps

    from upscope.render.plots import panel_title

    s = result.settings.scale
    peaks = {r.method: r.spectral_peak_db for r in result.results}
    rows, cols = _grid_layout(len(specs))
    # inches: panel side, gap between columns (tick labels), room above (two-line title) and
    # below (ticks, x label) each panel; no layout engine
    side, gap, head, foot, left = 2.75, 0.5, 0.45, 0.45, 0.85
    fig_w = left + cols * side + (cols - 1) * gap + 1.05
    lines = [
        "Log power spectrum of each output: 10 log10 |FFT|$^2$ of the grey image (mean removed, "
        f"Hann window); copies of the spectrum around multiples of 1/{s} cycles/px are "
        "upsampling artifacts",
        f"cyan circles: the frequencies (m/{s}, n/{s}) cycles/px, where a period-{s} grid puts "
        "its energy; peak dB: the table's spectral peak there (one bin wide: look inside)",
    ]
    size = fitted_fontsize([line.replace("$^2$", "2") for line in lines], fig_w - 0.2, 12.0)
    top = 2 * 1.25 * size / 72 + 0.15
    fig_h = top + rows * (head + side + foot)
    fig = new_figure(fig_w, fig_h, layout=None)
    axes = [
        add_axes_in(
            fig, left + c * (side + gap), fig_h - top - (r + 1) * (head + side) - r * foot, side,
            side,
        )
        for r in range(rows)
        for c in range(cols)
    ]  # fmt: skip
    orig = specs["original"]
    vmax = float(np.percentile(orig, 99.9))
    vmin = vmax - 100.0
    magma = colormaps["magma"]  # one colour map for every panel: its table is made once
    image = None
    for ax, (name, spec) in zip(axes, specs.items(), strict=False):
        data, extent = centred_panel(np.fft.ifftshift(spec))  # spec is centred already
        image = ax.imshow(
            data, cmap=magma, vmin=vmin, vmax=vmax, extent=extent, interpolation="nearest"
        )
        xs, ys = zip(*peak_positions(spec.shape, s), strict=True)
        # hollow, and clip_on=False: a circle on the panel's edge is drawn whole
        ax.plot(
            xs,
            ys,
            linestyle="none",
            marker="o",
            mfc="none",
            mec="cyan",
            ms=8,
            mew=1.0,
            clip_on=False,
            gid="peaks",
        )
        # a margin inside the frame: a peak at +-1/2 would lie under the axes' spine
        pad = _SPINE_PAD * (extent[1] - extent[0])
        ax.set_xlim(extent[0] - pad, extent[1] + pad)
        ax.set_ylim(extent[2] + pad, extent[3] - pad)
        title = (
            f"{name}\npeak {fixed(peaks[name], 1)} dB"
            if name in peaks
            else f"{name}\n(ground truth)"
        )
        panel_title(ax, title, 10)
        ax.tick_params(labelsize=8)
    for n, ax in enumerate(axes[: len(specs)]):
        if n % cols == 0:
            ax.set_ylabel("vertical freq. (cycles/px)", fontsize=9)
        if n + cols >= len(specs):
            ax.set_xlabel("horizontal freq. (cycles/px)", fontsize=9)
    for ax in axes[len(specs) :]:
        ax.axis("off")
    if image is not None:
        bar = side_colorbar(fig, image, axes[cols - 1 :: cols], pad=0.15, width=0.18, shrink=0.6)
        bar.set_label("power (dB)")
    fixed_title(fig, "\n".join(lines), size)
    return fig


# ---------------------------------------------------------------- the registry (upscope.present)

present.document.register(Comparison)(documents.compare)


@present.view.register(Comparison)
def _view(result: Comparison) -> View:
    doc = documents.compare(result)
    return View(lambda console: show(result, doc, result.sort, console))


@present.figures.register(Comparison)
def _figures(result: Comparison, out: Path) -> list[Path]:
    """Write the crop grid, the 2D and the radial spectra into ``out``; refuse to write over the
    image that was read."""
    from upscope import files

    folder = files.prepare_out_dir(out)
    files.refuse_inputs((folder / name for name in FIGURES), IMAGE=result.path)
    result.pngs[:] = save_figures(result, folder)
    return list(result.pngs)
