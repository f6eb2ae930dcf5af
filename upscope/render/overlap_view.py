"""Presentation of ``upscope overlap``: coloured terminal grid, PNG heatmap (the JSON is
``upscope.documents``).

matplotlib is imported only inside :func:`write_png`.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from rich.table import Table
from rich.text import Text

from upscope import documents, present
from upscope.documents import layer_text
from upscope.overlap_map import OverlapResult
from upscope.render.console import View, out_console
from upscope.text import markup

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.console import Console

__all__ = ["figure", "file_name", "show", "write_png"]

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
_MAX_PROFILES = 4
#: (colour, line style, marker) of each profile line
_PROFILE_STYLES = [
    ("tab:blue", "-", "o"),
    ("tab:orange", "--", "s"),
    ("tab:green", "-.", "^"),
    ("tab:purple", ":", "D"),
]


def _x(values: tuple[int, ...] | list[int]) -> str:
    return "x".join(map(str, values))


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


def _levels(means: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Each mean on a 0-9 scale from ``lo`` (0) to ``hi`` (9); 5 everywhere when they are equal."""
    if hi == lo:
        return np.full(means.shape, 5, np.int64)
    return np.clip(np.rint(9 * (means - lo) / (hi - lo)), 0, 9).astype(np.int64)


def _blocks(means: np.ndarray, lo: float, hi: float) -> Text:
    """One digit (the 0-9 level) per cell, on its colour when the console has colour."""
    text = Text()
    for row, levels in zip(means, _levels(means, lo, hi), strict=True):
        for v, level in zip(row, levels, strict=True):
            r, g, b = _colour(0.5 if hi == lo else (float(v) - lo) / (hi - lo))
            fg = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"
            text.append(f"{level} ", style=f"{fg} on rgb({r},{g},{b})")
        text.append("\n")
    return text


def _windows(n: int, f: int, anchor: int) -> list[tuple[int, int]]:
    """Windows of ``f`` pixels covering an axis of ``n``, one of them starting at ``anchor``.

    The windows at either end are shifted inwards to lie inside the axis (they overlap their
    neighbour), so every window holds exactly ``f`` pixels (``n`` when the axis is shorter).

    >>> _windows(10, 4, 1)
    [(0, 4), (1, 5), (5, 9), (6, 10)]
    """
    if n <= f:
        return [(0, n)]
    start = anchor - -(-anchor // f) * f  # the first window start at or before 0
    return [(min(max(a, 0), n - f), min(max(a, 0), n - f) + f) for a in range(start, n, f)]


def _window_means(
    values: np.ndarray, rows: list[tuple[int, int]], cols: list[tuple[int, int]]
) -> np.ndarray:
    sums = np.stack([values[a:b].sum(axis=0, dtype=np.float64) for a, b in rows])
    cum = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(sums, axis=1)], axis=1)
    out = np.stack([cum[:, b] - cum[:, a] for a, b in cols], axis=1)
    h = np.array([b - a for a, b in rows], np.float64)
    w = np.array([b - a for a, b in cols], np.float64)
    return out / np.outer(h, w)


