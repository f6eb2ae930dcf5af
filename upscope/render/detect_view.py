"""Presentation of ``upscope detect``: the rich table and the PNGs (the JSON document is
:mod:`upscope.detect_document`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich import box
from rich.markup import escape
from rich.table import Table

from upscope import present
from upscope.detect_document import detect_document
from upscope.detection import DetectResult, Group, PeriodFound
from upscope.files import prepare_out_dir
from upscope.render.plots import centred_panel, new_figure, panel_rows, save_all

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["detect_document", "detect_figures", "detect_view", "summary_line"]

_SOURCE_STYLE = {"grid": "bold red", "repetition": "yellow", "jpeg": "cyan", "structure": "yellow"}


def _period(found: PeriodFound) -> str:
    return f"{found.period[0]}x{found.period[1]}"


_SHORT = {
    "grid": "upsampling grid",
    "repetition": "pixel repetition",
    "jpeg": "JPEG blocks",
    "structure": "periodic structure",
}


def _layers(found: PeriodFound) -> str:
    if not found.layers:
        return "[dim]none: not from this model's upsampling[/dim]"
    exact = [m.name for m in found.layers if m.exact]
    more = len(found.layers) - len(exact)
    text = ", ".join(escape(name) for name in exact) or "-"
    if more:
        text += f" [dim](+{more} at a multiple)[/dim]"
    return text


def _rms(found: PeriodFound, group: Group) -> str:
    """Grey levels to 2 decimals; a model's own units to 3 significant digits."""
    if found.rms is None:
        return "-"
    return f"{found.rms:.2f}" if group.units == "grey levels" else f"{found.rms:.3g}"


