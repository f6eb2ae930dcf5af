"""The PNG of one flagged op of ``upscope scan``: overlap map, per-channel imbalance, worst channel.

Every number written on the figure comes from the finding (:mod:`upscope.scanning.judge`) or the
overlap core's result for the drawn map; this module only lays them out. Panels, left to right:

1. transposed convs: the compound overlap-count map of the chain ending at this op, titled with
   the chain and with the interior max/min of that map (not of the layer alone);
2. more than one output channel: the weight imbalance of every output channel as bars, their mean
   (the figure title's number) as a dashed line, the worst channel in red;
3. the worst channel's polyphase sums (over its inputs) divided by their mean |sum|, with the
   channel's imbalance (per input channel, relative to the kernel's scale) in the title.

A 1D op (audio) draws its overlap counts and phase sums as bars, one per output sample or phase.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from upscope.arith import cell_word
from upscope.overlap_map import OverlapResult
from upscope.render.plots import (
    add_axes_in,
    figure_text,
    fixed_title,
    new_figure,
    side_colorbar,
    text_height,
)
from upscope.scanning.judge import Finding

__all__ = [
    "BALANCED",
    "CELL_LIMIT",
    "balanced",
    "chain_text",
    "draw",
    "overlap_stats",
    "verdict_line",
]

CELL_LIMIT = 16  # write the numbers in the cells of maps up to this many cells per side
BALANCED = 1e-5  # an imbalance this small is float32 rounding of equal sums
_CHAIN_WIDTH = 48  # a longer chain is written first -> ... -> last


def _as_2d(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 1:
        return arr[np.newaxis, :]
    if arr.ndim == 3:
        return arr[arr.shape[0] // 2]
    return arr


# ---------------------------------------------------------------- the words


def chain_text(chain: list[str]) -> str:
    """``"up2 -> up1"``; a long chain keeps its ends: ``"a -> ... -> z (7 layers)"``."""
    names = [figure_text(name, _CHAIN_WIDTH // 2) for name in chain]
    text = " -> ".join(names)
    if len(text) > _CHAIN_WIDTH:
        text = f"{names[0]} -> ... -> {names[-1]} ({len(chain)} layers)"
    return text


def overlap_stats(result: OverlapResult) -> str:
    """The interior of the drawn map in words, from the overlap core's numbers for that map."""
    low, high = result.interior_min, result.interior_max
    cell = cell_word(result.map.ndim)
    if not result.has_interior or low is None or high is None:
        size = "x".join(map(str, result.input_size))
        other = "x".join(map(str, result.verdict_input))
        return (
            f"no interior on this {size} input (no {cell} gets all taps);\n"
            f"verdict on input {other}: {result.verdict}"
        )
    if low == 0:
        return f"interior min 0 (holes), max {high}: {result.verdict}"
    if low == high:
        return f"interior: every {cell} {low} ({result.verdict})"
    ratio = result.interior_ratio
    shown = f"{high}/{low}" if ratio is None else f"{high}/{low} = {ratio:g}"
    return f"interior max/min {shown}: {result.verdict}"


def verdict_line(finding: Finding, threshold: float) -> str:
    """The figure title's second line: the op's own overlap verdict and mean weight imbalance."""
    op = finding.op
    parts = []
    if op.kind == "convT":
        if finding.verdict == "checkerboard":
            ratio = finding.interior_ratio
            shown = "?" if ratio is None else f"{ratio:g}"
            parts.append(f"this layer alone: uneven overlap (interior max/min {shown})")
        elif finding.verdict == "holes":
            parts.append("this layer alone: holes (some output phases get no kernel tap)")
        else:
            parts.append("this layer alone: even overlap")
    else:
        parts.append("no overlap (pixel shuffle)")
    mean = finding.imbalance_mean
    assert finding.imbalance is not None
    channels = finding.imbalance.shape[0]
    if mean is None:
        parts.append("weight imbalance undefined (every polyphase sum is 0)")
    else:
        over = f"mean over {channels} output channels" if channels > 1 else "its one output channel"
        sign = ">" if mean > threshold else "<="
        parts.append(f"weight imbalance {mean:.2f} ({over}) {sign} {threshold:g}")
    measured = finding.response.get("constant")
    if measured is not None:
        parts.append(f"response {measured:.2f}")
    if finding.output_grid is not None:
        parts.append(f"output grid {finding.output_grid:.2f} grey levels")
    return "; ".join(parts) + f": {finding.status}"


