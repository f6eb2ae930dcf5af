"""The op record every scan front end produces and the judge consumes: plain data, no torch.

The torch tracer (:mod:`upscope.scanning.torch_front`) fills it from a forward pass; a front end
for another model format fills the same fields from that format's graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from upscope.scanning.args import Shape

__all__ = ["Shape", "UpOp"]


@dataclass
class UpOp:
    """One upsampling operation as it was called in the forward pass."""

    name: str
    type: str
    kind: str  # "convT" | "interpolate" | "pixelshuffle"
    input_shape: Shape
    output_shape: Shape
    params: dict[str, Any] = field(default_factory=dict)
    weight: np.ndarray | None = None  # convT: (C_in, C_out / groups, *kernel)
    feeding_conv: tuple[str, np.ndarray] | None = None  # pixel shuffle: the conv right before
    feeding_bias: np.ndarray | None = None  # ... and that conv's bias (None: it has none)
    # the feeding conv's stride, padding, dilation, groups, and "module": whether it is a Conv
    # module (swappable); "via": the elementwise functions between it and the shuffle
    feeding_params: dict[str, Any] = field(default_factory=dict)
    # whether the op is an upsampling module (its path is ``name``) a fix can be swapped into
    module: bool = False
    # the measured response per model input ("constant", "noise"): the phase-energy score of
    # the op's output for its input reduced to per-channel constants (None: not measurable)
    response: dict[str, float | None] = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return len(self.input_shape) - 2
