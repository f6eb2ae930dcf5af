"""Presentation of ``upscope probe``: the rich tables and the figures (the JSON is
``upscope.documents``)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich import box
from rich.table import Table

from upscope import documents, present
from upscope.probe_result import ProbeReport
from upscope.render.cells import Name, fixed, print_table
from upscope.render.console import View, out_console
from upscope.render.plots import (
    centred_panel,
    new_figure,
    panel_rows,
    peak_positions,
    save_all,
    save_figure,
)
from upscope.text import markup

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from rich.console import Console

    from upscope.probe_config import ProbeConfig
    from upscope.probe_result import Measurement

__all__ = ["show", "save_figures"]

_VERDICT_STYLE = {"even": "green", "checkerboard": "bold red", "holes": "bold magenta"}
_FLAT = 1e-5


def _label(m: Measurement) -> str:
    """The method's name; a zoo transposed conv also names its K and S (they change with S)."""
    if m.method.startswith("convT") and m.kernel is not None:
        return f"{m.method} (k={m.kernel} s={m.stride})"
    return m.method


def _cb(m: Measurement) -> str:
    """The checkerbd cell; a flat value (below 1e-5) is green and marked ``*``, which survives
    NO_COLOR and logs."""
    if m.checkerboard > _FLAT:
        return f"[red]{fixed(m.checkerboard, 2)}[/]±{fixed(m.checkerboard_std, 2)}"
    return f"[green]{fixed(m.checkerboard, 2)}[/]±{fixed(m.checkerboard_std, 2)}*"


def _db(m: Measurement) -> str:
    return f"{fixed(m.spectral_peak_db, 1)}±{fixed(m.spectral_peak_db_std, 1)}"


def _verdict(m: Measurement) -> str:
    """The overlap verdict of a transposed conv, for its note; "" for other methods."""
    if m.verdict is None:
        return ""
    return f"overlap [{_VERDICT_STYLE.get(m.verdict, 'bold')}]{m.verdict}[/]; "


def _table(title: str, rows: list[Measurement], inputs: tuple[str, ...]) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("method")
    table.add_column("unif.", justify="right", no_wrap=True)
    for kind in inputs:
        table.add_column(f"{kind}\ncheckerbd", justify="right", no_wrap=True)
        table.add_column(f"{kind}\npeak dB", justify="right", no_wrap=True)
    for name in _methods(rows):
        by_input = {m.input: m for m in rows if m.method == name}
        first = by_input[inputs[0]]
        cells: list[Any] = [Name(_label(first)), fixed(first.uniform_checkerboard, 2)]
        for kind in inputs:
            cells += [_cb(by_input[kind]), _db(by_input[kind])]
        table.add_row(*cells)
    return table


def _methods(rows: list[Measurement]) -> list[str]:
    return list(dict.fromkeys(m.method for m in rows))


def _notes(rows: list[Measurement]) -> Table:
    notes = Table(box=None, show_header=False, padding=(0, 1, 0, 0))
    notes.add_column(no_wrap=True)
    notes.add_column(style="dim")
    for name in _methods(rows):
        first = next(m for m in rows if m.method == name)
        notes.add_row(f"  {_label(first)}:", _verdict(first) + first.note)
    return notes


def show(report: ProbeReport, png: list[Path], console: Console | None = None) -> None:
    """The methods table, the gradient table if any, a legend and the PNG paths."""
    cfg = report.config
    console = console or out_console()
    inputs = cfg.inputs
    print_table(
        console,
        _table(
            f"Upsamplers x{cfg.scale} at initialisation: {cfg.channels} channels, "
            f"{cfg.size}x{cfg.size} -> {cfg.size * cfg.scale}x{cfg.size * cfg.scale}, "
            f"mean ± std over {cfg.seeds} seeds",
            report.results,
            inputs,
        ),
    )
    console.print()
    console.print(_notes(report.results))
    if report.grad is not None:
        side = cfg.size * cfg.scale
        console.print()
        print_table(
            console,
            _table(
                f"Input gradients of strided convs on {side}x{side} (upstream gradient: "
                f"{' / '.join(inputs)}), mean ± std over {cfg.seeds} seeds",
                report.grad,
                inputs,
            ),
        )
        console.print()
        console.print(_notes(report.grad))
    console.print(
        "\n[dim]checkerbd: phase energy imbalance (max-min)/mean over the S*S phases, 0 = flat; "
        "* marks a flat value (below 1e-5; green in colour). "
        "peak dB: spectral power at multiples of 1/S over its neighbourhood's median. "
        "unif.: checkerbd on constants with every weight 1 and bias 0 (the overlap's share). "
        "overlap: the transposed conv's tap coverage (upscope overlap).[/dim]"
    )
    for path in png:
        console.print(f"wrote {markup(path, None)}")


