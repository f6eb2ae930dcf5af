"""Verify suggested fixes on a copy of a PyTorch model (torch).

For every fix whose op is a module, :func:`verify` deep-copies the user's model, runs the fix's
``code`` (the import variant: ``from upscope.init import icnr_, zoh_``) on the copy (``model``
bound to the copy), runs the same forward pass as the scan (the constant input) and fills in:

- ``same_shapes``: every module's output shapes (call by call, modules the fix replaced left
  out, except the op's own path) and the model's output shapes are the ones of the original;
- ``response``: the replacement's response score, defined as in the scan (the module at the
  op's path applied to its input reduced to per-channel constants,
  :func:`upscope.scanning.torch_front.constant_like`; the largest over its calls);
- ``params_delta``: parameters of the copy with the fix minus those of the original;
- ``output_grid``: the model's output grid re-measured with the fix in
  (:func:`regrid`: :func:`upscope.scanning.grid.remeasure`, same levels, tile and range as the
  scan), the share at the op's period in grey levels (``output_grid_total``: all of it).
- ``verified``: true only when the code ran, every shape is kept and the grid is gone: the
  output grid at the op's period at most the scan's threshold (grey levels), or, without an
  output grid, the response below :data:`~upscope.scanning.judge.RESPONSE_THRESHOLD`;
  otherwise ``reason`` says which failed. An initialiser that cannot write through a layer's
  parametrization raises, and the fix is unverified with that message.

The user's model object is never modified (only its forward hooks are added and removed, as the
scan's tracer does). A model that cannot be deep-copied leaves every fix unverified, with the
reason.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from upscope.errors import one_line
from upscope.scanning import contain
from upscope.scanning.fix import Fix
from upscope.scanning.grid import OutputGrid, attribute, remeasure
from upscope.scanning.judge import GRID_THRESHOLD, RESPONSE_THRESHOLD, Finding
from upscope.scanning.torch_front import constant_like, score_output

__all__ = ["verify"]

Shapes = dict[str, list[list[tuple[int, ...]]]]


def _tensor_shapes(value: Any) -> list[tuple[int, ...]]:
    if torch.is_tensor(value):
        return [tuple(value.shape)]
    if isinstance(value, list | tuple):
        return [shape for item in value for shape in _tensor_shapes(item)]
    if isinstance(value, dict):
        return [shape for item in value.values() for shape in _tensor_shapes(item)]
    return []


def _run(
    model: nn.Module, inputs: Sequence[torch.Tensor], target: str | None, scales: tuple[int, ...]
) -> tuple[Shapes, list[tuple[int, ...]], float | None]:
    """One forward pass: every module's output shapes, the outputs' shapes, and the response
    score of the module at ``target``."""
    shapes: Shapes = {}
    response: list[float | None] = []
    busy = [False]
    handles = []
    for path, module in model.named_modules():

        def hook(mod: nn.Module, args: Any, out: Any, path: str = path) -> None:
            if busy[0]:
                return
            shapes.setdefault(path, []).append(_tensor_shapes(out))
            if path == target and args and torch.is_tensor(args[0]):
                busy[0] = True
                try:
                    response.append(score_output(mod(constant_like(args[0])), scales))
                finally:
                    busy[0] = False

        handles.append(module.register_forward_hook(hook))
    model.eval()
    try:
        with torch.no_grad(), contain.time_limit():
            out = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    scores = [value for value in response if value is not None]
    return shapes, _tensor_shapes(out), (max(scores) if scores else None)


def _same(before: Shapes, after: Shapes, fix: Fix) -> bool:
    """Every path of ``before`` has the same shapes after the fix, except the paths the fix may
    change (``keep_out``) and the inside of a replaced module (paths below the target)."""
    for path, calls in before.items():
        if path in fix.keep_out:
            continue
        inside = fix.target is not None and fix.target != "" and path.startswith(fix.target + ".")
        if inside:
            continue
        if after.get(path) != calls:
            return False
    return True


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _get(model: nn.Module, path: str) -> nn.Module:
    return model.get_submodule(path) if path else model


def _put(model: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(_get(model, parent), name, module)


def regrid(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    grid: OutputGrid,
    findings: Sequence[Finding],
    index: int,
) -> tuple[float, float]:
    """The output grid of ``model`` (the copy with a fix in) measured as ``grid`` was, in grey
    levels: the share at the period of ``findings[index]``'s op (attributed over the original
    ops' periods, so a fix is judged on the grid its op made) and the whole grid."""
    new = remeasure(model, inputs, grid)
    shares, _ = attribute(new, [f.output_period for f in findings])
    share = shares[index]
    return (0.0 if share is None else new.grey(float(share.max()))), new.grey_levels


