"""The upsampler zoo: every common x S upsampling layer, one registry, one factory.

``create(name, channels, scale)`` returns a ``torch.nn.Module`` that maps ``(N, C, H, W)`` to
``(N, C, S*H, S*W)`` exactly, for every integer scale S in 2..4 and every H, W >= 1.

Seeding: ``create`` draws the initial weights from torch's *global* RNG with PyTorch's default
initialisation (ICNR for ``pixelshuffle-icnr``). Callers that want a reproducible layer call
``torch.manual_seed(seed)`` right before ``create``; the same seed gives the same weights.

| name | layer |
| --- | --- |
| ``convT-uneven`` | ConvTranspose2d, K = 2S - 1 (not a multiple of S): uneven overlap |
| ``convT-even`` | ConvTranspose2d, K = 2S (a multiple of S): even overlap |
| ``resize-nearest-conv`` | nearest x S, then Conv2d 3x3, padding 1 |
| ``resize-bilinear-conv`` | bilinear x S (align_corners=False), then Conv2d 3x3, padding 1 |
| ``pixelshuffle`` | Conv2d 3x3 to C*S^2 channels, PixelShuffle(S), default init |
| ``pixelshuffle-icnr`` | the same, ICNR-initialised (Aitken et al. 2017) |
| ``nearest``, ``bilinear``, ``bicubic`` | parameter-free interpolation (align_corners=False) |

The names, their one-line summaries, which ones are learned and the scale range live in the
torch-free :mod:`upscope.zoo` (so the CLI checks ``--methods`` before torch loads); they are
re-exported here. This module's registry holds the factories, one per name, in that order.

The transposed-conv parameters come from the size solver :func:`upscope.arith.solve_axis`
(see :func:`convt_params`): at S = 2 they are k=3, s=2, p=1, op=1 and k=4, s=2, p=1.

>>> NAMES[:2]
('convT-uneven', 'convT-even')
>>> convt_params("convT-uneven", 2), convt_params("convT-even", 2)
((3, 2, 1, 1), (4, 2, 1, 0))
>>> import torch
>>> _ = torch.manual_seed(0)
>>> create("pixelshuffle-icnr", channels=3, scale=3)(torch.ones(1, 3, 5, 7)).shape
torch.Size([1, 3, 15, 21])
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from upscope.arith import Bounds, overlap_verdict, solve_axis
from upscope.errors import UpscopeError
from upscope.zoo import (
    MAX_SCALE,
    MIN_SCALE,
    NAMES,
    check_name,
    check_scale,
    is_learned,
    parse_names,
    summary,
)

__all__ = [
    "MAX_SCALE",
    "MIN_SCALE",
    "NAMES",
    "check_name",
    "check_scale",
    "convt_params",
    "create",
    "describe",
    "is_learned",
    "parse_names",
]


def convt_params(name: str, scale: int) -> tuple[int, int, int, int]:
    """(k, s, p, op) of the transposed conv ``name`` at ``scale``, found with the size solver.

    Exact x S needs K - 2P + P_out = S (REFERENCES.md), whatever the input size, so one solver
    call (input 8 -> target 8*S, D = 1, stride S) lists every candidate. ``convT-even`` keeps the
    K that are multiples of S, ``convT-uneven`` those that are not (and have no holes); among
    them the one nearest K = 2S wins, then the smaller K, P_out, P. That gives K = 2S and
    K = 2S - 1: (4, 2, 1, 0) and (3, 2, 1, 1) at S = 2, (6, 3, 2, 1) and (5, 3, 1, 0) at S = 3,
    (8, 4, 2, 0) and (7, 4, 2, 1) at S = 4.
    """
    check_name(name)
    if name not in ("convT-even", "convT-uneven"):
        raise UpscopeError(f"{name!r} is not a transposed convolution")
    check_scale(scale)
    want = "even" if name == "convT-even" else "checkerboard"
    i = 8
    candidates = [
        sol
        for sol in solve_axis(i, i * scale, Bounds(max_k=2 * scale + 2, max_s=scale, max_d=1))
        if sol.stride == scale and overlap_verdict(sol.kernel, sol.stride) == want
    ]
    if not candidates:  # pragma: no cover - the bounds always hold K = 2S and K = 2S - 1
        raise UpscopeError(f"no {name} configuration for scale {scale}")
    best = min(
        candidates,
        key=lambda s: (abs(s.kernel - 2 * scale), s.kernel, s.output_padding, s.padding),
    )
    return best.kernel, best.stride, best.padding, best.output_padding


def _convt(name: str) -> Callable[[int, int], nn.Module]:
    def make(channels: int, scale: int) -> nn.Module:
        k, s, p, op = convt_params(name, scale)
        return nn.ConvTranspose2d(channels, channels, k, stride=s, padding=p, output_padding=op)

    return make


def _resize_conv(mode: str) -> Callable[[int, int], nn.Module]:
    def make(channels: int, scale: int) -> nn.Module:
        up = _interp(mode)(channels, scale)
        return nn.Sequential(up, nn.Conv2d(channels, channels, 3, padding=1))

    return make


def _pixelshuffle(channels: int, scale: int) -> nn.Module:
    conv = nn.Conv2d(channels, channels * scale * scale, 3, padding=1)
    return nn.Sequential(conv, nn.PixelShuffle(scale))


def _pixelshuffle_icnr(channels: int, scale: int) -> nn.Module:
    """ICNR: draw a C x C x 3 x 3 conv (default init, the same fan-in), repeat each of its output
    channels S^2 times consecutively (``repeat_interleave`` on dim 0), biases too, so that
    pixel shuffle starts as that conv followed by nearest-neighbour upsampling."""
    layer = _pixelshuffle(channels, scale)
    assert isinstance(layer, nn.Sequential)
    conv = layer[0]
    small = nn.Conv2d(channels, channels, 3, padding=1)
    assert isinstance(conv, nn.Conv2d) and conv.bias is not None and small.bias is not None
    with torch.no_grad():
        conv.weight.copy_(small.weight.repeat_interleave(scale * scale, dim=0))
        conv.bias.copy_(small.bias.repeat_interleave(scale * scale, dim=0))
    return layer


def _interp(mode: str) -> Callable[[int, int], nn.Module]:
    def make(channels: int, scale: int) -> nn.Module:
        del channels
        if mode == "nearest":
            return nn.Upsample(scale_factor=float(scale), mode="nearest")
        return nn.Upsample(scale_factor=float(scale), mode=mode, align_corners=False)

    return make


#: name -> factory(channels, scale): the zoo's one source of its layers. Its keys are
#: :data:`upscope.zoo.NAMES` (the torch-free names the CLI checks), in the same order.
_REGISTRY: dict[str, Callable[[int, int], nn.Module]] = {
    "convT-uneven": _convt("convT-uneven"),
    "convT-even": _convt("convT-even"),
    "resize-nearest-conv": _resize_conv("nearest"),
    "resize-bilinear-conv": _resize_conv("bilinear"),
    "pixelshuffle": _pixelshuffle,
    "pixelshuffle-icnr": _pixelshuffle_icnr,
    "nearest": _interp("nearest"),
    "bilinear": _interp("bilinear"),
    "bicubic": _interp("bicubic"),
}


def create(name: str, channels: int, scale: int) -> nn.Module:
    """A fresh upsampler ``name`` for ``channels`` channels, exactly x ``scale`` on H and W.

    Weights come from torch's global RNG: call ``torch.manual_seed(seed)`` first to fix them.
    """
    check_name(name)
    check_scale(scale)
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise UpscopeError(f"channels must be a positive integer, got {channels!r}")
    return _REGISTRY[name](channels, scale)


def describe(name: str, scale: int) -> str:
    """A short description of the layer, with the transposed-conv parameters where relevant."""
    text = summary(name)
    if name.startswith("convT"):
        k, s, p, op = convt_params(name, scale)
        text += f" (k={k}, s={s}, p={p}, op={op})"
    return text
