"""What ``compare`` returns on an image (:class:`Comparison`, one :class:`MethodResult` per
method, the :class:`Settings` it ran with) and what its presentation reads from it
(:func:`sort_results`, :func:`zoom_window`, :func:`spectra`), torch-free:
:mod:`upscope.comparison` computes them, and a process that only presents a finished result (a
pickled one, drawn elsewhere) imports this module, never torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from upscope import quality, zoo
from upscope.errors import UpscopeError
from upscope.images import ALPHA_NONE
from upscope.result import Brief, Result

__all__ = [
    "HIGHER_IS_BETTER",
    "METRIC_KEYS",
    "Comparison",
    "MethodResult",
    "Settings",
    "sort_results",
    "spectra",
    "zoom_window",
]

DEFAULT_FIT = 200
DEFAULT_WIDTH = 16
BATCH = 8
PATCH_OUT = 48
LEARNING_RATE = 1e-2

METRIC_KEYS = ("psnr", "ssim", "checkerboard", "checkerboard_error", "spectral_peak_db", "seconds")
HIGHER_IS_BETTER = {"psnr": True, "ssim": True}


@dataclass(frozen=True, repr=False)
class Settings(Brief):
    scale: int = 2
    methods: tuple[str, ...] = zoo.NAMES
    fit: int = DEFAULT_FIT
    seed: int = 0
    device: str = "cpu"
    width: int = DEFAULT_WIDTH
    batch: int = BATCH
    patch: int = PATCH_OUT
    lr: float = LEARNING_RATE


@dataclass(repr=False)
class MethodResult(Brief):
    """One method's output (C, H, W) in [0, 1] and its scores."""

    method: str
    learned: bool
    params: int
    output: np.ndarray
    psnr: float
    ssim: float
    checkerboard: float
    checkerboard_error: float
    spectral_peak_db: float
    seconds: float
    final_loss: float | None = None

    _brief = ("method", "psnr", "ssim", "checkerboard", "spectral_peak_db", "seconds", "output")

    def metric(self, key: str) -> float:
        return float(getattr(self, key))


@dataclass(repr=False)
class Comparison(Result):
    """What :func:`upscope.compare` returns: ``original`` (C, H, W) cropped to a multiple of
    the scale, ``low`` its box average, one :class:`MethodResult` per method.

    How reports name the image (``image``), its size before cropping, Pillow mode and alpha
    handling, the torch threads used and the table's sort key describe the run; ``path`` is the
    file read, if any (never overwritten by :meth:`save_png`); ``pngs``: what the last
    :meth:`save_png` wrote.
    """

    original: np.ndarray
    low: np.ndarray
    settings: Settings
    results: list[MethodResult] = field(default_factory=list)
    image: str = ""
    original_size: tuple[int, int] = (0, 0)
    mode: str = ""
    alpha: str = ALPHA_NONE
    threads: int = 1
    sort: str = "psnr"
    path: Path | None = None
    pngs: list[Path] = field(default_factory=list, repr=False)

    _brief = (
        "image",
        "size=original_size",
        "scale=settings.scale",
        "fit=settings.fit",
        "methods=settings.methods",
    )

    def result(self, method: str) -> MethodResult:
        """The scores of ``method``."""
        for r in self.results:
            if r.method == method:
                return r
        raise KeyError(method)


def sort_results(
    results: Sequence[MethodResult], key: str, descending: bool | None = None
) -> list[MethodResult]:
    """Best first: descending for PSNR/SSIM, ascending for the others; ``method`` A-Z."""
    if key == "method":
        return sorted(results, key=lambda r: r.method)
    if key not in METRIC_KEYS:
        choices = ", ".join(("method", *METRIC_KEYS))
        raise UpscopeError(f"cannot sort by {key!r}; choose one of {choices}")
    desc = HIGHER_IS_BETTER.get(key, False) if descending is None else descending

    def value(r: MethodResult) -> float:
        v = r.metric(key)
        return -np.inf if np.isnan(v) else (v if desc else -v)

    return sorted(results, key=value, reverse=True)


def zoom_window(comparison: Comparison, side: int | None = None) -> tuple[int, int, int]:
    """(top, left, side) of the zoomed crop shown for every method.

    Each method's squared-error map (summed over channels) is divided by its own total, so every
    method votes equally (an untrained network's large errors do not outvote the others); the
    window of ``side`` x ``side`` pixels (default min(H, W) / 8, between 16 and 96, a multiple of
    S) with the largest summed vote wins, searched on a grid of step S away from a border of 2S
    pixels. That is where most methods miss detail, so where their artifacts differ most.
    """
    s = comparison.settings.scale
    _, height, width = comparison.original.shape
    if side is None:
        side = int(np.clip(min(height, width) // 8, 16, 96))
    side = max(s, side - side % s)
    border = 2 * s if min(height, width) >= side + 4 * s else 0
    side = min(side, height - 2 * border, width - 2 * border)
    vote = np.zeros((height, width))
    for r in comparison.results:
        err = ((r.output.astype(np.float64) - comparison.original) ** 2).sum(axis=0)
        total = err.sum()
        if total > 0:
            vote += err / total
    integral = np.pad(vote.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, where = -1.0, (border, border)
    for top in range(border, height - border - side + 1, s):
        bottom = top + side
        rows = integral[bottom] - integral[top]
        lefts = np.arange(border, width - border - side + 1, s)
        sums = rows[lefts + side] - rows[lefts]
        k = int(np.argmax(sums))
        if sums[k] > best:
            best, where = float(sums[k]), (top, int(lefts[k]))
    return where[0], where[1], side


def spectra(comparison: Comparison) -> dict[str, np.ndarray]:
    """Centred log power spectrum (dB) of the original and of each method's output."""
    out = {"original": quality.log_power_spectrum(comparison.original)}
    for r in comparison.results:
        out[r.method] = quality.log_power_spectrum(r.output)
    return out
