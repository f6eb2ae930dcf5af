"""A layer that ``upscope scan``'s fixes put in place of a transposed conv called with
``output_size=``: :class:`ResizeConv`, nearest upsampling then a conv, whose forward accepts
the same ``output_size`` argument and honours it.

Importing this module loads torch (it defines an ``nn.Module``); ``import upscope`` does not.
:mod:`upscope.scanning.fix` copies this class's source into the self-contained variant of its
fix code, so it uses only torch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ResizeConv"]


class ResizeConv(nn.Module):
    """Nearest upsampling by ``scale``, then ``conv`` (stride 1): no constant-input
    checkerboard at any weights. ``forward(x, output_size=None)`` takes the argument that
    ``nn.ConvTranspose*d`` takes: given, the upsampled map is padded at the end of each axis
    (replicating its last row, so a constant stays constant) or cut there, so that the output
    has exactly that spatial size, as the transposed conv's extra rows are at the end.

    >>> layer = ResizeConv(nn.Conv2d(4, 2, 3, padding=1), scale=2)
    >>> layer(torch.ones(1, 4, 5, 6)).shape, layer(torch.ones(1, 4, 5, 6), [11, 13]).shape
    (torch.Size([1, 2, 10, 12]), torch.Size([1, 2, 11, 13]))
    """

    def __init__(self, conv: nn.Conv1d | nn.Conv2d | nn.Conv3d, scale: Any) -> None:
        super().__init__()
        self.conv = conv
        self.scale = scale

    def forward(self, x: torch.Tensor, output_size: Any = None) -> torch.Tensor:
        y = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        if output_size is not None:
            n = x.dim() - 2
            want = [int(v) for v in list(output_size)[-n:]]
            conv: Any = self.conv
            kernel, padding = conv.kernel_size, conv.padding
            change = [2 * p - k + 1 for k, p in zip(kernel, padding, strict=True)]
            pads: list[int] = []
            for axis in reversed(range(n)):  # F.pad lists the last axis first
                pads += [0, want[axis] - change[axis] - y.shape[2 + axis]]
            if any(pads):
                grow = [max(v, 0) for v in pads]
                if any(grow):
                    y = F.pad(y, grow, mode="replicate")
                y = F.pad(y, [min(v, 0) for v in pads])  # negative pads cut
        return self.conv(y)
