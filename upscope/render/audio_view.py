"""Terminal tables and figures of the audio results (``probe --audio``, ``compare SOUND.wav``).

Presentation only: reads the analyses' data, never computes a measure (the spectrograms come
from :func:`upscope.audio_metrics.spectrogram`). matplotlib and rich are imported inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from upscope.render.cells import Name, fixed, print_table
from upscope.render.console import out_console
from upscope.render.plots import fitted_title, new_figure, save_all, save_one

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage
    from rich.console import Console
    from rich.table import Table

    from upscope.audio_results import AudioComparison, AudioMeasurement, AudioProbeReport
    from upscope.scanning.audio import AudioTones

PROBE_FIGURES = ("audio-probe-spectrograms.png", "audio-probe-spectra.png")
COMPARE_FIGURES = ("audio-compare-spectrograms.png", "audio-compare-spectra.png")
SCAN_FIGURE = "scan-tones.png"
#: tones listed per op in the terminal (the JSON has them all)
SHOWN_TONES = 4
DRAWN_TONES = 6  # scan-tones.png: an op's base tone and its first 5 multiples
NYQUIST_MARGIN = 1.12  # the x axis ends a little past rate / 2
#: a tone at least this many dB over broadband counts as a tone in the table's verdict
TONE_DB = 10.0
#: the range of every spectrogram's colour scale, dB below the figure's loudest bin
RANGE_DB = 100.0


def _db(value: float | None, decimals: int = 1) -> str:
    return "-" if value is None else fixed(value, decimals)


def _hz(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.1f}"


def probe_verdict(rows: list[AudioMeasurement]) -> str:
    """``tones`` if any input shows a tone >= TONE_DB; else ``filtering`` when the highs lose
    more than 1 dB or the images are above -40 dB (on noise, else the sweep); else ``clean``."""
    if any(r.tone_db >= TONE_DB for r in rows):
        return "tones"
    by = {r.input: r for r in rows}
    ref = by.get("noise") or by.get("sweep")
    if ref is not None and (
        (ref.highs_db is not None and ref.highs_db < -1.0)
        or (ref.images_db is not None and ref.images_db > -40.0)
    ):
        return "filtering"
    return "clean" if ref is not None else "-"


def show_probe(report: AudioProbeReport, png: list[Path], console: Console | None = None) -> None:
    """One row per method: tone dB per input, highs and images on noise (else the sweep)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from upscope.audio_metrics import HIGHS_FRACTION

    cfg = report.config
    console = console or out_console()
    inputs = cfg.inputs
    filt = "noise" if "noise" in inputs else ("sweep" if "sweep" in inputs else None)
    tones = ", ".join(_hz(f) for f in report.results[0].tone_hz) if report.results else ""
    table = Table(
        title=Text(
            f"1D upsamplers x{cfg.scale} at initialisation, {_hz(cfg.input_rate)} -> "
            f"{_hz(cfg.rate)} Hz, {cfg.channels} channels, mean over {cfg.seeds} seeds; "
            f"tones at {tones} Hz"
        ),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("method")
    for kind in inputs:
        table.add_column(kind, justify="right")
    if filt is not None:
        table.add_column("highs", justify="right")
        table.add_column("images", justify="right")
    table.add_column("verdict")
    for method in cfg.methods:
        rows = [r for r in report.results if r.method == method]
        by = {r.input: r for r in rows}
        cells = [_db(by[k].tone_db) for k in inputs]
        if filt is not None:
            cells += [_db(by[filt].highs_db), _db(by[filt].images_db)]
        table.add_row(Name(method), *cells, probe_verdict(rows))
    print_table(console, table)
    console.print(
        f"\n[dim]Columns {', '.join(inputs)}: tone dB on that input"
        + (f"; highs, images: dB on {filt}" if filt else "")
        + ". "
        f"tone dB: the strongest bin at a multiple of the input rate "
        f"({_hz(cfg.input_rate)} Hz) over the broadband median, floored 100 dB below the total; "
        f">= {TONE_DB:.0f} dB counts as a tone. highs dB: gain at {HIGHS_FRACTION} of the "
        "input's Nyquist frequency relative to low in the band, against the band-limited "
        "reference (negative = attenuated). images dB: energy above the input's Nyquist over the "
        "band's. '-': not defined for that input.[/dim]"
    )
    for path in png:
        console.print(f"wrote {path}")


def _spectrogram_panel(ax: Axes, signal: np.ndarray, rate: float, vmax: float) -> AxesImage:
    from upscope.audio_metrics import spectrogram

    times, freqs, power = spectrogram(signal, rate)
    image = ax.imshow(
        power - vmax,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=-RANGE_DB,
        vmax=0.0,
        extent=(0.0, float(len(np.atleast_2d(signal)[0]) / rate), 0.0, float(freqs[-1])),
        interpolation="nearest",
    )
    del times
    return image


def _loudest(signals: list[np.ndarray], rate: float) -> float:
    from upscope.audio_metrics import spectrogram

    return max(float(spectrogram(s, rate)[2].max()) for s in signals)


def _spectrogram_grid(
    panels: list[tuple[str, np.ndarray]],
    columns: Sequence[str],
    rate: float,
    marks: list[float],
    title: str,
) -> Figure:
    """Rows of panels (label, signal per column), one colour scale: dB below the loudest bin.
    With one column the panels flow into rows of two."""
    from upscope.render.plots import settle_layout

    flow = len(columns) == 1
    ncols = 2 if flow else len(columns)
    nrows = -(-len(panels) // ncols)
    fig = new_figure(3.2 * ncols + 1.2, 1.9 * nrows + 1.2)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    vmax = _loudest([s for _, s in panels], rate)
    image = None
    for i, (label, signal) in enumerate(panels):
        ax = axes[i // ncols, i % ncols]
        image = _spectrogram_panel(ax, signal, rate, vmax)
        for f in marks:  # unclipped, with a marker at the left edge: a tone at rate / 2 sits on
            # the top border, where a clipped dotted line would be invisible
            ax.axhline(f, color="cyan", lw=0.8, ls=":", clip_on=False)
            edge = ax.get_yaxis_transform()
            ax.text(
                0.0,
                f,
                "\u25b6",
                transform=edge,
                color="cyan",
                fontsize=8,
                va="center",
                clip_on=False,
            )
        ax.set_title(label if flow else f"{label}: {columns[i % ncols]}", fontsize=8)
        ax.tick_params(labelsize=7)
        if i % ncols == 0:
            ax.set_ylabel("Hz", fontsize=8)
        if i + ncols >= len(panels):
            ax.set_xlabel("time (s)", fontsize=8)
            ax.xaxis.set_tick_params(labelbottom=True)
    assert image is not None
    bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, pad=0.01)
    bar.set_label("dB below the loudest bin of the figure", fontsize=8)
    fitted_title(fig, title, 10)
    return settle_layout(fig)


def _spectra_grid(
    curves: dict[str, list[tuple[str, np.ndarray]]],
    rate: float,
    marks: list[float],
    nyquist: float,
    title: str,
) -> Figure:
    """One panel per method: each curve's power spectrum in dB of its own total power, the tone
    frequencies marked (dotted red) and the input's Nyquist frequency (dashed grey)."""
    from upscope.audio_metrics import frequencies
    from upscope.render.plots import settle_layout

    names = list(curves)
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig = new_figure(4.0 * ncols + 0.5, 2.6 * nrows + 1.2)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    for i, name in enumerate(names):
        ax = axes[i // ncols, i % ncols]
        for label, spec in reversed(curves[name]):  # the first curve drawn last, on top
            freqs = frequencies(len(spec), rate)
            total = float(spec.sum()) or 1.0
            ax.plot(freqs, 10 * np.log10(spec / total + 1e-30), lw=0.7, label=label)
        for j, f in enumerate(marks):
            ax.axvline(
                f, color="black", lw=0.8, ls=":", label="tone (k x input rate)" if j == 0 else None
            )
        ax.axvline(nyquist, color="grey", lw=0.8, ls="--", label="input Nyquist")
        ax.set_ylim(-160, 0)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        if i % ncols == 0:
            ax.set_ylabel("dB of total power", fontsize=8)
        if i + ncols >= len(names):
            ax.set_xlabel("Hz", fontsize=8)
            ax.xaxis.set_tick_params(labelbottom=True)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 7), fontsize=8)
    fitted_title(fig, title, 10)
    return settle_layout(fig)


def save_probe_figures(report: AudioProbeReport, out: Path) -> list[Path]:
    """``audio-probe-spectrograms.png`` (sweep and noise outputs, first seed, channel 0) and
    ``audio-probe-spectra.png`` (mean spectra over seeds and channels, tones marked)."""
    cfg = report.config
    rate = float(cfg.rate)
    marks = report.results[0].tone_hz if report.results else []
    jobs = []
    columns = [k for k in ("sweep", "noise") if k in cfg.inputs]
    if columns:
        panels = [(m, report.result(m, k).response) for m in cfg.methods for k in columns]
        title = (
            f"1D upsamplers x{cfg.scale} at init, {_hz(cfg.input_rate)} -> {_hz(rate)} Hz: "
            f"output spectrograms (first seed, channel 0); dotted cyan: tones at multiples of "
            f"{_hz(cfg.input_rate)} Hz"
        )
        build = partial(_spectrogram_grid, panels, columns, rate, marks, title)
        jobs.append((build, out / PROBE_FIGURES[0]))
    curves = {m: [(k, report.result(m, k).spectrum) for k in cfg.inputs] for m in cfg.methods}
    title = f"Mean output spectra over {cfg.seeds} seeds, x{cfg.scale} at {_hz(rate)} Hz, per input"
    jobs.append(
        (
            partial(_spectra_grid, curves, rate, marks, cfg.input_rate / 2, title),
            out / PROBE_FIGURES[1],
        )
    )
    return save_all(jobs)


def show_compare(result: AudioComparison, console: Console | None = None) -> None:
    """One row per method: SNR, LSD, tone dB, the WAV written, and seconds."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = console or out_console()
    s = result.settings
    orig = result.original
    tones = ", ".join(_hz(f) for f in result.tone_hz)
    table = Table(
        title=Text(
            f"{result.sound}: {orig.shape[1] / result.rate:.2f} s, {orig.shape[0]} channel(s), "
            f"{_hz(result.rate)} Hz, downsampled x{s.scale} (anti-aliased) and upsampled back; "
            f"learned methods fitted {s.fit} steps"
        ),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col, justify in (("method", "left"), ("SNR dB", "right"), ("LSD dB", "right"),
                         ("tone dB", "right"), ("wav", "left"), ("time s", "right")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in sorted(result.results, key=lambda r: -r.snr_db):
        table.add_row(
            Name(r.method),
            fixed(r.snr_db, 2),
            fixed(r.lsd_db, 2),
            fixed(r.tone_db, 1),
            "-" if r.wav is None else r.wav.name,
            fixed(r.seconds, 2),
        )
    print_table(console, table)
    console.print(
        f"\n[dim]SNR: signal over error energy (higher is better). LSD: log-spectral distance, "
        f"dB (lower is better). tone dB: the output's power at the tones ({tones} Hz) over the "
        "original's there, the strongest (0 = no tone added).[/dim]"
    )
    for path in result.pngs:
        console.print(f"wrote {path}")


def save_compare_figures(result: AudioComparison, out: Path) -> list[Path]:
    """``audio-compare-spectrograms.png`` (original, then each method; channel 0) and
    ``audio-compare-spectra.png`` (each method's spectrum over the original's)."""
    from upscope.audio_metrics import power_spectrum

    rate = float(result.rate)
    s = result.settings
    panels = [("original", result.original[0])] + [(r.method, r.output[0]) for r in result.results]
    grid_title = (
        f"{result.sound}: x{s.scale} from {_hz(rate / s.scale)} Hz back to {_hz(rate)} Hz "
        "(channel 0); dotted cyan, \u25b6 at the left edge: tones at multiples of the low rate"
    )

    def spectra() -> Figure:
        original = power_spectrum(result.original)
        curves = {r.method: [("output", power_spectrum(r.output)), ("original", original)]
                  for r in result.results}  # fmt: skip
        return _spectra_grid(
            curves,
            rate,
            result.tone_hz,
            rate / (2 * s.scale),
            f"{result.sound}: spectra of each method's output and of the original",
        )

    grid = partial(_spectrogram_grid, panels, ["spectrogram"], rate, result.tone_hz, grid_title)
    return save_all([(grid, out / COMPARE_FIGURES[0]), (spectra, out / COMPARE_FIGURES[1])])


def _tones_text(tones: list[float]) -> str:
    shown = ", ".join(_hz(f) for f in tones[:SHOWN_TONES])
    more = len(tones) - SHOWN_TONES
    return shown + (f", ... ({more} more)" if more > 0 else "")


def scan_tones_table(tones: AudioTones) -> Table:
    """``scan --rate``: per 1D op its period in the output, its tones in Hz, their level."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(
            f"Tones in the output at {_hz(tones.rate)} Hz"
            + (f" ({tones.output_length} samples)" if tones.output_length else "")
            + ": each 1D op's pattern, by the period rule, measured on the model's output"
        ),
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("op")
    table.add_column("period", justify="right")
    table.add_column("tones Hz (base, multiples)")
    table.add_column("tone dB", justify="right")
    table.add_column("on")
    for op in tones.ops:
        table.add_row(
            Text(op.name),
            "-" if op.period is None else str(op.period),
            _tones_text(op.tones_hz) if op.tones_hz else Text(op.reason or "-"),
            _db(op.tone_db),
            op.tone_input or "-",
        )
    if not tones.ops:
        table.caption = "no 1D upsampling op: --rate applies to 1D models"
    else:
        table.caption = Text(
            "tone dB: the output's strongest bin at the op's own tones (not those of an op with "
            "a shorter period) over the broadband median, on silence or the constant input, "
            f"whichever is larger; >= {TONE_DB:.0f} dB is a tone."
        )
    return table