def _table(group: Group, with_model: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("period", no_wrap=True)
    table.add_column("test", no_wrap=True)
    table.add_column("dB", justify="right", no_wrap=True)
    table.add_column("z", justify="right", no_wrap=True)
    table.add_column("images", justify="right", no_wrap=True)
    table.add_column("rms", justify="right", no_wrap=True)
    table.add_column("likely source")
    if with_model:
        table.add_column("ops that make it")
    for found in group.found:
        style = _SOURCE_STYLE[found.source]
        row = [
            _period(found),
            found.test,
            f"{found.strength_db:.1f}",
            f"{found.z:.1f}",
            f"{found.images}/{group.count}",
            _rms(found, group),
            f"[{style}]{_SHORT[found.source]}[/]",
        ]
        if with_model:
            row.append(_layers(found))
        table.add_row(*row)
    return table


def _ops(result: DetectResult) -> list[str]:
    """The model's upsampling ops: period in the output, scan's status, top fix."""
    lines = ["[bold]the model's upsampling ops[/bold] (period in the output, rows x cols):"]
    for op in result.ops:
        period = "x".join("?" if p is None else str(p) for p in op.period)
        fix = ""
        if op.fix:
            fix = f"; fix: {escape(op.fix)}" + (" (verified)" if op.fix_verified else "")
        lines.append(f"  {escape(op.name)} {escape(op.type)}: period {period}, {op.status}{fix}")
    return lines


def _channels(group: Group) -> str:
    """``3``, or ``1 or 3`` for a group that mixes grey and colour (each read as grey)."""
    counts = group.channel_counts or [group.channels]
    return " or ".join(str(c) for c in counts)


def _shown_in(found: list[PeriodFound], groups: list[Group]) -> str:
    """Each period with the images in which it is found alone, as the table's column:
    ``2x2 (16/16 images)``; a period found in several groups of one size each sums them."""
    total = sum(g.count for g in groups)
    alone: dict[tuple[int, int], int] = {}
    for f in found:
        alone[f.period] = alone.get(f.period, 0) + f.images
    order = sorted(alone, key=lambda p: (p[0] * p[1], p))
    return ", ".join(f"{p[0]}x{p[1]} ({alone[p]}/{total} images)" for p in order)


def _units(result: DetectResult) -> str:
    """What rms and the tiles are in: grey levels of 255, or the model's own output units."""
    units = {g.units for g in result.groups}
    if units == {"output units"}:
        return "the model's own output units (its samples are not rescaled)"
    return "grey levels (of 255)"


def summary_line(result: DetectResult) -> str:
    """The verdict, each period with the number of images that show it on their own."""
    images = sum(g.count for g in result.groups)
    found = result.found
    if not found:
        return f"verdict: none: no period found in {images} image(s)"
    if result.verdict == "none":
        return f"verdict: none: only JPEG blocks: {_shown_in(found, result.groups)}"
    return f"verdict: grid: {_shown_in(found, result.groups)}"


def detect_view(result: DetectResult) -> Any:
    """Everything the CLI prints for a person: per group a header and the table, the legend,
    the summary and the PNGs written."""
    from rich.console import Group as RichGroup

    parts: list[Any] = []
    if result.model is not None:
        how = f", {result.samples} sample(s) (seed {result.seed})" if result.samples else ""
        parts.append(f"[bold]{escape(result.model)}[/bold]{how}")
    for group in result.groups:
        jpeg = f", {group.jpeg} JPEG" if group.jpeg else ""
        parts.append(
            f"[bold]{group.count} image(s) of {group.width}x{group.height}[/bold] (WxH), "
            f"{_channels(group)} channel(s){jpeg}"
        )
        tested = sorted({c.period for c in group.candidates})
        if group.found:
            parts.append(_table(group, result.model is not None))
        elif tested:
            parts.append(f"no period from {tested[0]} to {tested[-1]} found")
        else:
            parts.append("too small to test any period (a period P needs a side of 2P)")
    if result.model is not None:
        parts += _ops(result)
    parts.append(
        f"[dim]A period (rows x cols, 1 = none along that axis) is found at z >= "
        f"{result.z_min:g}. additive: the per-phase mean of the high-pass residual; structural: "
        "the per-phase neighbour differences. dB: the pattern's energy over the null (its "
        "spread across places in the images). images: those in which it is found alone. rms: "
        f"the additive pattern in {_units(result)}.[/dim]"
    )
    parts.append(f"[bold]{escape(summary_line(result))}[/bold]")
    parts += [f"wrote {path}" for path in result.pngs]
    return RichGroup(*parts)


# ---------------------------------------------------------------- PNGs


def _structural_panel(ax: Any, f: Any) -> None:
    """What the structural test measured: the mean absolute neighbour difference per phase,
    relative to its mean, along each axis found (1 everywhere: no structure)."""
    axes = [name for name, p in (("rows", f.period[0]), ("columns", f.period[1])) if p > 1]
    for name, profile, marker in zip(axes, f.profile, ("o", "s"), strict=False):
        relative = profile / max(float(np.mean(profile)), 1e-30)
        ax.plot(np.arange(len(profile)), relative, marker=marker, lw=1, label=f"along {name}")
    ax.axhline(1.0, color="black", lw=0.6)
    period = max(f.period)
    ax.set_xticks(range(0, period, max(1, period // 8)))
    ax.set_xlabel("phase (i mod P): difference between pixel i and i + 1", fontsize=7)
    ax.set_ylabel("mean |difference| / its mean", fontsize=8)
    ax.set_ylim(bottom=0.0)
    ax.legend(fontsize=7)


def _tiles(group: Group) -> Any:
    """Per found period what its test measured, magnified: an additive period's mean residual
    tile (one colour scale), a structural one's neighbour differences per phase."""
    from upscope.render.plots import settle_layout

    found = group.found
    rows = panel_rows(len(found), 4)
    per_row = max(len(r) for r in rows)
    fig = new_figure(3.2 * per_row + 1.0, 3.3 * len(rows) + 0.6)
    grid = fig.add_gridspec(len(rows), per_row)
    additive = [f for f in found if f.test == "additive"]
    vmax = max((float(np.max(np.abs(f.tile))) for f in additive), default=0.0) or 1.0
    image = None
    tile_axes = []
    for r, indices in enumerate(rows):
        for c, index in enumerate(indices):
            f = found[index]
            ax = fig.add_subplot(grid[r, c])
            ax.tick_params(labelsize=7)
            if f.test != "additive":
                _structural_panel(ax, f)
                ax.set_title(
                    f"{f.period[0]}x{f.period[1]} structural: neighbour differences\n"
                    f"{f.strength_db:.1f} dB, z {f.z:.1f}",
                    fontsize=9,
                )
                continue
            tile_axes.append(ax)
            image = ax.imshow(f.tile, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
            pr, pc = f.tile.shape
            step_r = max(1, pr // 8)
            step_c = max(1, pc // 8)
            ax.set_xticks(range(0, pc, step_c))
            ax.set_yticks(range(0, pr, step_r))
            ax.set_xlabel(f"column phase (j mod {pc})", fontsize=8)
            ax.set_ylabel(f"row phase (i mod {pr})", fontsize=8)
            ax.set_title(
                f"{f.period[0]}x{f.period[1]} additive: mean residual\n"
                f"{f.strength_db:.1f} dB, z {f.z:.1f}",
                fontsize=9,
            )
    if image is not None:
        bar = fig.colorbar(image, ax=tile_axes, shrink=0.8)
        bar.set_label(f"mean high-pass residual ({group.units})", fontsize=8)
    tests = sorted({f.test for f in found})
    what = {
        "additive": "mean high-pass residual per phase",
        "structural": "neighbour differences per phase",
    }
    fig.suptitle(
        f"{' and '.join(what[t] for t in tests)}, {group.count} image(s) of "
        f"{group.width}x{group.height}",
        fontsize=10,
    )
    return settle_layout(fig)


def _axis_profile(power: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies 0..1/2 along ``axis`` (0 rows, 1 cols) and the power averaged over the other."""
    n = power.shape[axis]
    profile = power.mean(axis=1 - axis)
    half = n // 2 + 1
    return np.arange(half) / n, profile[:half]


def _spectrum(group: Group) -> Any:
    """The mean residual power spectrum (2-D, log) and its profiles along each axis, with the
    positions k / P of every found period marked."""
    from upscope.render.plots import settle_layout

    fig = new_figure(12.0, 4.2)
    grid = fig.add_gridspec(1, 3)
    ax = fig.add_subplot(grid[0, 0])
    data, extent = centred_panel(group.power.astype(np.float64))
    shown = ax.imshow(np.log10(data + 1e-20), extent=extent, cmap="magma")
    bar = fig.colorbar(shown, ax=ax, shrink=0.8)
    bar.set_label("log10 power", fontsize=8)
    ax.set_xlabel("fx (cycles/px)", fontsize=8)
    ax.set_ylabel("fy (cycles/px)", fontsize=8)
    ax.set_title("mean power spectrum of the residual", fontsize=9)
    ax.tick_params(labelsize=7)
    for f in group.found:
        pr, pc = f.period
        xs = [k / pc for k in range(-(pc // 2), pc // 2 + 1)]
        ys = [k / pr for k in range(-(pr // 2), pr // 2 + 1)]
        pts = [(x, y) for x in xs for y in ys if (x, y) != (0.0, 0.0)]
        ax.scatter(
            [p[0] for p in pts],
            [p[1] for p in pts],
            s=60,
            facecolors="none",
            edgecolors="cyan",
            linewidths=0.8,
        )
    for index, (axis, name) in enumerate(((1, "columns (fx)"), (0, "rows (fy)")), start=1):
        ax = fig.add_subplot(grid[0, index])
        freqs, profile = _axis_profile(group.power.astype(np.float64), axis)
        _, mean_profile = _axis_profile(group.mean_power.astype(np.float64), axis)
        ax.semilogy(freqs, profile + 1e-20, color="black", lw=1, label="mean of the spectra")
        ax.semilogy(
            freqs, mean_profile + 1e-20, color="tab:orange", lw=1, label="spectrum of the mean"
        )
        for f in group.found:
            p = f.period[1] if axis == 1 else f.period[0]
            if p <= 1:
                continue
            for k in range(1, p // 2 + 1):
                ax.axvline(k / p, color="tab:red", lw=0.8, ls="--")
        ax.set_xlim(0, 0.51)
        ax.set_xlabel(f"frequency along {name}, cycles/px", fontsize=8)
        ax.set_ylabel("power", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"along {name}: dashed = k / period found", fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(
        f"residual spectrum, {group.count} image(s) of {group.width}x{group.height}", fontsize=10
    )
    return settle_layout(fig)


def _strengths(group: Group, z_min: float) -> Any:
    """Per found period, each image's strength (dB over the null), found ones marked."""
    from matplotlib.ticker import MaxNLocator

    from upscope.render.plots import settle_layout

    fig = new_figure(9.5, 1.0 + 2.0 * len(group.found))
    axes = fig.subplots(len(group.found), 1, squeeze=False)[:, 0]
    for ax, f in zip(axes, group.found, strict=True):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # images counted
        ax.set_xlim(0.5, group.count + 0.5)
        x = np.arange(1, group.count + 1)
        hit = f.image_z >= z_min
        ax.scatter(x[~hit], f.image_db[~hit], s=12, color="grey", label="not found alone")
        ax.scatter(x[hit], f.image_db[hit], s=12, color="tab:red", label=f"found (z >= {z_min:g})")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_ylabel("dB over null", fontsize=8)
        ax.set_title(
            f"{f.period[0]}x{f.period[1]} {f.test}: found alone in {f.images}/{group.count}",
            fontsize=9,
        )
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes[-1].set_xlabel("image (in the order read)", fontsize=8)
    fig.suptitle(f"per-image strength, images of {group.width}x{group.height}", fontsize=10)
    return settle_layout(fig)


def detect_figures(result: DetectResult, out: Path) -> list[Path]:
    """Per group: ``detect-WxH-spectrum.png`` (``detect-WxH-jpeg-...`` for JPEG files); with a
    period found, also ``-tiles.png`` and ``-strengths.png``. Returns the paths written."""
    prepare_out_dir(out)
    jobs: list[tuple[Callable[[], Figure], Path]] = []
    for group in result.groups:
        stem = f"detect-{group.width}x{group.height}" + ("-jpeg" if group.jpeg else "")
        if group.found:
            jobs.append((partial(_tiles, group), out / f"{stem}-tiles.png"))
        jobs.append((partial(_spectrum, group), out / f"{stem}-spectrum.png"))
        if group.found:
            jobs.append((partial(_strengths, group, result.z_min), out / f"{stem}-strengths.png"))
    return save_all(jobs)


# ---------------------------------------------------------------- the registry (upscope.present)

present.document.register(DetectResult)(detect_document)
present.view.register(DetectResult)(detect_view)


@present.figures.register(DetectResult)
def _figures(result: DetectResult, out: Path) -> list[Path]:
    result.pngs = detect_figures(result, out)
    return result.pngs
