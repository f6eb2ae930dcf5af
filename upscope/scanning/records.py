"""The op record every scan front end produces and the judge consumes: plain data, no torch.

The torch tracer (:mod:`upscope.scanning.torch_front`) fills it from a forward pass; a front end
for another model format fills the same fields from that format's graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from upscope.result import Brief
from upscope.scanning.args import Shape

__all__ = ["Dims", "Shape", "UpOp", "dims_text"]

#: A shape as a front end knows it: None for a dimension it could not determine (an ONNX graph
#: with a symbolic size); the torch tracer always knows every one.
Dims = tuple[int | None, ...]


@dataclass(repr=False)
class UpOp(Brief):
    """One upsampling operation as it was called in the forward pass."""

    name: str
    type: str
    kind: str  # "convT" | "interpolate" | "pixelshuffle"
    input_shape: Dims
    output_shape: Dims
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
    # module path -> how each of its parts is reached from the model ("attr", "index" of a
    # Sequential / ModuleList, "key" of a ModuleDict), so fix code is valid for any name
    access: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # what the op's output held that is not a finite number ("NaN", "inf"), measured in the trace
    output_non_finite: list[str] = field(default_factory=list)

    _brief = ("name", "type", "kind", "input_shape", "output_shape", "weight", "response")

    @property
    def ndim(self) -> int:
        return len(self.input_shape) - 2

    @property
    def spatial_in(self) -> Shape | None:
        """The spatial input size, or None when a front end could not determine all of it."""
        return _known(self.input_shape[2:])

    @property
    def spatial_out(self) -> Shape | None:
        """The spatial output size, or None when a front end could not determine all of it."""
        return _known(self.output_shape[2:])


def dims_text(dims: Dims) -> str:
    """``"1x3x?x?"``: a shape with ``?`` for each unknown dimension.

    >>> dims_text((1, 3, None, 64))
    '1x3x?x64'
    """
    return "x".join("?" if v is None else str(v) for v in dims)


def _known(dims: Dims) -> Shape | None:
    if any(v is None for v in dims):
        return None
    return tuple(int(v) for v in dims if v is not None)