def balanced(finding: Finding) -> bool:
    """Every channel's polyphase sums are equal (imbalance 0 up to float rounding)."""
    top = finding.imbalance_worst
    return top is not None and top <= BALANCED


# ---------------------------------------------------------------- the panels


def _bars(ax: Any, positions: Any, heights: Any, width: float, colours: Any) -> None:
    """Vertical bars from 0, centred on ``positions``, drawn as ``ax.bar`` draws them (filled,
    no edge, antialiased, snapped to whole pixels, in order, below the lines) but as one
    ``PolyCollection``: ``ax.bar`` makes a ``Rectangle`` per bar, and the DCGAN's 256 were a
    fifth of its figure's time. The same pixels (``tests/test_figures_cheap.py`` draws both)."""
    from matplotlib.collections import PolyCollection

    x = np.asarray(positions, dtype=float)
    top = np.asarray(heights, dtype=float)
    left, right, bottom = x - width / 2, x + width / 2, np.zeros_like(x)
    # each bar as Rectangle's path: (x0, 0), (x1, 0), (x1, h), (x0, h), closed
    corners = [(left, bottom), (right, bottom), (right, top), (left, top)]
    verts = np.stack([np.stack(corner, axis=-1) for corner in corners], axis=1)
    # no edge, line width 0: how a bar without an edge colour is drawn
    bars = PolyCollection(
        list(verts), closed=True, facecolors=colours, edgecolors="none", linewidths=0
    )
    bars.sticky_edges.y.append(0.0)  # as each bar's: an autoscaled y axis starts at 0
    ax.add_collection(bars, autolim=True)
    ax.autoscale_view()  # as ax.bar does (before matplotlib 3.11 autolim set the data limits only)


def _heatmap(
    bars: list[Any],
    ax: Any,
    values: np.ndarray,
    title: str,
    origin: list[int],
    label: str,
) -> None:
    """An integer map (overlap counts) with a labelled colorbar and the counts in small maps.

    A constant map is drawn in one colour, its colorbar a single swatch with its one value as
    the only tick, and one note in the middle instead of the same number in every cell.
    """
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap
    from matplotlib.ticker import MaxNLocator

    from upscope.render.plots import cell_labels, panel_title

    grid = _as_2d(values)
    low, high = int(np.min(grid)), int(np.max(grid))
    flat = low == high
    if flat:
        cmap: Any = ListedColormap([colormaps["viridis"](0.5)])
        vmin, vmax = low - 0.5, low + 0.5
    else:
        cmap, vmin, vmax = "viridis", low, high
    image = ax.imshow(
        grid, cmap=cmap, interpolation="nearest", aspect="equal", vmin=vmin, vmax=vmax
    )
    ticks = [low] if flat else MaxNLocator(integer=True)
    bars.append((image, ax, {"label": label, "ticks": ticks}))
    panel_title(ax, title, 10)
    if flat:
        ax.text(
            0.5,
            0.5,
            f"constant: every pixel {low}",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=12,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
        )
    elif max(grid.shape) <= CELL_LIMIT:
        middle = (low + high) / 2
        digits = len(str(max(abs(low), abs(high))))
        size = 8 if digits <= 2 else 7 if digits == 3 else 6
        cells = [(col, row, str(int(value)), "white" if value < middle else "black")
                 for (row, col), value in np.ndenumerate(grid)]  # fmt: skip
        cell_labels(ax, cells, fontsize=size)
    row0, col0 = (0, origin[0]) if len(origin) == 1 else (origin[0], origin[1])
    if grid.shape[1] <= CELL_LIMIT:
        ax.set_xticks(range(grid.shape[1]), [str(col0 + i) for i in range(grid.shape[1])])
    if values.ndim == 1:
        ax.set_yticks([])
    elif grid.shape[0] <= CELL_LIMIT:
        ax.set_yticks(range(grid.shape[0]), [str(row0 + i) for i in range(grid.shape[0])])