# ---------------------------------------------------------------- figures


def _crop(image: np.ndarray, scale: int) -> np.ndarray:
    """The central 8S x 8S pixels (or less), away from the borders."""
    h, w = image.shape
    side = min(8 * scale, h - 4 * scale, w - 4 * scale)
    top, left = (h - side) // 2, (w - side) // 2
    top -= top % scale  # start on phase 0, so every panel shows the same phases
    left -= left % scale
    return image[top : top + side, left : left + side]


def _normalised(m: Measurement, scale: int) -> np.ndarray:
    """Response / RMS of the panel; a constant input's response flipped so that its mean is +."""
    crop = _crop(m.response, scale)
    rms = float(np.sqrt(np.mean(crop**2)))
    out = crop / rms if rms > 0 else crop
    if m.input == "constant" and out.mean() < 0:
        out = -out
    return out


def _wrap(text: str, width_in: float) -> str:
    """``text`` wrapped to the figure's width at the suptitle's font size (10 pt)."""
    return "\n".join(textwrap.fill(line, max(40, int(width_in * 13))) for line in text.split("\n"))


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


def _grid_title(subject: str, cfg: ProbeConfig) -> str:
    side = min(8 * cfg.scale, cfg.size * cfg.scale - 4 * cfg.scale)
    seeds = _seeds(cfg.seeds)
    return (
        f"{subject}: central {side}x{side} px. Mean energy rows: y² averaged over the "
        f"{cfg.channels} channels, divided by its mean (y²/mean(y²)) in each seed, then averaged "
        f"over {seeds}; 1 (white) = even energy. A grid at the same phase in every seed stays; "
        "one whose strong phase changes with the seed fades in the mean (see the seed row). "
        f"Seed rows: channel 0 of seed {cfg.seed} / RMS.\n"
        f"checkerbd: phase energy imbalance of each seed, mean±std over {seeds} (the table's "
        "column; * marks a flat one, below 1e-5); mean map: the same imbalance of the mean "
        "energy map (at most checkerbd)"
    )


#: inches: the response panels' side and the gap between columns; room left of the first
#: column (row labels), right of the last (colorbar, its ticks and two-line label)
_PANEL, _GAP, _ROW_LABEL, _BAR_ROOM = 1.8, 0.2, 0.62, 1.05