def verify(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    findings: Sequence[Finding],
    seed: int = 0,
    grid: OutputGrid | None = None,
    threshold: float = GRID_THRESHOLD,
) -> None:
    """Fill the verification fields of every fix of ``findings`` (see the module docstring);
    ``grid`` is the scan's output grid (None: not measured) and ``threshold`` its status
    threshold in grey levels.

    One deep copy serves every fix: the modules a fix touches are put back (the same objects,
    with their saved state) before the next fix is tried.
    """
    owner = {id(fix): i for i, finding in enumerate(findings) for fix in finding.fixes}
    fixes = [fix for finding in findings for fix in finding.fixes if fix.target is not None]
    if not fixes:
        return
    try:
        work = copy.deepcopy(model)
    except BaseException as exc:  # noqa: BLE001 - any model: report, do not crash
        if contain.passes(exc):
            raise
        why = one_line(exc, 300, ellipsis="", typed=True)
        for fix in fixes:
            fix.reason = f"the model cannot be deep-copied ({why}), so fixes are "
            fix.reason += "not tried on a copy"
        return
    before, outputs, _ = _run(work, inputs, None, ())
    count = _params(work)
    for fix in fixes:
        saved = {}
        for path in fix.touches:
            module = _get(work, path)
            state = {key: value.clone() for key, value in module.state_dict().items()}
            saved[path] = (module, state)
        torch.manual_seed(seed)
        try:
            try:
                exec(fix.code, {"model": work})  # noqa: S102 - our code, the import variant
            except BaseException as exc:  # noqa: BLE001 - e.g. a parametrization zoh_ refuses
                if contain.passes(exc):
                    raise
                why = one_line(exc, 300, ellipsis="", typed=True)
                fix.reason = f"the fix's code failed on a copy of the model: {why}"
                continue
            try:
                after, new_outputs, response = _run(work, inputs, fix.target, fix.scales)
                if grid is not None:  # the one call site of the grid re-measurement
                    fix.output_grid, fix.output_grid_total = regrid(
                        work, inputs, grid, findings, owner[id(fix)]
                    )
            except BaseException as exc:  # noqa: BLE001 - the user's forward with the fix
                if contain.passes(exc):
                    raise
                why = one_line(exc, 300, ellipsis="", typed=True)
                fix.reason = f"the forward pass with this fix failed: {why}"
                continue
            fix.params_delta = _params(work) - count
        finally:
            for path, (module, state) in saved.items():
                _put(work, path, module)
                module.load_state_dict(state)
        fix.same_shapes = _same(before, after, fix) and new_outputs == outputs
        fix.response = response
        fix.verified, fix.reason = _judged(fix, threshold)


def _judged(fix: Fix, threshold: float) -> tuple[bool, str | None]:
    """``verified`` only when every shape is kept and the grid is gone: the output grid at the
    op's period at most ``threshold`` grey levels (without one, the response at the target at
    most :data:`RESPONSE_THRESHOLD`)."""
    if not fix.same_shapes:
        return False, "the fix ran, but shapes change"
    hint = "(did its initialiser reach the weight the forward uses?)"
    if fix.output_grid is not None:
        if fix.output_grid > threshold:
            return False, (
                f"the fix ran, but the grid is still there: {fix.output_grid:.2f} grey levels "
                f"at its period > {threshold:g} {hint}"
            )
        return True, None
    if fix.response is None:
        return False, "the fix ran, but the grid after it could not be measured"
    if fix.response > RESPONSE_THRESHOLD:
        return False, (
            f"the fix ran, but the grid is still there: response {fix.response:.2f} > "
            f"{RESPONSE_THRESHOLD:g} {hint}"
        )
    return True, None
