"""Run a whole scan: load, trace (or read), judge, suggest and verify fixes.

:func:`scan` is all of ``upscope scan`` minus the presentation, and ``upscope.scan`` in Python,
for both formats: a PyTorch model (torch, imported here only for it) and an ONNX file
(:mod:`.onnx_front`, no torch).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from upscope import limits
from upscope.errors import UpscopeError
from upscope.scanning import contain, static_input
from upscope.scanning.args import (
    INPUTS,
    check_input_memory,
    check_inputs,
    check_threshold,
    is_onnx_file,
    parse_input_shape,
    parse_range,
    split_model_spec,
)
from upscope.scanning.fix import suggest
from upscope.scanning.judge import GRID_THRESHOLD, ScanResult, judge
from upscope.scanning.records import Dims, Shape

__all__ = ["INPUTS", "scan"]


def _shapes(input_shape: Any) -> list[Shape]:
    """``"1x3x8x8"``, ``(1, 3, 8, 8)``, or a list of either -> a list of shapes."""
    if input_shape is None:
        return []
    if isinstance(input_shape, str):
        return [parse_input_shape(input_shape)]
    items = list(input_shape)
    if items and all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        items = [tuple(items)]
    shapes = []
    for item in items:
        shape = parse_input_shape(item) if isinstance(item, str) else tuple(item)
        if not shape or not all(isinstance(v, int) and v >= 1 for v in shape):
            raise UpscopeError(f"input_shape must be sizes of at least 1, got {input_shape!r}")
        shapes.append(shape)
    return shapes


def scan(
    model: Any,
    input_shape: Any = None,
    example_input: Any = None,
    weights: str | os.PathLike[str] | None = None,
    *,
    inputs: Sequence[str] = ("constant",),
    seed: int = 0,
    threshold: float = GRID_THRESHOLD,
    value_range: Any = None,
    timeout: float | None = None,
    rate: int | None = None,
) -> ScanResult:
    """Find, judge and fix every upsampling op of ``model``.

    ``model`` is a live ``nn.Module`` (never modified: a state dict in ``weights`` is loaded into
    a copy) or the CLI's MODEL string ``file.py:Name`` / ``package.module:Name``, or an ONNX
    file ``model.onnx`` (read by :mod:`.onnx_front` without torch; no response, no fixes). The input
    shapes come from ``input_shape`` (``(1, 100, 1, 1)``, ``"1x100x1x1"`` or a list of them),
    else from ``example_input`` (a tensor or a tuple of tensors: its shapes and dtype), else from
    the model's ``example_input_array``. The forward passes use a constant input (all ones) and,
    with ``inputs=("constant", "noise")``, seeded standard-normal noise too.

    The status of each op comes from the model's measured output grid
    (:mod:`.grid`): ``threshold`` is in 8-bit grey levels (RMS), ``value_range`` the output's
    ``(LO, HI)`` (or ``"LO,HI"``) that converts output units to grey levels (None: from the
    output's values). An ONNX file is judged on its weights (nothing runs).

    The model's code runs contained (:mod:`.contain`): what it writes goes to stderr, whatever it
    raises is one :class:`UpscopeError`, and each forward pass may take at most ``timeout``
    seconds (``None``: no limit; main thread only).

    ``rate``: the sample rate of the model's output in Hz (a 1D model): each 1D op also gets its
    tones in Hz and their level in the output (:mod:`upscope.scanning.audio`).
    """
    if rate is not None:
        from upscope.audio_config import check_rate

        check_rate(rate)
    kinds = check_inputs(inputs)
    threshold = check_threshold(threshold)
    value_range = parse_range(value_range)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    limits.check_int("--seed", seed, 0, limits.MAX_INT)
    shapes = _shapes(input_shape)
    if isinstance(model, str | os.PathLike) and is_onnx_file(str(model)):
        if weights is not None:
            raise UpscopeError("--weights is for PyTorch models; an ONNX file holds its weights")
        from upscope.scanning import onnx_front

        onnx_result = onnx_front.scan(str(model), shapes)
        onnx_result.grid_threshold = threshold
        if rate is not None:  # a graph is not run: tones from sizes need the output length
            from upscope.scanning import audio

            onnx_result.audio = audio.measure([f.op for f in onnx_result.findings], rate, None)
        return onnx_result
    early = None  # why the file alone cannot tell that MODEL lacks example_input_array
    if isinstance(model, str) and not shapes and example_input is None:
        early = static_input.refuse_without_shape(model)
    with contain.timeout(timeout), contain.guard():
        try:
            return _scan_torch(
                model,
                shapes,
                example_input,
                weights,
                kinds,
                seed,
                rate,
                threshold,
                value_range,
                early,
            )
        except UpscopeError:
            raise
        except BaseException as exc:  # the model's code, wherever it ran: one line
            if contain.passes(exc):
                raise
            raise contain.model_failure(exc, "the model's code") from None


def _scan_torch(
    model: Any,
    shapes: list[Shape],
    example_input: Any,
    weights: str | os.PathLike[str] | None,
    kinds: tuple[str, ...],
    seed: int,
    rate: int | None,
    threshold: float,
    value_range: Any,
    early: str | None,
) -> ScanResult:
    import torch
    from torch import nn

    from upscope.scanning.grid import grid_for_scan
    from upscope.scanning.load import (
        default_input_shapes,
        hold_bare,
        load_model,
        load_weights,
        release_bare,
    )
    from upscope.scanning.torch_front import make_inputs, not_finite, trace
    from upscope.scanning.verify import verify

    if isinstance(model, str):
        split_model_spec(model)
        name = model
        net = load_model(model, seed)
    elif isinstance(model, nn.Module):
        name, net = type(model).__name__, model
    else:
        raise UpscopeError(
            f"model must be an nn.Module or a 'file.py:Name' string, got {type(model).__name__}"
        )
    if weights is not None:
        if net is model:
            import copy

            try:
                net = copy.deepcopy(model)
            except BaseException as exc:  # noqa: BLE001
                if contain.passes(exc):
                    raise
                raise UpscopeError(
                    f"weights were given but the model cannot be copied to load them into "
                    f"({type(exc).__name__}); load them yourself and pass the model"
                ) from None
        load_weights(net, Path(weights))
    example: list[Any] = []
    if example_input is not None:
        example = (
            list(example_input) if isinstance(example_input, list | tuple) else [example_input]
        )
        if not example or not all(torch.is_tensor(t) for t in example):
            raise UpscopeError("example_input must be a tensor or a tuple of tensors")
    from_model = False
    if not shapes and example:
        shapes = [tuple(t.shape) for t in example]
    if not shapes:
        default = default_input_shapes(net)
        if default is None:
            why = f" (upscope built it to know: {early})" if early else ""
            raise UpscopeError(
                "--input-shape is required (e.g. --input-shape 1x100x1x1): the model defines "
                f"no example_input_array{why}"
            )
        shapes, from_model = default, True
    check_input_memory(shapes)
    meta = [n for n, t in [*net.named_parameters(), *net.named_buffers()] if t.is_meta]
    if meta or any(t.is_meta for t in example):
        where = f"the model's parameter {meta[0]!r}" if meta else "example_input"
        raise UpscopeError(
            f"{where} is a meta tensor, which holds no values (device 'meta'); "
            "materialise it (model.to_empty(device='cpu') and load its weights) before scanning"
        )
    net, bare = hold_bare(net)
    modes = {module: module.training for module in net.modules()}
    try:
        constant = make_inputs(net, shapes, seed, "constant")
        if example:
            constant = [torch.ones_like(t) for t in example]
        outputs: list[Any] = []
        ops = trace(net, constant, response="constant", outputs=outputs)
        if "noise" in kinds:
            noisy = trace(net, make_inputs(net, shapes, seed, "noise"), response="noise")
            for op, other in zip(ops, noisy, strict=False):
                if op.name == other.name:
                    op.response["noise"] = other.response.get("noise")
        grid, why = grid_for_scan(net, constant, ops, value_range)
        findings = judge(ops, threshold, grid)
        for finding in findings:
            finding.fixes = suggest(finding)
        verify(net, constant, findings, seed, grid, threshold)
        for fix in (fix for f in findings for fix in f.fixes if bare):
            fix.statements = release_bare(fix.statements, bare or "")
        tones = None
        if rate is not None:
            from upscope.scanning import audio

            tones = audio.measure(ops, rate, audio.run_outputs(net, constant))
    finally:
        for module, training in modes.items():
            module.train(training)
    result = ScanResult(name, list[Dims](shapes), from_model, findings, inputs=kinds, audio=tones)
    result.grid, result.grid_threshold, result.grid_reason = grid, threshold, why
    result.output_non_finite = not_finite(outputs)
    return result
