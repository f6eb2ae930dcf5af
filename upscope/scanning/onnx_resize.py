"""The ONNX front end's ``Resize`` and ``Upsample`` nodes -> ``interpolate`` ops (see
:mod:`.onnx_front`), every attribute and stored input checked (:mod:`.onnx_check`) first.

The output size is the operator specification's: ``floor(input * scale)`` with ``scales``;
``sizes`` as given on the axes they name (all, or Resize-18's ``axes``), the others kept; with
``keep_aspect_ratio_policy`` ``not_larger`` (``not_smaller``) one scale, the smallest (largest)
of ``sizes[i] / input[axis_i]`` over those axes, gives ``int(scale * input + 0.5)`` on each of
them. Scales or sizes computed in the graph are read when :class:`~.onnx_graph.ReadGraph`
folds them (shape arithmetic on known shapes), else from shape inference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from upscope.limits import MAX_INT
from upscope.scanning.onnx_check import Node
from upscope.scanning.onnx_graph import ReadGraph, attrs
from upscope.scanning.records import Dims, Shape, UpOp

__all__ = ["resize"]

_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}
_CTM = (
    *("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners"),
    *("asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"),
)
_NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
_POLICY = ("stretch", "not_larger", "not_smaller")


def resize(g: ReadGraph, node: Any, name: str, opset: int) -> UpOp | None:
    """One Resize/Upsample node as an ``interpolate`` op (None: it enlarges no spatial axis,
    or it is not an N x C x spatial resize)."""
    check = Node(node.op_type, name, attrs(g.onnx, node))
    old = node.op_type == "Upsample" or opset < 11
    mode = check.word(
        "mode", ("nearest", "linear") if old else ("nearest", "linear", "cubic"), "nearest"
    )
    if node.op_type == "Upsample" and check.has("scales"):  # Upsample-7: an attribute
        scales: np.ndarray | None = np.asarray(check.attributes["scales"], np.float64)
        sizes = None
    elif old:  # Upsample-9, Resize-10: X, scales
        scales, sizes = g.constant(node, 1), None
    else:  # Resize-11+: X, roi, scales, sizes
        scales, sizes = g.constant(node, 2), g.constant(node, 3)
    if scales is not None and scales.size == 0:
        scales = None
    if sizes is not None and sizes.size == 0:
        sizes = None
    if scales is not None and sizes is not None:
        raise check.refuse("it gives both scales and sizes; the ONNX specification takes one")
    x_shape = g.shapes.get(node.input[0])
    given = scales if scales is not None else sizes
    rank = len(x_shape) if x_shape is not None else None
    if rank is None and given is not None and not check.has("axes"):
        rank = int(given.size)
    if rank is None:
        out = g.shapes.get(node.output[0])
        rank = len(out) if out is not None else None
    if rank is None or rank < 3:
        return None  # not an N x C x spatial image resize that upscope can name
    axes = _axes(check, rank)
    x_dims: Dims = x_shape if x_shape is not None else (None,) * rank
    check.dims("input size", x_dims)
    full_scales = None if scales is None else _scales(check, scales, axes, rank, old)
    full_sizes = None if sizes is None else _sizes(check, sizes, axes, x_dims)
    policy = check.word("keep_aspect_ratio_policy", _POLICY, "stretch")
    if full_sizes is not None and policy != "stretch":
        full_sizes = _aspect(full_sizes, x_dims, axes, policy)
    n = rank - 2
    ctm = check.word("coordinate_transformation_mode", _CTM, "asymmetric" if old else "half_pixel")
    params: dict[str, Any] = {
        "size": None if full_sizes is None else _known_ints(tuple(full_sizes[2:])),
        "scale_factor": None if full_scales is None else tuple(float(v) for v in full_scales[2:]),
        "mode": {"nearest": "nearest", "linear": _LINEAR.get(n, "linear")}.get(
            mode, "bicubic" if n == 2 else mode
        ),
        "align_corners": None if mode == "nearest" else ctm == "align_corners",
        "coordinate_transformation_mode": ctm,
    }
    if policy != "stretch" and sizes is not None:
        params["keep_aspect_ratio_policy"] = policy
    if mode == "nearest":
        params["nearest_mode"] = check.word("nearest_mode", _NEAREST, "round_prefer_floor")
    out_all: list[int | None] = []  # N and C too: sizes and scales may name them
    for axis, i in enumerate(x_dims):
        if full_sizes is not None:
            out_all.append(full_sizes[axis])
        elif full_scales is not None and i is not None:
            out_all.append(math.floor(i * float(full_scales[axis])))
        else:
            out_all.append(None if axis >= 2 else i)
    out_spatial = out_all[2:]
    check.dims("output size", out_spatial)
    if any(v is not None and v < 1 for v in out_all):
        raise check.refuse(f"its output shape {out_all} is empty (scales or sizes too small)")
    out_shape = g.merged(node.output[0], tuple(out_all))
    if not _enlarges(x_dims[2:], out_shape[2:], params["scale_factor"]):
        return None
    read = [node.input[i] for i in ((1,) if old else (2, 3)) if i < len(node.input)]
    if any(value in g.folded for value in read):
        params["folded"] = True
    if full_scales is None and full_sizes is None:  # computed in the graph
        params["computed"] = "keep_aspect_ratio_policy=" + policy if sizes is not None else True
        # the output size shape inference found, as torch's size= would give it
        params["size"] = _known_ints(out_shape[2:])
    return UpOp(name, node.op_type, "interpolate", x_dims, out_shape, params)


def _axes(check: Node, rank: int) -> list[int]:
    """Resize-18's ``axes`` (each in [-r, r-1], no repeats) as non-negative axes; all without."""
    if not check.has("axes"):
        return list(range(rank))
    values = check.ints("axes", None, -rank, rank - 1, None)
    axes = [v % rank for v in values]
    if len(set(axes)) != len(axes):
        raise check.fail("axes", list(values), f"distinct axes in [-{rank}, {rank - 1}]")
    return axes