def _overlap_panel(bars: list[Any], ax: Any, finding: Finding, result: OverlapResult) -> None:
    """The compound overlap map of the chain ending at this op (or of this layer alone)."""
    if len(finding.chain) > 1:
        title = f"compound overlap of {chain_text(finding.chain)}"
    else:
        title = "overlap of this layer alone"
    title += f"\n{overlap_stats(result)}"
    overlap = result.map
    if overlap.ndim == 3:
        depth, index = overlap.shape[0], overlap.shape[0] // 2
        if overlap[index].max() == 0:  # a slice of holes: show one that receives taps
            index = int(np.argmax(overlap.reshape(depth, -1).max(axis=1)))
        overlap = overlap[index]
        title += f"\n(slice {index} of {depth} along the first axis)"
    full = "x".join(map(str, overlap.shape))
    # an ONNX graph may leave the input size open: the map is then of a stand-in input
    stand_in = finding.op.spatial_in is None
    unknown = f"input size unknown: a {'x'.join(map(str, finding.chain_input))} stand-in"
    starts = [0] * overlap.ndim
    if max(overlap.shape) > CELL_LIMIT:
        starts = [max(0, (n - CELL_LIMIT) // 2) for n in overlap.shape]
        overlap = overlap[tuple(slice(a, a + CELL_LIMIT) for a in starts)]
        where = ", ".join(f"{a}:{a + n}" for a, n in zip(starts, overlap.shape, strict=True))
        title += f"\nshown: the middle window [{where}] of the {full} map"
        if stand_in:
            title += f" ({unknown})"
    elif stand_in:
        title += f"\n({unknown})"
    if overlap.ndim == 1:  # audio: counts per output sample as bars, not a one-row map
        _count_bars(ax, overlap, title, starts[0])
        return
    _heatmap(bars, ax, overlap, title, starts[-2:], "contributions per output pixel")
    ax.set_xlabel("output column" if overlap.ndim > 1 else "output position")
    ax.set_ylabel("output row" if overlap.ndim > 1 else "")


def _count_bars(ax: Any, counts: np.ndarray, title: str, start: int) -> None:
    """A 1D overlap-count map: one bar per output sample, the count written on each bar."""
    from matplotlib.ticker import MaxNLocator

    from upscope.render.plots import panel_title

    positions = np.arange(start, start + counts.size)
    _bars(ax, positions, counts, 0.8, "tab:blue")
    for x, value in zip(positions, counts, strict=True):
        ax.text(x, value, str(int(value)), ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 1.25 * max(int(counts.max()), 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))  # 4-digit positions fit
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    panel_title(ax, title, 10)
    ax.set_xlabel("output sample")
    ax.set_ylabel("contributions per output sample")


def _phase_bars(ax: Any, values: np.ndarray, title: str, label: str, what: str) -> None:
    """1D polyphase values: one bar per phase (red above 0, blue below), values written."""
    from upscope.render.plots import panel_title

    colours = ["tab:red" if v >= 0 else "tab:blue" for v in values]
    _bars(ax, range(values.size), values, 0.7, colours)
    for b, value in enumerate(values):
        ax.text(
            b, value, f"{value:.3g}", ha="center", va="bottom" if value >= 0 else "top", fontsize=9
        )
    top = float(np.max(np.abs(values))) or 1.0
    low = -1.25 * top if float(values.min()) < 0 else 0.0
    ax.set_ylim(low, 1.25 * top)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xticks(range(values.size))
    panel_title(ax, title, 10)
    ax.set_xlabel(label)
    ax.set_ylabel(what)


def _imbalance_panel(ax: Any, finding: Finding, threshold: float, unit: str) -> None:
    """The imbalance of every output channel; the mean dashed, the worst channel red."""
    from matplotlib.ticker import MaxNLocator

    from upscope.render.plots import panel_title

    assert finding.imbalance is not None
    values = finding.imbalance
    channels = values.shape[0]
    index, mean = finding.worst_channel, finding.imbalance_mean
    assert index is not None and mean is not None
    colours = ["tab:red" if c == index else "tab:gray" for c in range(channels)]
    _bars(ax, range(channels), np.nan_to_num(values), 1.0 if channels > 32 else 0.8, colours)
    top = float(values[index])
    ax.plot([index], [top], "v", color="tab:red", markersize=7, label=f"worst: channel {index}")
    ax.axhline(mean, ls="--", color="black", lw=1.2, label=f"mean {mean:.2f}")
    ax.axhline(
        threshold, ls=":", color="tab:green", lw=1.5, label=f"weights threshold {threshold:g}"
    )
    ax.set_ylim(0, 1.3 * max(top, threshold) or 1.0)
    ax.set_xlim(-0.6, channels - 0.4)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper right", fontsize=8, ncol=3)
    missing = int(np.isnan(values).sum())
    left_out = f"; {missing} with all sums 0 left out" if missing else ""
    panel_title(
        ax,
        f"weight imbalance of each of the {channels} output channels{left_out}\n"
        f"mean {mean:.2f} (dashed), worst {top:.2f} (red: channel {index})",
        10,
    )
    ax.set_xlabel("output channel")
    ax.set_ylabel("phase-sum spread / kernel scale")


def _phase_panel(
    bars: list[Any], ax: Any, values: np.ndarray, title: str, labels: tuple[str, str], what: str
) -> None:
    """Polyphase values as a small diverging heatmap with the values written in the cells."""
    from upscope.render.plots import panel_title

    if values.ndim == 1:  # audio: one value per phase, as bars
        _phase_bars(ax, values, title, labels[0], what)
        return
    limit = float(np.max(np.abs(values))) or 1.0
    rows = [str(a) for a in range(values.shape[0])] if values.ndim > 1 else ["0"]
    if values.ndim == 3:  # phases (a0, a1, b): one row per (a0, a1)
        rows = [f"{a0},{a1}" for a0, a1 in np.ndindex(*values.shape[:2])]
        grid = values.reshape(-1, values.shape[-1])
    else:
        grid = _as_2d(values)
    image = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    bars.append((image, ax, {"label": what}))
    panel_title(ax, title, 10)
    for (row, col), value in np.ndenumerate(grid):
        colour = "white" if abs(value) > 0.6 * limit else "black"
        ax.text(
            col,
            row,
            f"{value:.3g}",
            ha="center",
            va="center",
            fontsize=9,
            c=colour,
            in_layout=False,
        )
    ax.set_xticks(range(grid.shape[1]))
    ax.set_yticks(range(grid.shape[0]), rows if values.ndim > 1 else [""])
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1] if values.ndim > 1 else "")


