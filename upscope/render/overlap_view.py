"""Presentation of ``upscope overlap``: JSON document, coloured terminal grid, PNG heatmap.

matplotlib is imported only inside :func:`write_png`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table
from rich.text import Text

from upscope.render.console import out_console, print_json

if TYPE_CHECKING:
    from rich.console import Console

    from upscope.arith import LayerSpec
    from upscope.overlap import OverlapResult

__all__ = ["document", "file_name", "print_json", "show", "write_png"]

_VERDICT_STYLE = {"even": "bold green", "checkerboard": "bold red", "holes": "bold magenta"}
# viridis at 9 stops: a perceptual scale that stays readable in a terminal
_STOPS = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
]
_MAX_GRID_ROWS = 48
_MAX_BLOCK_ROWS = 16
_WINDOW = 16
_PNG_FULL = 64  # larger maps are drawn as a full-resolution window
_PNG_WINDOW = 32
_PNG_PROFILE = 64


def _x(values: tuple[int, ...] | list[int]) -> str:
    return "x".join(map(str, values))


# ---------------------------------------------------------------- JSON


def document(result: OverlapResult, png: Path | None) -> dict[str, Any]:
    """The ``--json`` document (keys documented in the README)."""
    one_d = result.map.ndim == 1
    starts = [a for a, _ in result.interior]
    stops = [b for _, b in result.interior]
    return {
        "map": result.map.tolist(),
        "min": result.min,
        "max": result.max,
        "interior": {
            "min": result.interior_min,
            "max": result.interior_max,
            "ratio": result.interior_ratio,
            "start": starts[0] if one_d else starts,
            "stop": stops[0] if one_d else stops,
        },
        "period": list(result.period),
        "verdict": result.verdict,
        "explanation": result.explanation,
        "input": list(result.input_size),
        "output": list(result.output_size),
        "verdict_input": list(result.verdict_input),
        "layers": [_layer_text(spec) for spec in result.specs],
        "png": None if png is None else str(png),
    }


def _layer_text(spec: LayerSpec) -> str:
    if spec.kind == "convT":
        keys, defaults = ("k", "s", "p", "op", "d"), {"s": 1, "p": 0, "op": 0, "d": 1}
        parts = []
        for key in keys:
            values = spec.params.get(key, (defaults.get(key, 1),))
            parts.append(f"{key}={_x(list(values))}")
        return "convT " + " ".join(parts)
    return f"{spec.kind} {spec.describe()}".strip()


# ---------------------------------------------------------------- terminal


def _colour(t: float) -> tuple[int, int, int]:
    t = min(max(t, 0.0), 1.0) * (len(_STOPS) - 1)
    i = min(int(t), len(_STOPS) - 2)
    f = t - i
    a, b = _STOPS[i], _STOPS[i + 1]
    return tuple(round(a[c] + (b[c] - a[c]) * f) for c in range(3))  # type: ignore[return-value]


def _cell_style(value: float, lo: float, hi: float, border: bool) -> str:
    r, g, b = _colour(0.5 if hi == lo else (value - lo) / (hi - lo))
    light = 0.299 * r + 0.587 * g + 0.114 * b > 140
    fg = "black" if light else "white"
    return f"{'dim ' if border else ''}{fg} on rgb({r},{g},{b})"


def _grid(
    values: np.ndarray,
    lo: float,
    hi: float,
    inside: tuple[tuple[int, int], tuple[int, int]] | None,
    offset: tuple[int, int] = (0, 0),
) -> Text:
    """Numbers on coloured cells; cells outside ``inside`` (the interior) are dimmed."""
    width = max(len(str(int(v))) for v in (lo, hi))
    text = Text()
    for r, row in enumerate(values):
        for c, v in enumerate(row):
            border = False
            if inside is not None:
                (r0, r1), (c0, c1) = inside
                rr, cc = r + offset[0], c + offset[1]
                border = not (r0 <= rr < r1 and c0 <= cc < c1)
            text.append(f"{int(v):>{width}} ", style=_cell_style(float(v), lo, hi, border))
        text.append("\n")
    return text


def _blocks(values: np.ndarray, lo: float, hi: float) -> Text:
    text = Text()
    for row in values:
        for v in row:
            r, g, b = _colour(0.5 if hi == lo else (float(v) - lo) / (hi - lo))
            text.append("  ", style=f"on rgb({r},{g},{b})")
        text.append("\n")
    return text


def _block_means(values: np.ndarray, f: int) -> np.ndarray:
    rows = np.arange(0, values.shape[0], f)
    cols = np.arange(0, values.shape[1], f)
    sums = np.add.reduceat(np.add.reduceat(values.astype(np.float64), rows, axis=0), cols, axis=1)
    h = np.diff(np.append(rows, values.shape[0]))
    w = np.diff(np.append(cols, values.shape[1]))
    return sums / np.outer(h, w)


def _as_2d(result: OverlapResult) -> tuple[np.ndarray, tuple[tuple[int, int], tuple[int, int]]]:
    if result.map.ndim == 1:
        return result.map[None, :], ((0, 1), result.interior[0])
    return result.map, (result.interior[0], result.interior[1])


def _fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.3g}"


def title(result: OverlapResult) -> str:
    """``convT k=3 s=2 p=0 op=0 d=1 (x2), input 8x8 -> 29x29``."""
    specs = result.specs
    if all(spec == specs[0] for spec in specs):
        layers = _layer_text(specs[0]) + (f" (x{len(specs)})" if len(specs) > 1 else "")
    else:
        layers = " -> ".join(_layer_text(spec) for spec in specs)
    return f"{layers}, input {_x(result.input_size)} -> {_x(result.output_size)}"


def show(result: OverlapResult, png: Path | None, console: Console | None = None) -> None:
    """The map (or a downsampled view and a full-resolution window), the figures, the verdict."""
    console = console or out_console()
    values, inside = _as_2d(result)
    lo, hi = float(result.min), float(result.max)
    console.print(f"[bold]Overlap counts[/bold]: {title(result)}")
    width = max(console.width - 1, 20)
    cell = max(len(str(result.min)), len(str(result.max))) + 1
    rows, cols = values.shape
    if cols * cell <= width and rows <= _MAX_GRID_ROWS:
        console.print(_grid(values, lo, hi, inside), end="")
        console.print("[dim]dimmed cells: border, outside the interior[/dim]")
    else:
        f = max(-(-cols // max(width // 2, 1)), -(-rows // _MAX_BLOCK_ROWS), 2)
        means = _block_means(values, f)
        console.print(
            f"[dim]downsampled {f}:1 per axis ({_x(list(values.shape))} -> "
            f"{_x(list(means.shape))} cells, each the mean of a {f}x{f} block; the pattern of "
            "single pixels is averaged away)[/dim]"
            if result.map.ndim == 2
            else f"[dim]downsampled {f}:1 ({cols} -> {means.shape[1]} cells, each the mean of "
            f"{f} pixels; the pattern of single pixels is averaged away)[/dim]"
        )
        console.print(_blocks(means, lo, hi), end="")
        (r0, r1), (c0, c1) = inside
        if r1 <= r0 or c1 <= c0:
            r0, c0 = rows // 2, cols // 2
        n_cols = max(min(_WINDOW, width // cell, cols - c0), 1)
        n_rows = max(min(_WINDOW if result.map.ndim == 2 else 1, rows - r0), 1)
        window = values[r0 : r0 + n_rows, c0 : c0 + n_cols]
        where = (
            f"rows {r0}-{r0 + n_rows - 1}, columns {c0}-{c0 + n_cols - 1}"
            if result.map.ndim == 2
            else f"pixels {c0}-{c0 + n_cols - 1}"
        )
        console.print(f"[dim]full resolution, at the interior's first corner ({where}):[/dim]")
        console.print(_grid(window, lo, hi, inside, (r0, c0)), end="")
    console.print(figures_table(result))
    style = _VERDICT_STYLE[result.verdict]
    console.print(f"[{style}]{result.verdict}[/]: {result.explanation}")
    if png is not None:
        console.print(f"wrote {png}", soft_wrap=True)


def opt(value: int | None) -> str:
    return "-" if value is None else str(value)


def figures_table(result: OverlapResult) -> Table:
    table = Table(title="Figures", title_justify="left")
    table.add_column("")
    table.add_column("whole map", justify="right")
    table.add_column("interior", justify="right")
    sizes = [max(b - a, 0) for a, b in result.interior]
    if result.has_interior:
        names = ("rows", "cols") if len(sizes) == 2 else ("pixels",)
        pairs = zip(names, result.interior, strict=True)
        span = ", ".join(f"{n} {a}-{b - 1}" for n, (a, b) in pairs)
        where = f"{_x(sizes)} ({span})"
    else:
        where = "none (input too small)"
    table.add_row("pixels", _x(list(result.output_size)), where)

    table.add_row("min", str(result.min), opt(result.interior_min))
    table.add_row("max", str(result.max), opt(result.interior_max))
    ratio = result.max / result.min if result.min else None
    table.add_row("max/min", _fmt_ratio(ratio), _fmt_ratio(result.interior_ratio))
    table.add_row("period", "", _x(list(result.period)))
    style = _VERDICT_STYLE[result.verdict]
    table.add_row("verdict", "", f"[{style}]{result.verdict}[/]")
    return table


# ---------------------------------------------------------------- PNG


def file_name(result: OverlapResult, layers: int = 1) -> str:
    """A file name made of the parameters: ``overlap_convT_k3_s2_p0_op0_d1_in8x8.png``.

    ``layers`` is how many times the user repeated the stack (``--layers``).
    """
    specs = result.specs
    reps = layers if layers >= 1 and len(specs) % layers == 0 else 1
    parts = []
    for spec in specs[: len(specs) // reps]:
        text = _layer_text(spec).replace("=", "").replace(" ", "_")
        parts.append(re.sub(r"[^A-Za-z0-9_.x-]", "", text))
    body = "-".join(parts)
    if len(body) > 80:
        body = "stack" + hashlib.sha1(body.encode()).hexdigest()[:10]
    reps_text = f"_L{reps}" if reps > 1 else ""
    return f"overlap_{body}{reps_text}_in{_x(result.input_size)}.png"


def _window_start(start: int, stop: int, size: int, length: int) -> int:
    """Where a full-resolution window of ``length`` begins: a few border pixels, then interior."""
    if stop <= start:
        return max((size - length) // 2, 0)
    return min(max(start - 3, 0), max(size - length, 0))


def write_png(result: OverlapResult, path: Path) -> Path:
    """Heatmap with colorbar (counts in cells when small) and the middle-row profile beside it.

    A map larger than ``_PNG_FULL`` per axis is shown as a full-resolution window (a few
    border pixels and the start of the interior): averaging pixels on screen would hide the
    very pattern the figure is for.
    """
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    from upscope.render.plots import new_figure, save_figure

    values, ((r0, r1), (c0, c1)) = _as_2d(result)
    rows, cols = values.shape
    one_d = result.map.ndim == 1
    fig = new_figure(12.5, 5.4 if not one_d else 3.6)
    grid = fig.add_gridspec(1, 2, width_ratios=[1.25, 1])
    ax = fig.add_subplot(grid[0, 0])
    wr = 0 if rows <= _PNG_FULL else _window_start(r0, r1, rows, _PNG_WINDOW)
    wc = 0 if cols <= _PNG_FULL else _window_start(c0, c1, cols, _PNG_WINDOW)
    nr = rows if rows <= _PNG_FULL else _PNG_WINDOW
    nc = cols if cols <= _PNG_FULL else _PNG_WINDOW
    shown = values[wr : wr + nr, wc : wc + nc]
    flat = result.min == result.max
    image = ax.imshow(
        shown,
        cmap="viridis",
        interpolation="nearest",
        aspect="auto" if one_d else "equal",
        vmin=result.min - (0.5 if flat else 0),
        vmax=result.max + (0.5 if flat else 0),
        extent=(wc - 0.5, wc + nc - 0.5, wr + nr - 0.5, wr - 0.5),
    )
    fig.colorbar(
        image,
        ax=ax,
        label="contributions per output pixel",
        shrink=0.9,
        ticks=MaxNLocator(integer=True),
    )
    if max(nr, nc) <= 24:
        mid = (result.min + result.max) / 2
        size = 9 if max(nr, nc) <= 16 else 7
        for (r, c), v in np.ndenumerate(shown):
            ax.text(
                wc + c,
                wr + r,
                str(int(v)),
                ha="center",
                va="center",
                fontsize=size,
                color="black" if v > mid else "white",
            )
    notes = []
    if r1 > r0 and c1 > c0:
        ax.add_patch(
            Rectangle(
                (c0 - 0.5, r0 - 0.5),
                c1 - c0,
                r1 - r0,
                fill=False,
                edgecolor="red",
                linestyle="--",
                linewidth=1.5,
            )
        )
        notes.append("red dashed: interior")
    else:
        notes.append("no interior")
    if (nr, nc) != (rows, cols):
        where = (
            f"columns {wc}-{wc + nc - 1}"
            if one_d
            else (f"rows {wr}-{wr + nr - 1}, cols {wc}-{wc + nc - 1}")
        )
        notes.insert(0, f"full-resolution window ({where}) of the {_x([*result.output_size])} map")
    ax.set_title("; ".join(notes), fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("output column")
    if one_d:
        ax.set_yticks([])
    else:
        ax.set_ylabel("output row")
    mid_row = rows // 2
    nonzero = np.flatnonzero(values.any(axis=1))
    if nonzero.size and not values[mid_row].any():  # a row of holes says little: the nearest
        mid_row = int(nonzero[np.argmin(np.abs(nonzero - mid_row))])
    pc = cols if cols <= _PNG_FULL else _PNG_PROFILE
    pstart = 0 if cols <= _PNG_FULL else _window_start(c0, c1, cols, pc)
    profile = values[mid_row, pstart : pstart + pc]
    pax = fig.add_subplot(grid[0, 1])
    x = np.arange(pstart, pstart + pc)
    pax.step(x, profile, where="mid", color="tab:blue")
    pax.plot(x, profile, "o", color="tab:blue", markersize=3)
    if c1 > c0 and r1 > r0:
        lo, hi = max(c0, pstart), min(c1, pstart + pc)
        pax.axvspan(lo - 0.5, hi - 0.5, color="tab:red", alpha=0.08, label="interior")
        pax.legend(loc="best", fontsize=8)
    pax.set_ylim(-0.05 * max(result.max, 1), result.max * 1.08 + 0.5)
    pax.yaxis.set_major_locator(MaxNLocator(integer=True))
    pax.set_ylabel("contributions")
    part = "" if pc == cols else f", columns {pstart}-{pstart + pc - 1} of {cols}"
    if one_d:
        pax.set_title(f"profile{part}")
    elif mid_row == rows // 2:
        pax.set_title(f"profile through the middle row (row {mid_row})")
    else:
        pax.set_title(f"profile through row {mid_row} (row {rows // 2} is all holes)")
    if part and not one_d:
        pax.set_xlabel(f"output column ({pc} of {cols} shown)")
    else:
        pax.set_xlabel("output column")
    pax.xaxis.set_major_locator(MaxNLocator(integer=True))
    pax.grid(alpha=0.3)
    ratio = _fmt_ratio(result.interior_ratio)
    fig.suptitle(
        f"{title(result)}\nverdict: {result.verdict}  (interior min {opt(result.interior_min)}, "
        f"max {opt(result.interior_max)}, ratio {ratio}, period {_x(list(result.period))})",
        fontsize=11,
    )
    return save_figure(fig, path)
