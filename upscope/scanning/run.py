"""Run a whole scan of a PyTorch model: load, trace, judge (torch).

:func:`scan` is all of ``upscope scan`` for a PyTorch MODEL minus the presentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from upscope.errors import UpscopeError
from upscope.scanning.judge import ScanResult, judge
from upscope.scanning.load import default_input_shapes, load_model, load_weights
from upscope.scanning.records import Dims, Shape
from upscope.scanning.torch_front import make_inputs, trace

__all__ = ["scan"]


def scan(
    spec: str,
    input_shapes: Sequence[Shape] | None = None,
    weights: Path | None = None,
    seed: int = 0,
) -> ScanResult:
    """Load, trace and judge MODEL; the whole of ``upscope scan`` minus the presentation."""
    model = load_model(spec, seed)
    if weights is not None:
        load_weights(model, weights)
    shapes = list(input_shapes or [])
    from_model = False
    if not shapes:
        default = default_input_shapes(model)
        if default is None:
            raise UpscopeError(
                "--input-shape is required (e.g. --input-shape 1x100x1x1): the model defines "
                "no example_input_array"
            )
        shapes, from_model = default, True
    ops = trace(model, make_inputs(model, shapes, seed))
    return ScanResult(spec, list[Dims](shapes), from_model, judge(ops))