def _count(check: Node, what: str, values: np.ndarray, axes: list[int]) -> list[Any]:
    flat = [v.item() for v in np.asarray(values).reshape(-1)]
    if len(flat) != len(axes):
        raise check.fail(
            what,
            flat,
            f"{len(axes)} values, one per {'axis in axes' if check.has('axes') else 'input axis'}",
        )
    return flat


def _scales(check: Node, scales: np.ndarray, axes: list[int], rank: int, old: bool) -> list[float]:
    check.tensor("its scales", scales, "f")
    flat = _count(check, "scales", scales, axes)
    low = 1.0 if check.op_type == "Upsample" else 0.0
    if not all(math.isfinite(v) and (v >= low if low else v > 0) for v in flat):
        accepted = "finite, each at least 1" if low else "finite, each greater than 0"
        raise check.fail("scales", flat, accepted)
    full = [1.0] * rank
    for axis, value in zip(axes, flat, strict=True):
        full[axis] = float(value)
    return full


def _sizes(check: Node, sizes: np.ndarray, axes: list[int], x_dims: Dims) -> list[int | None]:
    check.tensor("its sizes", sizes, "iu")
    flat = _count(check, "sizes", sizes, axes)
    if not all(1 <= v <= MAX_INT for v in flat):
        raise check.fail("sizes", flat, f"each 1 to {MAX_INT}")
    full: list[int | None] = list(x_dims)
    for axis, value in zip(axes, flat, strict=True):
        full[axis] = int(value)
    return full


def _aspect(
    full: list[int | None], x_dims: Dims, axes: list[int], policy: str
) -> list[int | None] | None:
    """``keep_aspect_ratio_policy`` not_larger / not_smaller: one scale for every axis in
    ``axes``, the smallest / largest of size / input; None when an input size is unknown.

    >>> _aspect([1, 3, 16, 64], (1, 3, 8, 8), [0, 1, 2, 3], "not_larger")  # scale 1 (N, C)
    [1, 3, 8, 8]
    >>> _aspect([1, 3, 16, 64], (1, 3, 8, 8), [2, 3], "not_larger")
    [1, 3, 16, 16]
    """
    if any(x_dims[a] is None for a in axes):
        return None
    ratios = [(full[a] or 0) / (x_dims[a] or 1) for a in axes]
    scale = min(ratios) if policy == "not_larger" else max(ratios)
    out = list(x_dims)
    for a in axes:
        out[a] = int(scale * (x_dims[a] or 0) + 0.5)
    return out


def _known_ints(values: Dims) -> Shape | None:
    return None if any(v is None for v in values) else tuple(int(v or 0) for v in values)


def _enlarges(ins: Dims, outs: Dims, scales: tuple[float, ...] | None) -> bool:
    """Whether some spatial axis grows (unknown: kept, so nothing is hidden)."""
    known = [(i, o) for i, o in zip(ins, outs, strict=True) if i is not None and o is not None]
    if len(known) == len(ins):
        return any(o > i for i, o in known)
    if scales is not None:
        return any(s > 1 for s in scales)
    return True
