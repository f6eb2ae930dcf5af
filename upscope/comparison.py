"""``compare``: an image -> its box-downsampled version -> every upsampler -> metrics.

The original (cropped to a multiple of S) is the ground truth; the low-resolution input is its
S x S box average. Parameter-free methods upsample it as they are. A learned method is wrapped in
a small linear network, ``conv 3x3 (C_img -> W)``, the upsampler at W channels, ``conv 3x3
(W -> C_img)``, trained with Adam for ``fit`` steps on random crops of this very image to
reconstruct the original from its box average (``fit = 0``: untrained, PyTorch's default
initialisation). Every method gets the same seed, so the same initial head/tail draws and the
same training crops, whatever ``--methods`` lists.

Nothing here prints; progress goes through an optional callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from upscope import limits, metrics, quality, upsamplers
from upscope.errors import UpscopeError
from upscope.images import ALPHA_NONE, box_downsample, check_size
from upscope.result import Brief, Result

DEFAULT_FIT = 200
DEFAULT_WIDTH = 16
BATCH = 8
PATCH_OUT = 48
LEARNING_RATE = 1e-2

#: ``progress(method, steps_done, steps_total)``: called after every training step.
Progress = Callable[[str, int, int], None]

METRIC_KEYS = ("psnr", "ssim", "checkerboard", "checkerboard_error", "spectral_peak_db", "seconds")
HIGHER_IS_BETTER = {"psnr": True, "ssim": True}


@dataclass(frozen=True, repr=False)
class Settings(Brief):
    scale: int = 2
    methods: tuple[str, ...] = upsamplers.NAMES
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


def resolve_device(name: str) -> str:
    """``auto`` -> cuda when available else cpu; ``cuda`` without CUDA is an UpscopeError."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        build = "built without CUDA" if torch.version.cuda is None else "found no CUDA device"
        raise UpscopeError(
            f"--device cuda: this torch {torch.__version__} {build}; use --device cpu or auto"
        )
    if name not in ("cpu", "cuda"):
        raise UpscopeError(f"--device must be auto, cpu or cuda, got {name!r}")
    return name


class FitNet(nn.Module):
    """conv 3x3 (C -> W), the upsampler at W channels, conv 3x3 (W -> C): linear, no activation."""

    def __init__(self, method: str, channels: int, width: int, scale: int) -> None:
        super().__init__()
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.up = upsamplers.create(method, width, scale)
        self.tail = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.up(self.head(x - 0.5))) + 0.5


def _patch_low(settings: Settings, low_shape: tuple[int, int]) -> int:
    side = max(4, settings.patch // settings.scale)
    return min(side, *low_shape)


def _train(
    net: nn.Module,
    low: torch.Tensor,
    target: torch.Tensor,
    settings: Settings,
    on_step: Callable[[int], None],
) -> float | None:
    """Adam on MSE over random aligned crops; returns the last batch's loss (None if no steps)."""
    if settings.fit <= 0:
        return None
    s = settings.scale
    _, _, h, w = low.shape
    p = _patch_low(settings, (h, w))
    gen = torch.Generator().manual_seed(settings.seed)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.fit)
    loss_value = None
    net.train()
    for step in range(settings.fit):
        ys = torch.randint(0, h - p + 1, (settings.batch,), generator=gen).tolist()
        xs = torch.randint(0, w - p + 1, (settings.batch,), generator=gen).tolist()
        x_batch = torch.cat([low[:, :, y : y + p, x : x + p] for y, x in zip(ys, xs, strict=True)])
        y_batch = torch.cat(
            [
                target[:, :, s * y : s * (y + p), s * x : s * (x + p)]
                for y, x in zip(ys, xs, strict=True)
            ]
        )
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((net(x_batch) - y_batch) ** 2)
        loss.backward()
        opt.step()
        sched.step()
        loss_value = float(loss.detach())
        on_step(step + 1)
    net.eval()
    return loss_value


def _scores(output: np.ndarray, original: np.ndarray, scale: int) -> dict[str, float]:
    error = output - original
    return {
        "psnr": quality.psnr(output, original),
        "ssim": quality.ssim(output, original),
        "checkerboard": metrics.phase_imbalance(output, scale),
        "checkerboard_error": metrics.phase_imbalance(error, scale),
        "spectral_peak_db": metrics.spectral_peak_db(output, scale),
    }


def run_method(
    method: str,
    original: np.ndarray,
    low: np.ndarray,
    settings: Settings,
    progress: Progress | None = None,
) -> MethodResult:
    """Upsample ``low`` with ``method`` (fitting it first if it has weights) and score it."""
    device = torch.device(settings.device)
    channels = original.shape[0]
    learned = upsamplers.is_learned(method)
    low_t = torch.from_numpy(np.ascontiguousarray(low))[None].to(device)
    start = time.perf_counter()
    final_loss = None
    if learned:
        torch.manual_seed(settings.seed)
        net: nn.Module = FitNet(method, channels, settings.width, settings.scale).to(device)
        target = torch.from_numpy(np.ascontiguousarray(original))[None].to(device)
        total = settings.fit

        def on_step(done: int) -> None:
            if progress is not None:
                progress(method, done, total)

        final_loss = _train(net, low_t, target, settings, on_step)
    else:
        net = upsamplers.create(method, channels, settings.scale).to(device)
    with torch.inference_mode():
        out_t = net(low_t)
    if device.type == "cuda":
        torch.cuda.synchronize()
    output = out_t[0].float().cpu().numpy().clip(0.0, 1.0)
    seconds = time.perf_counter() - start
    if output.shape != original.shape:  # pragma: no cover - the zoo guarantees exact x S
        raise RuntimeError(f"{method} returned {output.shape}, expected {original.shape}")
    params = sum(p.numel() for p in net.parameters())
    return MethodResult(
        method=method,
        learned=learned,
        params=int(params),
        output=output,
        seconds=seconds,
        final_loss=final_loss,
        **_scores(output, original, settings.scale),
    )


def compare(
    original: np.ndarray, settings: Settings, progress: Progress | None = None
) -> Comparison:
    """Run every method of ``settings.methods`` on ``original`` (C, H, W), H and W multiples
    of the scale; the results keep the order of ``settings.methods``."""
    check_size(original, settings.scale)
    channels, height, width = original.shape
    learned = any(upsamplers.is_learned(name) for name in settings.methods)
    net_width = settings.width if learned else 0
    need = limits.compare_bytes(channels, height, width, len(settings.methods), net_width)
    limits.check_memory(need, f"compare on a {width}x{height} image")
    low = box_downsample(original, settings.scale)
    result = Comparison(original=original, low=low, settings=settings)
    for method in settings.methods:
        result.results.append(run_method(method, original, low, settings, progress))
    return result


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
