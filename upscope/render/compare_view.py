"""Presentation of ``upscope compare``: progress bars, the table, the JSON document, the figures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich import box
from rich.table import Table

from upscope.render.cells import Name, fixed, print_table
from upscope.render.console import err_console, out_console, print_json
from upscope.render.plots import centred_panel, new_figure, peak_positions, save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from upscope.comparison import Comparison, MethodResult, Progress, Settings
    from upscope.images import LoadedImage

__all__ = ["print_json", "progress", "document", "show", "save_figures"]

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
    "Higher is better for PSNR and SSIM, lower for the rest; the best of each column is green. "
    "checker output: phase energy imbalance of the output; checker error: the same of its error "
    "image (output - original); peak dB: spectral peak at multiples of 1/S; time s: seconds to "
    "fit and upsample."
)

#: the axes reach this share of the panel beyond each edge, so that no spine covers a bin
_SPINE_PAD = 0.02

FIGURES = ("compare_grid.png", "compare_spectra.png", "compare_radial.png")


@contextlib.contextmanager
def progress(settings: Settings, enabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar per learned method on stderr; yields the core's callback."""
    from upscope import zoo

    learned = [m for m in settings.methods if zoo.is_learned(m)]
    if not enabled or settings.fit == 0 or not learned:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bars = Progress(
        TextColumn("fitting [bold]{task.description:<21}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def report(method: str, done: int, total: int) -> None:
        if method not in tasks:  # a bar appears when its method starts: its clock starts then
            tasks[method] = bars.add_task(method, total=total)
        bars.update(tasks[method], completed=done, total=total)

    with bars:
        yield report


def document(
    result: Comparison, label: str, loaded: LoadedImage, pngs: list[Path], threads: int
) -> dict[str, Any]:
    """The ``--json`` document (keys documented in the README, section compare)."""
    s = result.settings
    _, height, width = result.original.shape
    return {
        "image": label,
        "size": [height, width],
        "original_size": [loaded.height, loaded.width],
        "channels": loaded.channels,
        "mode": loaded.mode,
        "scale": s.scale,
        "alpha": loaded.alpha,
        "fit": s.fit,
        "device": s.device,
        "threads": threads,
        "seed": s.seed,
        "results": [_result_doc(r) for r in result.results],
        "png": [str(p) for p in pngs],
    }


def _result_doc(r: MethodResult) -> dict[str, Any]:
    return {
        "method": r.method,
        "learned": r.learned,
        "params": r.params,
        "psnr": r.psnr,
        "ssim": r.ssim,
        "checkerboard": r.checkerboard,
        "checkerboard_error": r.checkerboard_error,
        "spectral_peak_db": r.spectral_peak_db,
        "seconds": r.seconds,
        "final_loss": r.final_loss,
    }


def _best(results: list[MethodResult], key: str) -> float | None:
    from upscope.comparison import HIGHER_IS_BETTER

    values = [r.metric(key) for r in results if np.isfinite(r.metric(key))]
    if not values:
        return None
    return max(values) if HIGHER_IS_BETTER.get(key, False) else min(values)


def show(result: Comparison, doc: dict[str, Any], sort: str) -> None:
    """The table (sorted by ``sort``, best value of each column in bold green) and file list."""
    from upscope.comparison import sort_results

    console = out_console()
    s = result.settings
    height, width = doc["size"]
    fit = f"learned methods fitted {s.fit} steps" if s.fit else "learned methods untrained"
    table = Table(
        title=f"{doc['image']}: {width}x{height} pixels (WxH), {doc['channels']} channel(s), "
        f"upsampled x{s.scale} from its {s.scale}x{s.scale} box average; {fit}, seed {s.seed}, "
        f"{s.device}",
        title_justify="left",
        caption=f"sorted by {sort}. {LEGEND}",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("method")
    table.add_column("kind", no_wrap=True)
    for _, title, _ in COLUMNS:
        table.add_column(title, justify="right", no_wrap=True)
    best = {key: _best(result.results, key) for key, _, _ in COLUMNS}
    for r in sort_results(result.results, sort):
        cells: list[Any] = [Name(r.method), "learned" if r.learned else "[dim]fixed[/dim]"]
        for key, _, decimals in COLUMNS:
            value = r.metric(key)
            text = fixed(value, decimals)
            if best[key] is not None and value == best[key]:
                text = f"[bold green]{text}[/]"
            cells.append(text)
        table.add_row(*cells)
    print_table(console, table)
    if doc["alpha"] != "none":
        console.print(f"alpha: {doc['alpha']}")
    for path in doc["png"]:
        console.print(f"wrote {path}")


def save_figures(result: Comparison, out: Path) -> list[Path]:
    """The crop grid, the 2D spectra and the radial spectra, saved atomically under ``out``."""
    from upscope.comparison import spectra

    specs = spectra(result)
    return [
        _grid_figure(result, out / FIGURES[0]),
        _spectra_figure(result, specs, out / FIGURES[1]),
        _radial_figure(result, out / FIGURES[2]),
    ]


def _show_image(ax: Any, pixels: np.ndarray) -> None:
    """Draw (C, H, W) in [0, 1] with square pixels (nearest), grey colour map for 1 channel."""
    data = np.clip(pixels, 0.0, 1.0)
    if data.shape[0] == 1:
        ax.imshow(data[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(np.moveaxis(data, 0, -1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _grid_layout(n: int) -> tuple[int, int]:
    cols = min(4, n)
    return (n + cols - 1) // cols, cols


def _grid_figure(result: Comparison, path: Path) -> Path:
    from matplotlib.patches import Rectangle

    from upscope.comparison import zoom_window

    s = result.settings.scale
    top, left, side = zoom_window(result)
    crop = (slice(None), slice(top, top + side), slice(left, left + side))
    low_crop = (
        slice(None),
        slice(top // s, (top + side) // s),
        slice(left // s, (left + side) // s),
    )
    panels: list[tuple[str, np.ndarray]] = [
        (f"original ({side}x{side} crop)", result.original[crop]),
        (f"low-res input (box /{s})", result.low[low_crop]),
    ]
    for r in result.results:
        panels.append((f"{r.method}\nPSNR {r.psnr:.2f} dB, SSIM {r.ssim:.3f}", r.output[crop]))
    rows, cols = _grid_layout(len(panels) + 1)
    fig = new_figure(3.2 * cols, 3.4 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    _, height, width = result.original.shape
    _show_image(axes[0], result.original)
    axes[0].add_patch(
        Rectangle((left - 0.5, top - 0.5), side, side, fill=False, edgecolor="red", linewidth=1.5)
    )
    axes[0].set_title(f"original {width}x{height} (WxH)\n(red: zoomed region)", fontsize=10)
    for ax, (title, pixels) in zip(axes[1:], panels, strict=False):
        _show_image(ax, pixels)
        ax.set_title(title, fontsize=10)
    for ax in axes[len(panels) + 1 :]:
        ax.axis("off")
    fit = result.settings.fit
    state = f"fitted {fit} steps" if fit else "untrained"
    fig.suptitle(
        f"x{s} upsampling of the box-downsampled image (learned methods {state})\n"
        f"zoom: rows {top}-{top + side - 1}, columns {left}-{left + side - 1}, where the "
        "methods' errors concentrate",
        fontsize=12,
    )
    save_figure(fig, path)
    return path


def _spectra_figure(result: Comparison, specs: dict[str, np.ndarray], path: Path) -> Path:
    save_figure(spectra_figure(result, specs), path)
    return path


def spectra_figure(result: Comparison, specs: dict[str, np.ndarray]) -> Figure:
    """One panel per spectrum of :func:`upscope.comparison.spectra`, on one colour scale, with a
    cyan circle at each frequency (m/S, n/S) cycles/px (:func:`peak_positions`)."""
    s = result.settings.scale
    peaks = {r.method: r.spectral_peak_db for r in result.results}
    rows, cols = _grid_layout(len(specs))
    fig = new_figure(3.4 * cols, 3.4 * rows + 1.0)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    orig = specs["original"]
    vmax = float(np.percentile(orig, 99.9))
    vmin = vmax - 100.0
    image = None
    for ax, (name, spec) in zip(axes, specs.items(), strict=False):
        data, extent = centred_panel(np.fft.ifftshift(spec))  # spec is centred already
        image = ax.imshow(
            data, cmap="magma", vmin=vmin, vmax=vmax, extent=extent, interpolation="nearest"
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
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
    for n, ax in enumerate(axes[: len(specs)]):
        if n % cols == 0:
            ax.set_ylabel("vertical freq. (cycles/px)", fontsize=9)
        if n + cols >= len(specs):
            ax.set_xlabel("horizontal freq. (cycles/px)", fontsize=9)
    for ax in axes[len(specs) :]:
        ax.axis("off")
    if image is not None:
        bar = fig.colorbar(image, ax=list(axes[: len(specs)]), shrink=0.6, pad=0.01)
        bar.set_label("power (dB)")
    fig.suptitle(
        "Log power spectrum of each output: 10 log10 |FFT|$^2$ of the grey image "
        "(mean removed, Hann window)\ncopies of the spectrum around multiples of "
        f"1/{s} cycles/px are upsampling artifacts\ncyan circles: the frequencies (m/{s}, "
        f"n/{s}) cycles/px, where a period-{s} grid puts its energy; peak dB: the table's "
        "spectral peak there,\nits power over its neighbourhood's median (one bin wide: look "
        "inside the circles)",
        fontsize=12,
    )
    return fig


def _radial_figure(result: Comparison, path: Path) -> Path:
    from upscope.quality import radial_profile

    s = result.settings.scale
    profiles = {"original": radial_profile(result.original)}
    profiles.update({r.method: radial_profile(r.output) for r in result.results})
    fig = new_figure(10.0, 8.0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    ref = profiles["original"]
    keep = ref.frequency > 0
    top.plot(ref.frequency[keep], ref.value[keep], color="black", linewidth=2.5, label="original")
    styles = ["-", "--", "-.", ":"]
    for n, r in enumerate(result.results):
        prof = profiles[r.method]
        style = styles[(n // 10) % len(styles)]
        top.plot(prof.frequency[keep], prof.value[keep], style, linewidth=1.2, label=r.method)
        bottom.plot(
            prof.frequency[keep],
            prof.value[keep] - ref.value[keep],
            style,
            linewidth=1.2,
            label=r.method,
        )
    bottom.axhline(0.0, color="black", linewidth=1.5)
    # An exact zero of |F| (nearest's corner frequency) reads 20 ln 1e-8 = -368: such outliers
    # would squash every other curve, so the axes start at the 1st percentile.
    clipped = False
    for ax, lines in (
        (top, [p.value[keep] for p in profiles.values()]),
        (bottom, [p.value[keep] - ref.value[keep] for p in profiles.values()]),
    ):
        values = np.concatenate(lines)
        low, high = float(np.percentile(values, 1)), float(values.max())
        margin = 0.05 * (high - low)
        ax.set_ylim(low - margin, high + margin)
        clipped |= bool(values.min() < low - margin)
    for ax in (top, bottom):
        ax.axvline(0.5 / s, color="grey", linestyle="--", linewidth=1)
        ax.grid(True, alpha=0.3)
    top.text(
        0.5 / s,
        0.98,
        f" input Nyquist 1/{2 * s}",
        transform=top.get_xaxis_transform(),
        va="top",
        fontsize=9,
        color="grey",
    )
    top.set_ylabel("mean of 20 ln|F| over the ring")
    top.set_title(
        "Azimuthal average as Durall et al. 2020: 20 ln|F| of the centred FFT of the grey image\n"
        "(no window), mean over rings of integer radius. Beyond the input's Nyquist limit the\n"
        "upsampler invents the spectrum; beyond 0.5 only the corners count",
        fontsize=12,
    )
    top.legend(fontsize=8, ncol=2, loc="lower left")
    bottom.set_ylabel("difference from original (20 ln|F|)")
    note = "\n(a curve that leaves at the bottom goes to 20 ln 1e-8 = -368: |F| = 0 there)"
    bottom.set_xlabel("radial frequency (cycles/pixel)" + (note if clipped else ""))
    save_figure(fig, path)
    return path
