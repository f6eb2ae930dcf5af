"""``compare``: an image -> its box-downsampled version -> every upsampler -> metrics.

The original (cropped to a multiple of S) is the ground truth; the low-resolution input is its
S x S box average. Parameter-free methods upsample it as they are. A learned method is wrapped in
a small linear network, ``conv 3x3 (C_img -> W)``, the upsampler at W channels, ``conv 3x3
(W -> C_img)``, trained with Adam for ``fit`` steps on random crops of this very image to
reconstruct the original from its box average (``fit = 0``: untrained, PyTorch's default
initialisation). Every method gets the same seed, so the same initial head/tail draws and the
same training crops, whatever ``--methods`` lists.

Nothing here prints; progress goes through an optional callback. The result types
(:class:`Comparison`, :class:`MethodResult`, :class:`Settings`) and what the presentation reads
from them (:func:`sort_results`, :func:`zoom_window`, :func:`spectra`) live in the torch-free
:mod:`upscope.compare_result` and are re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from upscope import limits, metrics, quality, upsamplers
from upscope.compare_result import (
    BATCH,
    DEFAULT_FIT,
    DEFAULT_WIDTH,
    HIGHER_IS_BETTER,
    LEARNING_RATE,
    METRIC_KEYS,
    PATCH_OUT,
    Comparison,
    MethodResult,
    Settings,
    sort_results,
    spectra,
    zoom_window,
)
from upscope.errors import UpscopeError
from upscope.images import box_downsample, check_size

__all__ = [
    "BATCH",
    "DEFAULT_FIT",
    "DEFAULT_WIDTH",
    "HIGHER_IS_BETTER",
    "LEARNING_RATE",
    "METRIC_KEYS",
    "PATCH_OUT",
    "Comparison",
    "FitNet",
    "MethodResult",
    "Progress",
    "Settings",
    "compare",
    "resolve_device",
    "run_method",
    "sort_results",
    "spectra",
    "zoom_window",
]

#: ``progress(method, steps_done, steps_total)``: called after every training step.
Progress = Callable[[str, int, int], None]


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
