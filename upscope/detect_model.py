"""Name the layer: which of a model's upsampling ops can make a period found in its images.

The model is scanned by :func:`upscope.scanning.run.scan` (its ops, status and verified fixes);
each op's period in the final output comes from :func:`upscope.periods.period_in_output` (own
period: the op's stride or integer scale, :func:`upscope.scanning.score.op_scales`), and a found
period is matched with :func:`upscope.periods.can_make`. ``--samples N`` makes the images
itself: N forward passes on seeded standard-normal inputs (:func:`sample_items`). torch is
imported only inside the functions that run the model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from upscope import limits
from upscope.detection import Group, LayerMatch, OpPeriod, PeriodFound, Progress
from upscope.errors import UpscopeError, one_line
from upscope.image_sets import Entry, Item, Plan
from upscope.periods import can_make, period_in_output
from upscope.scanning.judge import ScanResult
from upscope.scanning.score import op_scales

__all__ = ["attribute", "load", "op_periods", "sample_items", "sample_plan"]

MAX_SAMPLES = 100_000


def load(model: Any, weights: str | os.PathLike[str] | None, seed: int) -> Any:
    """The model as an ``nn.Module``: built from scan's MODEL string (seeded), or the module
    given; ``weights`` loaded into a copy (the caller's module is never changed)."""
    import copy

    from torch import nn

    from upscope.scanning.args import split_model_spec
    from upscope.scanning.load import load_model, load_weights
    from upscope.scanning.run import _model_prints_to_stderr

    if isinstance(model, str):
        split_model_spec(model)
        with _model_prints_to_stderr():
            net = load_model(model, seed)
    elif isinstance(model, nn.Module):
        net = model
    else:
        raise UpscopeError(
            f"model must be an nn.Module or a 'file.py:Name' string, got {type(model).__name__}"
        )
    if weights is not None:
        if net is model:
            net = copy.deepcopy(model)
        load_weights(net, Path(weights))
    return net


def input_shape(net: Any, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """The one input shape of the model: given, else its ``example_input_array``."""
    from upscope.scanning.load import default_input_shapes

    found = list(shapes) or default_input_shapes(net) or []
    if not found:
        raise UpscopeError(
            "--input-shape is required (e.g. --input-shape 1x100x1x1): the model defines no "
            "example_input_array"
        )
    if len(found) != 1:
        raise UpscopeError(
            f"--samples needs a model of one input; this one takes {len(found)}: give IMAGES "
            "it made instead"
        )
    return tuple(found[0])


def _forward(net: Any, x: Any) -> np.ndarray:
    import torch

    from upscope.scanning.run import _model_prints_to_stderr

    with torch.no_grad(), _model_prints_to_stderr():
        try:
            out = net(x)
        except Exception as exc:  # noqa: BLE001 - the user's forward
            raise UpscopeError(
                f"the model's forward pass failed: {one_line(exc, 300, typed=True)}"
            ) from None
    if isinstance(out, tuple | list) and out:
        out = out[0]
    if not torch.is_tensor(out) or out.ndim != 4:
        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise UpscopeError(f"the model's output is {shape}; detect reads images, N x C x H x W")
    return np.asarray(out.detach().float().cpu().numpy(), dtype=np.float64)


def sample_plan(net: Any, shape: tuple[int, ...], samples: int) -> Plan:
    """The plan of ``samples`` forward passes: one pass (on zeros) gives the output's size."""
    import torch

    limits.check_int("--samples", samples, 1, MAX_SAMPLES)
    limits.check_memory(limits.tensor_bytes(shape) * 2, "the model's input")
    net.eval()
    dtype = next((p.dtype for p in net.parameters() if p.is_floating_point()), torch.float32)
    out = _forward(net, torch.zeros(shape, dtype=dtype))
    n, c, h, w = out.shape
    if h < 2 or w < 2:
        raise UpscopeError(f"the model's output is {w}x{h} (WxH); detect needs at least 2x2")
    return Plan([Entry("model sample", "model", h, w, c, count=samples * n)])


def sample_items(
    net: Any, shape: tuple[int, ...], samples: int, seed: int, progress: Progress | None = None
) -> Iterator[Item]:
    """``samples`` forward passes on seeded standard-normal inputs of ``shape``; each image of
    each output batch is one item. Values in [-1, 1] are mapped to [0, 1] (a tanh generator),
    others are kept in the model's own units."""
    import torch

    net.eval()
    dtype = next((p.dtype for p in net.parameters() if p.is_floating_point()), torch.float32)
    gen = torch.Generator().manual_seed(seed)
    for k in range(samples):
        out = _forward(net, torch.randn(shape, generator=gen, dtype=dtype))
        if not np.all(np.isfinite(out)):
            raise UpscopeError(f"the model's output holds NaN or infinite values (sample {k})")
        for i in range(out.shape[0]):
            image = out[i]
            if image.min() >= -1.0 and image.max() <= 1.0:
                image = (image + 1.0) / 2.0
            yield Item(f"sample {k}[{i}]", image.astype(np.float32))
        if progress is not None:
            progress("samples", k + 1, samples)


def op_periods(scan: ScanResult, final_out: tuple[int, int]) -> list[OpPeriod]:
    """Every upsampling op of the scan and the period it leaves in an output of ``final_out``
    (rows, cols): :func:`upscope.periods.period_in_output` of its own period."""
    ops = []
    for finding in scan.findings:
        op = finding.op
        own = op_scales(op)
        out = op.spatial_out
        if own is None or out is None or len(out) != 2 or len(own) != 2:
            period: list[int | None] = [None, None]
            reasons = ["its own period or its output size is not known"]
        else:
            axes = period_in_output(own, out, final_out)
            period = [a.period for a in axes]
            reasons = [a.reason for a in axes if a.reason]
        fix = finding.fixes[0] if finding.fixes else None
        ops.append(
            OpPeriod(
                name=op.name,
                type=op.type,
                period=period,
                reasons=reasons,
                status=finding.status,
                fix=fix.title if fix else None,
                fix_verified=bool(fix and fix.verified),
                fix_code=fix.code if fix else None,
            )
        )
    return ops


def attribute(found: PeriodFound, ops: Sequence[OpPeriod]) -> None:
    """Fill ``found.layers`` with the ops that can make its period (those whose own period in
    the output equals it first) and ``found.model_can_make``."""
    matches = []
    for op in ops:
        if all(p == 1 for p in op.period):
            continue  # no pattern in the output (a stride-1 op, or one removed later)
        if can_make(op.period, found.period):
            exact = list(op.period) == list(found.period)
            matches.append(
                LayerMatch(
                    op.name,
                    op.type,
                    op.period,
                    exact,
                    op.status,
                    op.fix,
                    op.fix_verified,
                    op.fix_code,
                )
            )
    matches.sort(key=lambda m: not m.exact)
    found.layers = matches
    found.model_can_make = bool(matches)


def attribute_groups(groups: Sequence[Group], scan: ScanResult) -> list[OpPeriod]:
    """Attribute every found period of every group; returns the ops with their periods in the
    first group's size (the periods depend on the output size)."""
    first: list[OpPeriod] = []
    for index, group in enumerate(groups):
        ops = op_periods(scan, (group.height, group.width))
        if index == 0:
            first = ops
        for found in group.found:
            attribute(found, ops)
    return first