def _phase_words(finding: Finding) -> tuple[tuple[str, str], str, str]:
    """Axis labels of the phase panel, what one value is, and its short name for |.|."""
    op = finding.op
    if op.kind == "convT":
        labels = ("sub-kernel b (column taps j with j*D mod S = b)", "sub-kernel a (row taps)")
        if op.ndim == 1:
            labels = ("sub-kernel b (taps j with j*D mod S = b)", "")
        elif op.ndim == 3:
            labels = (labels[0], "sub-kernel a0,a1 (depth, row taps)")
        return labels, "polyphase sums", "sum"
    r = op.params["upscale_factor"]
    labels = ("phase b (output column mod r)", "phase a (output row mod r)")
    plus = " + bias" if finding.with_bias else ""
    channel = f"(c*{r * r}+a*{r}+b)"
    if op.params.get("mode") == "DCR":  # ONNX DepthToSpace: depth-column-row channel order
        channel = f"((a*{r}+b)*C'+c)"
    return labels, f"weight sums{plus} of conv channels {channel}", "value"


def _worst_panel(bars: list[Any], ax: Any, finding: Finding) -> None:
    """The worst channel's polyphase values / their mean |value|, and its imbalance."""
    labels, what, unit = _phase_words(finding)
    assert finding.imbalance is not None and finding.phase_sums is not None
    channels = finding.imbalance.shape[0]
    index = finding.worst_channel
    if index is None:
        title = f"output channel 0: {what}\nevery one is 0 (no imbalance defined)"
        _phase_panel(bars, ax, finding.phase_sums[0], title, labels, what)
        return
    if balanced(finding):
        values, scale = finding.normalised_sums(0)
        every = f"all {channels} channels" if channels > 1 else "its one channel"
        title = (
            f"output channel 0: {what},\neach divided by their mean |{unit}| {scale:.3g}\n"
            f"balanced: in {every} every phase is equal (imbalance 0)"
        )
        _phase_panel(bars, ax, values, title, labels, f"{unit} / mean |{unit}| of channel 0")
        return
    values, scale = finding.normalised_sums(index)
    high, low = float(values.max()), float(values.min())
    which = "the worst" if channels > 1 else "the only one"
    title = (
        f"output channel {index} ({which}):\n{what},\neach divided by their mean |{unit}| "
        f"{scale:.3g}\n"
        f"max - min = {high - low:.3g}; imbalance {finding.imbalance[index]:.2f}"
    )
    _phase_panel(bars, ax, values, title, labels, f"{unit} / mean |{unit}| of channel {index}")


