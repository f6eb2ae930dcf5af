"""Run a whole scan: load, trace (or read), judge.

:func:`scan` is all of ``upscope scan`` minus the presentation, for both formats: a PyTorch
MODEL (torch, imported here only for it) and an ONNX file (:mod:`.onnx_front`, no torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from upscope.errors import UpscopeError
from upscope.scanning.args import check_input_memory, is_onnx_file
from upscope.scanning.judge import ScanResult, judge
from upscope.scanning.records import Dims, Shape

__all__ = ["scan"]


def scan(
    spec: str,
    input_shapes: Sequence[Shape] | None = None,
    weights: Path | None = None,
    seed: int = 0,
) -> ScanResult:
    """Load, trace and judge MODEL; the whole of ``upscope scan`` minus the presentation.

    A MODEL ending in ``.onnx`` is read by the ONNX front end, without importing torch.
    """
    if is_onnx_file(spec):
        if weights is not None:
            raise UpscopeError("--weights is for PyTorch models; an ONNX file holds its weights")
        from upscope.scanning import onnx_front

        return onnx_front.scan(Path(spec), list(input_shapes or []))
    from upscope.scanning.load import default_input_shapes, load_model, load_weights
    from upscope.scanning.torch_front import make_inputs, trace

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
    check_input_memory(shapes)
    ops = trace(model, make_inputs(model, shapes, seed))
    return ScanResult(spec, list[Dims](shapes), from_model, judge(ops))
