"""``compare-grid.png`` and ``compare-radial.png``: the crops, errors and zooms of every method,
and each method's radial spectrum against the best interpolation.

matplotlib is imported inside the functions (through :mod:`upscope.render.plots`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from upscope.render.plots import (
    add_axes_in,
    fitted_fontsize,
    fixed_title,
    new_figure,
    panel_rows,
    side_colorbar,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from upscope.compare_result import Comparison, MethodResult

__all__ = [
    "FIGURES",
    "ZOOM",
    "best_interpolation",
    "detail_window",
    "grid_figure",
    "high_pass",
    "radial_figure",
]

#: the files compare writes, in order (torch-free: upscope.compare checks them before the work)
FIGURES = ("compare-grid.png", "compare-spectra.png", "compare-radial.png")

#: the detail crop is a quarter of the zoomed crop's side, drawn as large: a 4x zoom ...
ZOOM = 4
#: ... of at least this many pixels per side (a smaller crop gets a smaller zoom)
DETAIL_MIN = 16
#: the crop's side: min(H, W) / 8 between ZOOM * DETAIL_MIN and this, as the image allows
CROP_MAX = 96


def crop_side(height: int, width: int) -> int:
    """The side of the zoomed crop for an H x W image: min(H, W) / 8, at least
    ``ZOOM * DETAIL_MIN`` (so that the 4x zoom shows 16 pixels per side), at most ``CROP_MAX``
    (:func:`upscope.comparison.zoom_window` then fits it inside the image).

    >>> crop_side(512, 512), crop_side(180, 240), crop_side(1024, 2048)
    (64, 64, 96)
    """
    return int(np.clip(min(height, width) // 8, ZOOM * DETAIL_MIN, CROP_MAX))


def _show_image(ax: Any, pixels: np.ndarray) -> None:
    """Draw (C, H, W) in [0, 1] with square pixels (nearest), grey colour map for 1 channel."""
    from upscope.render.plots import image_panel

    data = np.clip(pixels, 0.0, 1.0)
    if data.shape[0] == 1:
        ax.imshow(data[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(np.moveaxis(data, 0, -1), interpolation="nearest")
    image_panel(ax)


def detail_window(result: Comparison, top: int, left: int, side: int) -> tuple[int, int, int]:
    """(top, left, side) of the detail inside the crop: side/4, but at least ``DETAIL_MIN``
    pixels (or the whole crop), a multiple of S (at least S), where the methods' mean |error| is
    largest, on a grid of step S (so phases line up)."""
    s = result.settings.scale
    small = max(min(DETAIL_MIN, side), side // ZOOM)
    small = max(s, small - small % s)
    err = np.zeros((side, side))
    for r in result.results:
        diff = (
            r.output[:, top : top + side, left : left + side]
            - result.original[:, top : top + side, left : left + side]
        )
        err += np.abs(diff.astype(np.float64)).mean(axis=0)
    integral = np.pad(err.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, where = -1.0, (0, 0)
    for y in range(0, side - small + 1, s):
        for x in range(0, side - small + 1, s):
            total = (
                integral[y + small, x + small]
                - integral[y, x + small]
                - integral[y + small, x]
                + integral[y, x]
            )
            if total > best:
                best, where = float(total), (y, x)
    return top + where[0], left + where[1], small


def high_pass(pixels: np.ndarray, scale: int) -> np.ndarray:
    """The grey image minus its (2S-1) x (2S-1) box mean (edges repeated): what is left is detail
    and any grid of period S, which a box of that size averages away.

    >>> g = high_pass(np.tile([[1.0, 0.0], [0.0, 1.0]], (4, 4))[None], 2)
    >>> bool(abs(g[3, 3] - 4 / 9) < 1e-12), bool(abs(g[3, 4] + 4 / 9) < 1e-12)
    (True, True)
    """
    grey = pixels.astype(np.float64).mean(axis=0)
    r = scale - 1
    padded = np.pad(grey, r, mode="edge")
    integral = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    n = 2 * r + 1
    h, w = grey.shape
    box = (
        integral[n : n + h, n : n + w]
        - integral[:h, n : n + w]
        - integral[n : n + h, :w]
        + integral[:h, :w]
    ) / (n * n)
    return grey - box


#: inches: image panels' side, the gap between columns, the room for a one-line panel title
_IMG, _IMG_GAP, _HEAD = 1.8, 0.25, 0.26


def grid_figure(result: Comparison, best_psnr: str | None) -> Figure:
    """A column per image (the original, the low-res input, then each method), in blocks of at
    most six columns, each block three rows: the zoomed crop; its high-pass (:func:`high_pass`)
    on one shared colour scale, where a grid of period S shows as a regular pattern that the
    original's high-pass lacks; a zoom of the detail (yellow square). Panels at fixed places (no
    layout engine); a two-line title.

    ``best_psnr`` names the method whose title gets the text marker ``* best PSNR``.
    """
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    from upscope.compare_result import zoom_window
    from upscope.render.plots import image_panel, panel_title

    s = result.settings.scale
    _, height, width = result.original.shape
    top, left, side = zoom_window(result, crop_side(height, width))
    d_top, d_left, d_side = detail_window(result, top, left, side)
    zoom = f"{side / d_side:.3g}x zoom"

    def crop(img: np.ndarray, y: int, x: int, n: int, f: int = 1) -> np.ndarray:
        return img[:, y // f : (y + n) // f, x // f : (x + n) // f]

    # the high-pass of the whole image, then cropped: no edge effect inside the crop
    passes = {"original": crop(high_pass(result.original, s)[None], top, left, side)[0]}
    for r in result.results:
        passes[r.method] = crop(high_pass(r.output, s)[None], top, left, side)[0]
    # the scale: the median over the methods of each one's 99th percentile of |high-pass|, so
    # that one very sharp image (the original, nearest) does not fade every grid to white
    tops = [float(np.percentile(np.abs(passes[r.method]), 99)) for r in result.results]
    vmax = max(float(np.median(tops)), 1e-6)
    columns = ["original", "low-res", *(r.method for r in result.results)]
    blocks = panel_rows(len(columns), 6)
    cols = max(len(b) for b in blocks)
    fit = result.settings.fit
    state = f"fitted {fit} steps" if fit else "untrained"
    lines = [
        f"x{s} upsampling of the box-downsampled image (learned methods {state}); crop: rows "
        f"{top}-{top + side - 1}, columns {left}-{left + side - 1}, where the errors concentrate",
        f"high-pass: the grey crop minus its {2 * s - 1}x{2 * s - 1} mean, one colour scale (a "
        f"grid of period {s} shows as a regular pattern); {zoom}: the yellow square; * marks the "
        "best PSNR",
    ]
    fig_w = 0.2 + cols * _IMG + (cols - 1) * _IMG_GAP + 1.1
    size = fitted_fontsize(lines, fig_w - 0.2, 11.0)
    title_h = 2 * 1.25 * size / 72 + 0.16
    heads = [3 * 1.25 * 9 / 72 + 0.06, _HEAD, _HEAD]  # the crop row: name, PSNR, best marker
    block_h = sum(heads) + 3 * _IMG + 0.15
    fig_h = title_h + len(blocks) * block_h + 0.05
    fig = new_figure(fig_w, fig_h, layout=None)
    axes = np.empty((3 * len(blocks), cols), dtype=object)
    for n in range(len(blocks)):
        y = fig_h - title_h - n * block_h
        for k, head in enumerate(heads):
            y -= head + _IMG
            for c in range(cols):
                axes[3 * n + k, c] = add_axes_in(fig, 0.2 + c * (_IMG + _IMG_GAP), y, _IMG, _IMG)
    where = {
        name: (3 * n, col)
        for n, block in enumerate(blocks)
        for col, name in enumerate(columns[i] for i in block)
    }
    for n, block in enumerate(blocks):
        for ax in axes[3 * n : 3 * n + 3, len(block) :].ravel():
            ax.axis("off")
    by_name = {r.method: r for r in result.results}
    diverging = colormaps["RdBu_r"]  # one colour map for the high-pass row: its table made once
    image = None
    pass_axes = []
    for name, (row, col) in where.items():
        a_crop, a_pass, a_zoom = axes[row, col], axes[row + 1, col], axes[row + 2, col]
        if name == "low-res":
            _show_image(a_crop, crop(result.low, top, left, side, s))
            panel_title(a_crop, f"low-res input (box /{s})", 9)
            _show_image(a_pass, result.original)
            a_pass.add_patch(
                Rectangle(
                    (left - 0.5, top - 0.5), side, side, fill=False, edgecolor="red", linewidth=1.2
                )
            )
            panel_title(a_pass, f"whole {width}x{height} (red: crop)", 9)
            _show_image(a_zoom, crop(result.low, d_top, d_left, d_side, s))
            panel_title(a_zoom, f"low-res, {zoom}", 9)
            continue
        pixels = result.original if name == "original" else by_name[name].output
        _show_image(a_crop, crop(pixels, top, left, side))
        if name == "original":
            a_crop.add_patch(
                Rectangle(
                    (d_left - left - 0.5, d_top - top - 0.5),
                    d_side,
                    d_side,
                    fill=False,
                    edgecolor="yellow",
                    linewidth=1.2,
                )
            )
            panel_title(a_crop, f"original, {side}x{side} crop", 9)
        else:
            mark = "\n* best PSNR" if name == best_psnr else ""
            panel_title(a_crop, f"{name}\nPSNR {by_name[name].psnr:.2f} dB{mark}", 9)
        image = a_pass.imshow(
            passes[name], cmap=diverging, vmin=-vmax, vmax=vmax, interpolation="nearest"
        )
        image_panel(a_pass)
        panel_title(a_pass, f"high-pass, {name}" if name == "original" else "high-pass", 9)
        pass_axes.append(a_pass)
        _show_image(a_zoom, crop(pixels, d_top, d_left, d_side))
        panel_title(a_zoom, f"{zoom} ({d_side}x{d_side})", 9)
    if image is not None:
        bar = side_colorbar(
            fig, image, list(axes[:, -1]), pad=0.12, width=0.14, shrink=0.5
        )  # beside the last column, as tall as half the blocks
        bar.set_label("high-pass (grey level)", fontsize=9)
        bar.ax.tick_params(labelsize=8)
    fixed_title(fig, "\n".join(lines), size)
    return fig


def best_interpolation(results: list[MethodResult]) -> MethodResult | None:
    """The fixed (parameter-free) method with the highest PSNR, the reference for the others."""
    fixed = [r for r in results if not r.learned and np.isfinite(r.psnr)]
    return max(fixed, key=lambda r: r.psnr) if fixed else None


def radial_figure(result: Comparison) -> Figure:
    """Small multiples: one panel per method, its radial spectrum minus the original's in dB
    (20 log10 |F|), with the best interpolation's curve in grey behind it; each panel its own y
    scale, from the 1st percentile of its two curves to their maximum (an exact zero of |F| would
    squash everything else). Panels at fixed places (no layout engine); a two-line title."""
    from upscope.quality import radial_profile
    from upscope.render.plots import panel_title

    s = result.settings.scale
    ref = radial_profile(result.original)
    keep = ref.frequency > 0
    freq = ref.frequency[keep]
    # radial_profile gives Durall et al.'s 20 ln|F|; 20 log10|F| = 20 ln|F| / ln 10
    to_db = 1.0 / np.log(10.0)
    diffs = {
        r.method: (radial_profile(r.output).value[keep] - ref.value[keep]) * to_db
        for r in result.results
    }
    base = best_interpolation(result.results)
    n = len(result.results)
    cols = min(3, n)
    rows = -(-n // cols)
    panel_w, panel_h, gap_w, gap_h, left = 3.55, 2.2, 0.45, 0.5, 0.85
    fig_w = left + cols * panel_w + (cols - 1) * gap_w + 0.15
    grey = f"grey: {base.method} (best interpolation by PSNR); " if base is not None else ""
    lines = [
        "Radial spectrum of each output minus the original's, in dB (20 log10 |F|, centred FFT "
        "of the grey image, mean over rings; Durall et al. 2020)",
        f"0 = the original; below: detail lost; above: energy invented. {grey}dashed: the "
        f"input's Nyquist 1/{2 * s}; each panel its own y scale",
    ]
    size = fitted_fontsize(lines, fig_w - 0.2, 10.0)
    top = 2 * 1.25 * size / 72 + 0.15 + 0.3
    fig_h = top + rows * panel_h + (rows - 1) * gap_h + 0.55
    fig = new_figure(fig_w, fig_h, layout=None)
    axes = [
        add_axes_in(
            fig,
            left + (k % cols) * (panel_w + gap_w),
            fig_h - top - panel_h - (k // cols) * (panel_h + gap_h),
            panel_w,
            panel_h,
        )
        for k in range(n)  # the last row's empty places get no axes
    ]
    for k, (ax, r) in enumerate(zip(axes, result.results, strict=True)):
        ax.axhline(0.0, color="black", linewidth=1.0)
        ax.axvline(0.5 / s, color="grey", linestyle="--", linewidth=0.8)
        curves = [diffs[r.method]]
        if base is not None and r.method != base.method:
            ax.plot(freq, diffs[base.method], color="grey", linewidth=1.0, label=base.method)
            curves.append(diffs[base.method])
        colour = "tab:blue" if r.learned else "tab:green"
        ax.plot(freq, diffs[r.method], color=colour, linewidth=1.3, label=r.method)
        values = np.concatenate(curves)
        low, high = min(float(np.percentile(values, 1)), 0.0), max(float(values.max()), 0.0)
        margin = 0.05 * (high - low) or 1.0
        ax.set_ylim(low - margin, high + margin)
        ax.set_xlim(0.0, float(freq.max()) * 1.02)
        ax.grid(True, alpha=0.3)
        kind = "learned" if r.learned else "fixed"
        panel_title(ax, f"{r.method} ({kind}), PSNR {r.psnr:.2f} dB", 10)
        if values.min() < low - margin:  # in the corner: the title has no room left
            ax.text(
                0.98,
                0.03,
                "a curve leaves below",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
            )
        ax.legend(fontsize=8, loc="lower left")
        ax.tick_params(labelsize=8)
        if k % cols == 0:
            ax.set_ylabel("minus original (dB)", fontsize=9)
        if k + cols >= n:
            ax.set_xlabel("radial frequency (cycles/px)", fontsize=9)
        else:
            ax.tick_params(labelbottom=False)
    fixed_title(fig, "\n".join(lines), size)
    return fig