def _downsample(
    result: OverlapResult,
    values: np.ndarray,
    inside: tuple[tuple[int, int], tuple[int, int]],
    max_rows: int,
    max_cols: int,
) -> tuple[np.ndarray, int, bool]:
    """Block means of the map, the block side ``f``, and whether ``f`` is a multiple of the
    interior period.

    ``f`` is the smallest multiple of the period (lcm over the axes) that fits the cells on
    screen, and the blocks are aligned on the interior's first row and column: a block inside
    the interior then holds whole periods, so every such block has the same mean and the
    downsampled view shows no stripes that are not in the map. When a period is longer than the
    smallest block and would leave fewer than 4 blocks across, plain blocks are used and the
    caption warns.
    """
    rows, cols = values.shape
    f_min = max(-(-cols // max(max_cols - 1, 1)), -(-rows // max(max_rows - 1, 1)), 2)
    period = math.lcm(*result.period) if result.period else 1
    f = -(-f_min // period) * period
    whole = period <= f_min or f * 4 <= max(rows, cols)
    if not whole:
        f = f_min
    (r0, r1), (c0, c1) = inside
    anchor_r, anchor_c = (r0, c0) if r1 > r0 and c1 > c0 else (0, 0)
    means = _window_means(values, _windows(rows, f, anchor_r), _windows(cols, f, anchor_c))
    return means, f, whole


def _as_2d(result: OverlapResult) -> tuple[np.ndarray, tuple[tuple[int, int], tuple[int, int]]]:
    if result.map.ndim == 1:
        return result.map[None, :], ((0, 1), result.interior[0])
    return result.map, (result.interior[0], result.interior[1])


def _fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.3g}"


def _border_note(result: OverlapResult, colour: bool) -> str:
    if colour:
        return "dimmed cells: border, outside the interior"
    if not result.has_interior:
        return "no interior: every pixel is border"
    return f"interior ({_interior_text(result)}); the rest is border"


def _interior_text(result: OverlapResult) -> str:
    if len(result.interior) == 1:
        (a, b) = result.interior[0]
        return f"pixels {a}-{b - 1}"
    (r0, r1), (c0, c1) = result.interior
    return f"rows {r0}-{r1 - 1}, cols {c0}-{c1 - 1}"


def _downsample_note(
    result: OverlapResult, shape: tuple[int, ...], cells: tuple[int, ...], f: int, whole: bool
) -> str:
    one_d = result.map.ndim == 1
    size = f"{shape[1]} -> {cells[1]} cells" if one_d else f"{_x([*shape])} -> {_x([*cells])} cells"
    block = f"{f} pixels" if one_d else f"a {f}x{f} block"
    period = _x(list(result.period))
    head = f"downsampled {f}:1{'' if one_d else ' per axis'} ({size}, each the mean of {block}"
    if whole and math.prod(result.period) == 1:
        return f"{head}; the interior has period 1)"
    if whole:
        return (
            f"{head}: whole periods ({period}) of the interior, so interior blocks are all alike "
            "and only the border shows; the pattern is in the full-resolution window below)"
        )
    return (
        f"{head}; the interior period {period} is longer than a block, so cells mix phases and "
        "may show stripes that the map does not have)"
    )


def _levels_note(result: OverlapResult) -> str:
    if result.min == result.max:
        return f"every cell: {result.min} (the map is constant)"
    return (
        f"digit = block mean on a 0-9 scale: 0 = {result.min} (map min), 9 = {result.max} (map max)"
    )


def title(result: OverlapResult) -> str:
    """``convT k=3 s=2 p=0 op=0 d=1 (x2), input 8x8 -> 29x29``."""
    specs = result.specs
    if all(spec == specs[0] for spec in specs):
        layers = layer_text(specs[0]) + (f" (x{len(specs)})" if len(specs) > 1 else "")
    else:
        layers = " -> ".join(layer_text(spec) for spec in specs)
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
    colour = console.color_system is not None
    if cols * cell <= width and rows <= _MAX_GRID_ROWS:
        console.print(_grid(values, lo, hi, inside), end="")
        console.print(f"[dim]{_border_note(result, colour)}[/dim]")
    else:
        means, f, whole = _downsample(result, values, inside, _MAX_BLOCK_ROWS, width // 2)
        console.print(f"[dim]{_downsample_note(result, values.shape, means.shape, f, whole)}[/dim]")
        console.print(_blocks(means, lo, hi), end="")
        console.print(f"[dim]{_levels_note(result)}[/dim]")
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
        if not colour:
            console.print(f"[dim]{_border_note(result, colour)}[/dim]")
    console.print(numbers_table(result))
    style = _VERDICT_STYLE[result.verdict]
    console.print(f"[{style}]{result.verdict}[/]: {result.explanation}")
    if png is not None:
        console.print(f"wrote {markup(png, None)}", soft_wrap=True)


RULE_TEXT = {
    "interior": "the interior",
    "layers": "each layer's own interior (the stack has too little)",
}


def opt(value: int | None) -> str:
    return "-" if value is None else str(value)


def numbers_table(result: OverlapResult) -> Table:
    table = Table(title="Numbers", title_justify="left")
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
    table.add_row("judged on", "", RULE_TEXT[result.verdict_rule])
    return table


# ---------------------------------------------------------------- PNG


def file_name(result: OverlapResult, layers: int = 1) -> str:
    """A file name made of the parameters: ``overlap-convt-k3-s2-p0-op0-d1-in8x8.png``.

    ``<command>-<what>.png``, lowercase, hyphens. ``layers`` is how many times the user
    repeated the stack (``--layers``): ``-x3``.
    """
    specs = result.specs
    reps = layers if layers >= 1 and len(specs) % layers == 0 else 1
    parts = []
    for spec in specs[: len(specs) // reps]:
        text = layer_text(spec).lower().replace("=", "").replace(" ", "-")
        parts.append(re.sub(r"[^a-z0-9.x-]", "", text))
    body = "-".join(parts)
    if len(body) > 80:
        body = "stack-" + hashlib.sha1(body.encode()).hexdigest()[:10]
    reps_text = f"-x{reps}" if reps > 1 else ""
    return f"overlap-{body}{reps_text}-in{_x(result.input_size)}.png"


def _window_start(start: int, stop: int, size: int, length: int) -> int:
    """Where a full-resolution window of ``length`` begins: 3 pixels before the interior (or at
    0 when it starts closer to the edge), never past the far edge; centred with no interior."""
    if stop <= start:
        return max((size - length) // 2, 0)
    return min(max(start - 3, 0), max(size - length, 0))


def _outline_note(
    interior: tuple[int, int, int, int], shown: tuple[int, int, int, int], whole: bool
) -> str:
    """The heatmap title's word on the interior: an outline only where one can be seen.

    ``interior`` and ``shown`` are ``(row0, row1, col0, col1)`` half-open ranges.
    """
    r0, r1, c0, c1 = interior
    wr0, wr1, wc0, wc1 = shown
    what = "map" if whole else "window"
    if r1 <= r0 or c1 <= c0:
        return "no interior"
    if max(r0, wr0) >= min(r1, wr1) or max(c0, wc0) >= min(c1, wc1):
        return f"no interior in this {what}"
    if r0 <= wr0 and wr1 <= r1 and c0 <= wc0 and wc1 <= c1:
        return f"the whole {what} is interior"
    return "red dashed: interior"


def profile_columns(result: OverlapResult) -> tuple[int, int]:
    """The first column and the number of columns of the profile plot: the whole row, or a
    window of ``_PNG_PROFILE`` columns of a wide map, placed as :func:`_window_start` says."""
    values, ((_, _), (c0, c1)) = _as_2d(result)
    cols = values.shape[1]
    if cols <= _PNG_FULL:
        return 0, cols
    return _window_start(c0, c1, cols, _PNG_PROFILE), _PNG_PROFILE


class Profiles(NamedTuple):
    """What the profile plot draws: ``groups`` of rows of ``rows``, one line per group."""

    rows: range  # the rows considered: one vertical period (the map itself when 1D)
    groups: list[tuple[int, ...]]  # rows equal over the drawn columns, in row order
    distinct: int  # how many groups ``rows`` has (more than drawn when over _MAX_PROFILES)
    middle: bool  # whether ``rows`` starts at the middle row (else the middle row is holes)


def profile_rows(result: OverlapResult) -> Profiles:
    """The rows the profile plot draws.

    The rows of one vertical period from the middle row down (the last rows of the map when
    the middle is too near the end), one per phase, so that every interior value appears:
    for k=3, s=2 the middle row holds only 1s and 2s (or 2s and 4s). Rows that are equal over
    the drawn columns (:func:`profile_columns`) form one group, drawn once. Past
    ``_MAX_PROFILES`` groups, those that together show the most values are kept. If
    every row of the period is holes only (zeros), the nearest row that is not is drawn.
    A 1D map is its own single row.
    """
    values, _ = _as_2d(result)
    rows = values.shape[0]
    if result.map.ndim == 1:
        return Profiles(range(1), [(0,)], 1, True)
    start_col, n_cols = profile_columns(result)
    shown = values[:, start_col : start_col + n_cols]
    n = min(max(result.period[0], 1), rows)
    first = min(rows // 2, rows - n)
    by_values: dict[bytes, list[int]] = {}
    for r in range(first, first + n):
        by_values.setdefault(shown[r].tobytes(), []).append(r)
    groups = [tuple(g) for g in by_values.values()]
    if not any(shown[g[0]].any() for g in groups):
        nonzero = np.flatnonzero(shown.any(axis=1))
        if nonzero.size:
            row = int(nonzero[np.argmin(np.abs(nonzero - rows // 2))])
            return Profiles(range(row, row + 1), [(row,)], 1, False)
    kept = _most_values(groups, shown) if len(groups) > _MAX_PROFILES else groups
    return Profiles(range(first, first + n), sorted(kept), len(groups), True)


def _most_values(groups: list[tuple[int, ...]], shown: np.ndarray) -> list[tuple[int, ...]]:
    """``_MAX_PROFILES`` of ``groups`` whose rows show the most distinct values together (the
    first such choice in row order); greedy when there are too many choices to try them all."""
    values = [set(shown[g[0]].tolist()) for g in groups]
    if math.comb(len(groups), _MAX_PROFILES) <= 5000:
        choices = itertools.combinations(range(len(groups)), _MAX_PROFILES)
        best = max(choices, key=lambda c: len(set().union(*(values[i] for i in c))))
        return [groups[i] for i in best]
    kept: list[int] = []
    seen: set[int] = set()
    while len(kept) < _MAX_PROFILES:
        i = max(
            (i for i in range(len(groups)) if i not in kept), key=lambda i: len(values[i] - seen)
        )
        kept.append(i)
        seen |= values[i]
    return [groups[i] for i in sorted(kept)]


def _rows_text(group: tuple[int, ...]) -> str:
    return f"row {group[0]}" if len(group) == 1 else "rows " + ", ".join(map(str, group))


def _profile_title(result: OverlapResult, profiles: Profiles) -> str:
    rows = profiles.rows
    if not profiles.middle:
        return f"profile through row {rows[0]} (row {result.map.shape[0] // 2} is all holes)"
    if len(rows) == 1:
        return f"profile through the middle row (row {rows[0]})"
    period = result.period[0]
    what = "one vertical period" if len(rows) == period else f"the period is {period} rows"
    title = f"profiles of rows {rows[0]}-{rows[-1]} ({what})"
    if profiles.distinct > len(profiles.groups):
        title += (
            f"\n{len(profiles.groups)} of their {profiles.distinct} distinct rows, "
            "those that show the most values"
        )
    return title


def write_png(result: OverlapResult, path: Path) -> Path:
    """Save :func:`figure` at ``path`` (atomically)."""
    from functools import partial

    from upscope.render.plots import save_one

    return save_one(partial(figure, result), path)


def figure(result: OverlapResult) -> Figure:
    """Heatmap with colorbar (counts in cells when small) and, beside it, the profiles of the
    rows of one vertical period from the middle row (:func:`profile_rows`).

    A map larger than ``_PNG_FULL`` per axis is shown as a full-resolution window (a few
    border pixels and the start of the interior): averaging pixels on screen would hide the
    very pattern the figure is for.
    """
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    from upscope.render.plots import cell_labels, new_figure, settle_layout

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
        cells = [(wc + c, wr + r, str(int(v)), "black" if v > mid else "white")
                 for (r, c), v in np.ndenumerate(shown)]  # fmt: skip
        cell_labels(ax, cells, fontsize=size)
    notes = [_outline_note((r0, r1, c0, c1), (wr, wr + nr, wc, wc + nc), (nr, nc) == (rows, cols))]
    if notes[0].startswith("red dashed"):
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
    if (nr, nc) != (rows, cols):
        where = (
            f"columns {wc}-{wc + nc - 1}"
            if one_d
            else (f"rows {wr}-{wr + nr - 1}, cols {wc}-{wc + nc - 1}")
        )
        notes.insert(0, f"full-resolution window ({where}) of the {_x([*result.output_size])} map")
    ax.set_title(";\n".join(notes), fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("output column")
    if one_d:
        ax.set_yticks([])
    else:
        ax.set_ylabel("output row")
    pstart, pc = profile_columns(result)
    profiles = profile_rows(result)
    pax = fig.add_subplot(grid[0, 1])
    x = np.arange(pstart, pstart + pc)
    for n, group in enumerate(profiles.groups):
        colour, style, marker = _PROFILE_STYLES[n]
        pax.plot(
            x,
            values[group[0], pstart : pstart + pc],
            drawstyle="steps-mid",
            color=colour,
            linestyle=style,
            marker=marker,
            markersize=4,
            linewidth=1.6,
            label=None if one_d else _rows_text(group),
            gid="profile",
        )
    if c1 > c0 and r1 > r0:
        lo, hi = max(c0, pstart), min(c1, pstart + pc)
        pax.axvspan(lo - 0.5, hi - 0.5, color="tab:red", alpha=0.08, label="interior")
    top = max(result.max, 1)
    if pax.get_legend_handles_labels()[0]:
        # one row of entries above the highest value, so that no line runs under it
        pax.legend(loc="upper center", ncol=len(profiles.groups) + 1, fontsize=8, columnspacing=1.2)
        pax.set_ylim(-0.05 * top, top * 1.3 + 0.5)
    else:
        pax.set_ylim(-0.05 * top, top * 1.08 + 0.5)
    pax.yaxis.set_major_locator(MaxNLocator(integer=True))
    pax.set_yticks([t for t in pax.get_yticks() if 0 <= t <= result.max])
    # ticks and label on the right: on the left they would crowd the heatmap's colorbar label
    pax.yaxis.tick_right()
    pax.yaxis.set_label_position("right")
    pax.set_ylabel("contributions")
    part = "" if pc == cols else f", columns {pstart}-{pstart + pc - 1} of {cols}"
    pax.set_title(f"profile{part}" if one_d else _profile_title(result, profiles), fontsize=10)
    if part and not one_d:
        pax.set_xlabel(f"output column ({pc} of {cols} shown)")
    else:
        pax.set_xlabel("output column")
    pax.xaxis.set_major_locator(MaxNLocator(integer=True))
    pax.grid(alpha=0.3)
    fig.suptitle(suptitle(result, fig.get_figwidth()), fontsize=11)
    return settle_layout(fig)


def suptitle(result: OverlapResult, width_in: float) -> str:
    """The figure's title: the layers and the verdict, wrapped to the figure's width (a long
    stack would be cut at the edges); about 11 characters per inch at 11 pt."""
    import textwrap

    ratio = _fmt_ratio(result.interior_ratio)
    verdict = (
        f"verdict: {result.verdict}  (interior min {opt(result.interior_min)}, max "
        f"{opt(result.interior_max)}, ratio {ratio}, period {_x(list(result.period))})"
    )
    if result.verdict_rule != "interior":
        verdict += f"; judged on {RULE_TEXT[result.verdict_rule]}"
    width = max(40, int(width_in * 11))
    return "\n".join(textwrap.fill(line, width) for line in (title(result), verdict))


# ---------------------------------------------------------------- the registry (upscope.present)

present.document.register(OverlapResult)(documents.overlap)


@present.view.register(OverlapResult)
def _view(result: OverlapResult) -> View:
    png = result.pngs[0] if result.pngs else None
    return View(lambda console: show(result, png, console))


@present.figures.register(OverlapResult)
def _figures(result: OverlapResult, out: Path) -> list[Path]:
    """Write the heatmap and profile figure into ``out`` (created if needed)."""
    from upscope.files import prepare_out_dir

    folder = prepare_out_dir(out)
    name = file_name(result, result.repeats)
    result.pngs[:] = [write_png(result, folder / name)]
    return list(result.pngs)