def save_scan_tones(tones: AudioTones, out: Path) -> Path:
    """``scan-tones.png``: the output's spectrum on each input, each op's base tone and
    multiples marked in its own colour, Hz on a log axis."""
    from upscope.files import prepare_out_dir

    return save_one(partial(_tones_figure, tones), prepare_out_dir(out) / SCAN_FIGURE)


def _tones_figure(tones: AudioTones) -> Figure:
    from upscope.audio_metrics import frequencies
    from upscope.render.plots import settle_layout

    fig = new_figure(10.0, 4.6)
    ax = fig.subplots()
    for kind, spec in tones.spectra.items():
        freqs = frequencies(len(spec), tones.rate)
        total = float(spec.sum()) or 1.0
        ax.plot(
            freqs[1:], 10 * np.log10(spec[1:] / total + 1e-30), lw=0.7, label=f"output on {kind}"
        )
    colors = ["tab:red", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive"]
    nyquist = tones.rate / 2
    for i, op in enumerate(o for o in tones.ops if o.tones_hz):
        color = colors[i % len(colors)]
        drawn = op.tones_hz[:DRAWN_TONES]
        more = len(op.tones_hz) - 1
        shown = len(drawn) - 1
        label = f"{op.name}: {_hz(op.tones_hz[0])} Hz"
        if more:
            noun = "multiple" if more == 1 else "multiples"
            label += f" + {more} {noun}" if shown == more else f" + first {shown} of {more} {noun}"
        for j, f in enumerate(drawn):
            ax.axvline(
                f,
                color=color,
                lw=0.9 if j else 1.6,
                ls=":" if j else "--",
                label=None if j else label,
                zorder=3 + i,  # a later (shorter-period) op is drawn over an earlier one
            )
    # Nyquist on the axis, not its edge: a tone at rate / 2 stays visible
    ax.axvline(
        nyquist, color="black", lw=0.8, alpha=0.5, zorder=1, label=f"Nyquist {_hz(nyquist)} Hz"
    )
    ax.set_xscale("log")
    ax.set_xlim(max(1.0, tones.rate / max(tones.output_length or 1, 1)), nyquist * NYQUIST_MARGIN)
    ax.set_ylim(-160, 5)
    ax.set_xlabel("Hz (log)")
    ax.set_ylabel("dB of the output's total power")
    ax.legend(fontsize=9, loc="lower left", framealpha=0.9)
    fitted_title(
        fig,
        f"Model output spectrum at {_hz(tones.rate)} Hz; dashed: each 1D op's base tone, dotted: "
        f"its first multiples (up to {DRAWN_TONES - 1})",
        10,
    )
    return settle_layout(fig)