#: inches of each panel's slot: room left of the axes (tick labels, y label), right of it (a
#: colorbar with its ticks and label, or the gap to the next panel), below it (ticks, x label)
_SLOT, _LEFT, _RIGHT, _BOTTOM = 6.2, 0.85, 1.15, 0.62


def draw(finding: Finding, threshold: float, description: str) -> Any:
    """The figure of one flagged op; ``description`` (type and parameters) goes in its title.

    A fixed layout (no layout engine): each panel a slot of ``_SLOT`` inches, the top margin
    measured from the longest panel title and the figure title."""
    op = finding.op
    assert finding.phase_sums is not None and finding.imbalance is not None
    result = finding.compound()
    bars = (
        finding.imbalance.shape[0] > 1
        and finding.worst_channel is not None
        and not balanced(finding)
    )
    panels = (result is not None) + bars + 1
    width, height = max(_SLOT * panels, 8.0), 4.4 if op.ndim == 1 else 5.6
    fig = new_figure(width, height, layout=None)
    slot = width / panels
    axes = [add_axes_in(fig, n * slot + _LEFT, _BOTTOM, slot - _LEFT - _RIGHT, 1.0)
            for n in range(panels)]  # fmt: skip
    colorbars: list[Any] = []
    if result is not None:
        _overlap_panel(colorbars, axes[0], finding, result)
    if bars:
        _imbalance_panel(axes[-2], finding, threshold, _phase_words(finding)[2])
    _worst_panel(colorbars, axes[-1], finding)
    source = ""
    if op.kind == "pixelshuffle" and op.feeding_conv is not None:
        plus = " + bias" if finding.with_bias else ""
        conv = figure_text(op.feeding_conv[0])
        source = f", weight sums{plus} of the conv {conv} feeding it"
    title = f"{figure_text(op.name)} ({description}{source})\n{verdict_line(finding, threshold)}"
    lines = max(ax.get_title().count("\n") + 1 for ax in axes)
    top = 0.08 + text_height(title, 11) + 0.06 + lines * 1.25 * 10 / 72 + 0.1
    for n, ax in enumerate(axes):
        box = (n * slot + _LEFT, _BOTTOM, slot - _LEFT - _RIGHT, height - top - _BOTTOM)
        ax.set_position((box[0] / width, box[1] / height, box[2] / width, box[3] / height))
    for image, ax, kwargs in colorbars:
        side_colorbar(fig, image, [ax], pad=0.15, width=0.18, shrink=0.8, **kwargs)
    fixed_title(fig, title, 11)
    return fig
