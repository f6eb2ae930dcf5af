"""The 1D upsampler zoo (torch): one registry, one factory, for audio.

``create(name, channels, scale)`` returns a ``torch.nn.Module`` that maps ``(N, C, L)`` to
``(N, C, S*L)`` exactly, for every integer S from 2 to 16 and every L >= 1. Weights come from
torch's global RNG with PyTorch's default initialisation: call ``torch.manual_seed(seed)`` first.

| name | layer |
| --- | --- |
| ``convT-uneven`` | ConvTranspose1d, K = 2S - 1: uneven overlap |
| ``convT-even`` | ConvTranspose1d, K = 2S: even overlap (HiFi-GAN, MelGAN) |
| ``subpixel`` | Conv1d k=3 to C*S channels, 1D shuffle (channel c*S + i -> phase i) |
| ``subpixel-icnr`` | the same, ICNR: each output channel of a C -> C conv repeated S times |
| ``nearest-conv``, ``linear-conv`` | interpolation x S, then Conv1d k=3, padding 1 |
| ``nearest``, ``linear`` | ``nn.Upsample`` (linear: align_corners=False) |
| ``sinc`` | :func:`upscope.dsp.upsample` as a fixed depthwise conv (the reference) |

>>> import torch
>>> _ = torch.manual_seed(0)
>>> [tuple(create(n, 2, 3)(torch.ones(1, 2, 70)).shape) for n in ("convT-even", "sinc")]
[(1, 2, 210), (1, 2, 210)]
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from upscope import dsp
from upscope.errors import UpscopeError
from upscope.zoo1d import NAMES, check_name, check_scale, convt_params, summary

__all__ = ["NAMES", "Shuffle1d", "SincUpsample", "create", "describe"]


class Shuffle1d(nn.Module):
    """(N, C*S, L) -> (N, C, S*L): channel ``c*S + i`` becomes phase ``i`` of channel ``c``."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, cs, length = x.shape
        c = cs // self.scale
        return x.reshape(n, c, self.scale, length).permute(0, 1, 3, 2).reshape(n, c, -1)


class SincUpsample(nn.Module):
    """The band-limited reference: reflect W input samples at each end, put the signal on every
    S-th of zeros, filter with :func:`upscope.dsp.polyphase_kernel` (no weights to learn)."""

    def __init__(self, channels: int, scale: int) -> None:
        super().__init__()
        self.scale, self.channels = scale, channels
        taps = torch.from_numpy(dsp.polyphase_kernel(scale)).float()
        self.register_buffer("taps", taps.flip(0).repeat(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = dsp.HALF_WIDTH
        mode = "reflect" if x.shape[-1] > w else "replicate"
        padded = F.pad(x, (w, w), mode=mode)
        n, c, length = padded.shape
        stuffed = padded.new_zeros(n, c, length * self.scale)
        stuffed[..., :: self.scale] = padded
        taps = self.get_buffer("taps").to(dtype=x.dtype)
        return F.conv1d(stuffed, taps, groups=self.channels)


def _convt(name: str) -> Callable[[int, int], nn.Module]:
    def make(channels: int, scale: int) -> nn.Module:
        k, s, p, op = convt_params(name, scale)
        return nn.ConvTranspose1d(channels, channels, k, stride=s, padding=p, output_padding=op)

    return make


def _interp(mode: str) -> Callable[[int, int], nn.Module]:
    def make(channels: int, scale: int) -> nn.Module:
        del channels
        if mode == "nearest":
            return nn.Upsample(scale_factor=float(scale), mode="nearest")
        return nn.Upsample(scale_factor=float(scale), mode="linear", align_corners=False)

    return make


def _interp_conv(mode: str) -> Callable[[int, int], nn.Module]:
    def make(channels: int, scale: int) -> nn.Module:
        return nn.Sequential(
            _interp(mode)(channels, scale), nn.Conv1d(channels, channels, 3, padding=1)
        )

    return make


def _subpixel(channels: int, scale: int) -> nn.Module:
    return nn.Sequential(nn.Conv1d(channels, channels * scale, 3, padding=1), Shuffle1d(scale))


def _subpixel_icnr(channels: int, scale: int) -> nn.Module:
    layer = _subpixel(channels, scale)
    assert isinstance(layer, nn.Sequential)
    conv = layer[0]
    small = nn.Conv1d(channels, channels, 3, padding=1)
    assert isinstance(conv, nn.Conv1d) and conv.bias is not None and small.bias is not None
    with torch.no_grad():
        conv.weight.copy_(small.weight.repeat_interleave(scale, dim=0))
        conv.bias.copy_(small.bias.repeat_interleave(scale, dim=0))
    return layer


#: name -> factory(channels, scale); keys are :data:`upscope.zoo1d.NAMES`, in that order.
_REGISTRY: dict[str, Callable[[int, int], nn.Module]] = {
    "convT-uneven": _convt("convT-uneven"),
    "convT-even": _convt("convT-even"),
    "subpixel": _subpixel,
    "subpixel-icnr": _subpixel_icnr,
    "nearest-conv": _interp_conv("nearest"),
    "linear-conv": _interp_conv("linear"),
    "nearest": _interp("nearest"),
    "linear": _interp("linear"),
    "sinc": SincUpsample,
}


def create(name: str, channels: int, scale: int) -> nn.Module:
    """A fresh 1D upsampler ``name`` for ``channels`` channels, exactly x ``scale``."""
    check_name(name)
    check_scale(scale)
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise UpscopeError(f"channels must be a positive integer, got {channels!r}")
    return _REGISTRY[name](channels, scale)


def describe(name: str, scale: int) -> str:
    """The one-line summary, with the transposed-conv parameters where relevant."""
    text = summary(name)
    if name.startswith("convT"):
        k, s, p, op = convt_params(name, scale)
        text += f" (k={k}, s={s}, p={p}, op={op})"
    return text