def _grid_figure(
    rows: list[Measurement], cfg: ProbeConfig, title: str, row_label: str = "input"
) -> Figure:
    """Per input, two rows: the mean energy map over seeds (1 = even energy, white), then the
    first seed's channel 0 / RMS. One colour scale per row; panels of ``_PANEL`` inches at fixed
    places (no layout engine)."""
    from matplotlib import colormaps

    from upscope.render.plots import Frame, fixed_title, side_colorbar, text_height

    inputs, scale = cfg.inputs, cfg.scale
    methods = list(dict.fromkeys(m.method for m in rows))
    ncols = len(methods)
    width = _ROW_LABEL + ncols * _PANEL + (ncols - 1) * _GAP + _BAR_ROOM
    text = _wrap(title, width)
    # above each mean row: three title lines at 9 pt; above each seed row one at 8 pt
    heads = [3 * 1.25 * 9 / 72 + 0.08, 1.25 * 8 / 72 + 0.08] * len(inputs)
    top = text_height(text, 10) + 0.15
    height = top + sum(heads) + len(heads) * _PANEL + 0.25 * (len(inputs) - 1) + 0.12
    fig = new_figure(width, height, layout=None)
    # image panels without axes (Frame): the pixels of axes without ticks, at a tenth the cost
    frames = np.empty((len(heads), ncols), dtype=object)
    y = height - top
    for r, head in enumerate(heads):
        y -= head + _PANEL + (0.25 if r and r % 2 == 0 else 0.0)
        for c in range(ncols):
            frames[r, c] = Frame(fig, _ROW_LABEL + c * (_PANEL + _GAP), y, _PANEL, _PANEL)
    for i, kind in enumerate(inputs):
        by_name = {m.method: m for m in rows if m.input == kind}
        energy = {name: _crop(m.energy, scale) for name, m in by_name.items()}
        seed = {name: _normalised(m, scale) for name, m in by_name.items()}
        # symmetric about 1 (white): the row's largest deviation, at least 0.05 (an all-flat
        # row stays white instead of showing float error), at most 1 (energy is >= 0; above 2
        # saturates, the colour bar's arrow says so)
        most = max(float(np.abs(p - 1.0).max()) for p in energy.values())
        dev = min(1.0, max(0.05, most))
        values = np.concatenate([p.ravel() for p in seed.values()])
        if kind == "constant":
            lo, hi = min(0.0, float(values.min())), max(2.0, float(values.max()))
            seed_style: dict[str, Any] = {"cmap": colormaps["viridis"], "vmin": lo, "vmax": hi}
        else:
            lim = float(np.percentile(np.abs(values), 99.5)) or 1.0
            seed_style = {"cmap": colormaps["RdBu_r"], "vmin": -lim, "vmax": lim}
        styles: list[tuple[str, dict[str, np.ndarray], dict[str, Any], str, str]] = [
            (
                "mean",
                energy,
                {"cmap": colormaps["RdBu_r"], "vmin": 1.0 - dev, "vmax": 1.0 + dev},
                f"mean of y²/mean(y²)\nover {_seeds(cfg.seeds)} (1 = even)",
                "max" if most > dev else "neither",
            ),
            ("seed", seed, seed_style, f"y / RMS\n(seed {cfg.seed}, ch 0)", "neither"),
        ]
        for j, (what, panels, style, label, extend) in enumerate(styles):
            r = 2 * i + j
            image = None
            for c, name in enumerate(methods):
                m = by_name[name]
                frame = frames[r, c]
                image = frame.image(panels[name], **style)
                if what == "mean":
                    cb = f"{fixed(m.checkerboard, 2)}±{fixed(m.checkerboard_std, 2)}"
                    cb += "*" if m.checkerboard <= _FLAT else ""
                    frame.title(
                        f"{_label(m)}\ncheckerbd {cb}\nmean map {fixed(m.energy_imbalance, 2)}",
                        9,
                    )
                else:
                    frame.title(_label(m), 8)
                if c == 0:
                    which = "mean energy" if what == "mean" else f"seed {cfg.seed}"
                    frame.ylabel(f"{kind} {row_label}\n{which}", 9)
            assert image is not None
            bar = side_colorbar(
                fig, image, list(frames[r]), pad=0.1, width=0.14, shrink=0.9, extend=extend
            )
            bar.set_label(label, fontsize=8)
            bar.ax.tick_params(labelsize=7)
    fixed_title(fig, text, 10)
    return fig


#: a panel whose total power is below this share of its row's largest is drawn as flat: float
#: rounding (bicubic on a constant: about 2e-7 of the signal) is not a spectrum
NOISE_FLOOR = 1e-9


#: inches: a spectrum panel's side; the gaps between columns (tick labels) and above and below
#: each panel (its two-line title; its ticks and x label)
_SPEC, _SPEC_GAP, _SPEC_HEAD, _SPEC_FOOT = 2.0, 0.42, 0.42, 0.42


def _spectra(
    rows: list[Measurement],
    inputs: tuple[str, ...],
    scale: int,
    title: str,
    path: Path,
    row_label: str = "input",
) -> Path:
    """Save :func:`_spectra_figure` at ``path``."""
    return save_figure(_spectra_figure(rows, inputs, scale, title, row_label), path)


@dataclass(frozen=True)
class _Spectrum:
    """What one panel of :func:`_spectra_figure` shows."""

    kind: str  # the input
    data: np.ndarray  # dB, centred (:func:`upscope.render.plots.centred_panel`); NaN: flat
    extent: tuple[float, float, float, float]
    flat: bool
    peaks: tuple[tuple[float, ...], ...]  # (fx values, fy values) of the circles
    title: str
    ylabel: str  # "" except on a row's first panel


def _spectra_figure(
    rows: list[Measurement],
    inputs: tuple[str, ...],
    scale: int,
    title: str,
    row_label: str = "input",
) -> Figure:
    """Per input, the methods' power spectra in blocks of at most five, 200 px panels at fixed
    places, on one colour scale per input: dB of the largest total power among its panels. A
    panel below :data:`NOISE_FLOOR` of that is left empty (white) and says it is flat."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from upscope.render.plots import (
        RepeatedAxes,
        fixed_title,
        panel_title,
        side_colorbar,
        text_height,
    )

    magma = colormaps["magma"]  # one colour map for every panel: its table is made once

    methods = list(dict.fromkeys(m.method for m in rows))
    blocks = panel_rows(len(methods), 5)
    ncols = max(len(b) for b in blocks)
    nrows = len(inputs) * len(blocks)
    width = 0.75 + ncols * _SPEC + (ncols - 1) * _SPEC_GAP + 1.15
    circles = (
        f"cyan circles: the frequencies (m/{scale}, n/{scale}) cycles/px, where a period-{scale} "
        "grid puts its energy. One colour scale per input: dB of the largest total power among "
        "its panels, so a weak spectrum is dark; an empty panel is flat"
    )
    text = _wrap(f"{title}\n{circles}", width)
    top = text_height(text, 10) + 0.12
    height = top + nrows * (_SPEC_HEAD + _SPEC + _SPEC_FOOT) + 0.05
    fig = new_figure(width, height, layout=None)
    # every panel: one place of one axes (RepeatedAxes), prepared for it before it is drawn
    places: list[tuple[float, float, float, float]] = []  # (left, bottom, width, height) inches
    panels: list[_Spectrum] = []  # what each place shows
    rows_of: dict[str, list[int]] = {}  # each input's places (its colorbar stands beside them)
    scales: dict[str, tuple[float, float]] = {}  # each input's colour limits (dB)
    for i, kind in enumerate(inputs):
        by_name = {m.method: m for m in rows if m.input == kind}
        totals = {name: float(m.spectrum.sum()) for name, m in by_name.items()}
        top_power = max(totals.values())
        norm = top_power if top_power > 0 else 1.0
        vmax = 10 * np.log10(max(float(m.spectrum.max()) for m in by_name.values()) / norm + 1e-30)
        scales[kind] = (vmax - 60.0, vmax)
        for b, block in enumerate(blocks):
            r = i * len(blocks) + b
            y = height - top - (r + 1) * (_SPEC_HEAD + _SPEC) - r * _SPEC_FOOT
            for c, index in enumerate(block):  # a short row leaves its end empty
                m = by_name[methods[index]]
                flat = totals[m.method] <= NOISE_FLOOR * top_power
                panel = 10 * np.log10(m.spectrum / norm + 1e-30)
                if flat:  # drawn empty: every value masked (no colour), the frame and a note
                    panel = np.full_like(panel, np.nan)
                data, extent = centred_panel(panel)
                peak = "flat" if flat else f"peak {fixed(m.spectral_peak_db, 1)} dB"
                rows_of.setdefault(kind, []).append(len(places))
                places.append((0.75 + c * (_SPEC + _SPEC_GAP), y, _SPEC, _SPEC))
                panels.append(
                    _Spectrum(
                        kind,
                        data,
                        extent,
                        flat,
                        tuple(zip(*peak_positions(panel.shape, scale), strict=True)),
                        f"{_label(m)}\n{kind}: {peak}",
                        f"{kind} {row_label}\nfy (cycles/px)" if c == 0 else "",
                    )
                )
    repeated = RepeatedAxes(fig, places)
    ax = repeated.ax
    image = ax.imshow(np.zeros((1, 1)), cmap=magma, interpolation="nearest")
    # one line of hollow markers; clip_on=False: a circle on the edge is drawn whole
    (markers,) = ax.plot(
        [], [], linestyle="none", marker="o", mfc="none", ms=9, mew=1.0, clip_on=False
    )
    note = ax.text(
        0.5,
        0.5,
        f"flat: no spectrum\n(total power below {NOISE_FLOOR:.0e}\nof the input's largest)",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="0.25",
        fontsize=9,
    )
    ax.tick_params(labelsize=7)  # before the ticks are made: each made at 7 pt
    ax.set_xticks([-0.5, 0, 0.5])
    ax.set_yticks([-0.5, 0, 0.5])
    ax.set_xlabel("fx (cycles/px)", fontsize=8)

    def prepare(ax: Axes, i: int) -> None:
        p = panels[i]
        image.set_data(p.data)
        image.set_extent(p.extent)
        image.set_clim(*scales[p.kind])
        markers.set_data(*p.peaks)
        markers.set_markeredgecolor("tab:cyan" if p.flat else "cyan")
        note.set_visible(p.flat)
        ax.set_xlim(p.extent[0], p.extent[1])
        ax.set_ylim(p.extent[2], p.extent[3])
        panel_title(ax, p.title, 9)
        ax.set_ylabel(p.ylabel, fontsize=9)

    placed = repeated.show(prepare)
    for kind in inputs:
        # a colour bar of the input's scale (every panel of a row shares it; an all-flat row
        # still shows its scale)
        bar = side_colorbar(
            fig,
            ScalarMappable(Normalize(*scales[kind]), magma),
            [placed[k] for k in rows_of[kind]],
            pad=0.12,
            width=0.16,
            shrink=0.8,
        )
        bar.set_label(f"{kind}: dB of the largest total power", fontsize=9)
    fixed_title(fig, text, 10)
    return fig


def save_figures(report: ProbeReport, out: Path) -> list[Path]:
    """probe-responses.png, probe-spectra.png and, with --grad, probe-grad(-spectra).png, drawn
    at once where two CPUs allow (:func:`upscope.render.plots.save_all`)."""
    cfg = report.config
    s = cfg.scale
    jobs: list[tuple[Callable[[], Figure], Path]] = [
        (
            lambda: _grid_figure(
                report.results, cfg, _grid_title(f"x{s} upsamplers at initialisation", cfg)
            ),
            out / "probe-responses.png",
        ),
        (
            lambda: _spectra_figure(
                report.results,
                cfg.inputs,
                s,
                f"x{s} upsamplers: power spectra (mean over {cfg.seeds} seeds)",
            ),
            out / "probe-spectra.png",
        ),
    ]
    grad = report.grad
    if grad is not None:
        jobs.append(
            (
                lambda: _grid_figure(
                    grad,
                    cfg,
                    _grid_title("Input gradients of strided convs (rows: upstream gradient)", cfg),
                    row_label="upstream",
                ),
                out / "probe-grad.png",
            )
        )
        jobs.append(
            (
                lambda: _spectra_figure(
                    grad,
                    cfg.inputs,
                    s,
                    f"Input gradients of strided convs: power spectra (mean over {cfg.seeds} "
                    "seeds)",
                    row_label="upstream",
                ),
                out / "probe-grad-spectra.png",
            )
        )
    return save_all(jobs)


# ---------------------------------------------------------------- the registry (upscope.present)

present.document.register(ProbeReport)(documents.probe)


@present.view.register(ProbeReport)
def _view(report: ProbeReport) -> View:
    return View(lambda console: show(report, list(report.pngs), console))


@present.figures.register(ProbeReport)
def _figures(report: ProbeReport, out: Path) -> list[Path]:
    """Write the response and spectrum figures (and the gradients' with ``grad``)."""
    from upscope.files import prepare_out_dir

    report.pngs[:] = save_figures(report, prepare_out_dir(out))
    return list(report.pngs)
