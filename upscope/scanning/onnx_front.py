"""Read an ONNX file for ``upscope scan FILE.onnx``: every upsampling node, in graph order.

Loading, checking and shape inference are :mod:`.onnx_graph`'s.

The second front end of the scan (the first is the torch tracer,
:mod:`upscope.scanning.torch_front`): it fills the same :class:`~.records.UpOp` records, with the
same ``kind`` and ``params`` keys, so one judge (:mod:`upscope.scanning.judge`), one table and
one figure serve both. It imports neither torch nor matplotlib; the ``onnx`` package (the
optional extra ``upscope[onnx]``) is imported when a file is read.

- ``ConvTranspose`` (1D/2D/3D) -> ``convT``: ``kernel`` from the weight, ``stride``,
  ``dilation``, ``groups``, ``output_padding``; ``padding`` is the padding at the start of each
  axis and, where ONNX's ``pads`` differ at the end, ``padding_end`` the padding at the end.
  ``output_shape`` and ``auto_pad`` SAME_UPPER / SAME_LOWER give the pads as the operator's
  specification derives them. The weight (C_in, C_out / group, *K) is the same layout as torch's.
- ``Resize`` and ``Upsample`` -> ``interpolate``: ``scale_factor`` (the spatial ``scales``) or
  ``size`` (the spatial ``sizes``) when stored in the file, ``mode`` in torch's words
  (nearest, linear/bilinear/trilinear, bicubic), ``align_corners`` (coordinate transformation
  mode ``align_corners``; None for nearest, as torch), and ONNX's own
  ``coordinate_transformation_mode`` and ``nearest_mode``. A resize that enlarges no spatial
  axis is left out, as the tracer leaves out a resize down.
- ``DepthToSpace`` -> ``pixelshuffle`` with ``upscale_factor`` = blocksize and ``mode`` DCR/CRD.
  The Conv whose output it takes is its feeding conv; in DCR mode that conv's output channels
  are reordered to CRD, which is PyTorch's PixelShuffle order, so the same judge reads them.

Shapes come from the graph after ``onnx.shape_inference`` (with ``--input-shape`` fixing the
inputs' symbolic dimensions first); a dimension it cannot determine is None (``?`` in the
table, null in the JSON), never guessed. A node is named by its ``name``, or ``<OpType>_<index>``
(its position in the graph) when it has none; a name seen again gets ``#2``, ``#3``. The
nodes of an ``If``/``Loop``/``Scan`` body follow the node that holds them, indexed by its
index and the attribute (``Resize_3.then_branch.0``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from upscope import arith
from upscope.errors import UpscopeError
from upscope.scanning.fix import suggest
from upscope.scanning.judge import STAND_IN_SIZE, ScanResult, judge
from upscope.scanning.onnx_graph import (
    ReadGraph,
    attrs,
    dims,
    graph_inputs,
    load,
    resolve,
    text,
)
from upscope.scanning.onnx_names import display_name
from upscope.scanning.records import Dims, Shape, UpOp

__all__ = ["UNVERIFIED", "read", "scan"]

#: Why no fix of an ONNX node is verified.
UNVERIFIED = "an ONNX graph has no module to swap it into: apply it where the model is built"

_UPSAMPLING = ("ConvTranspose", "Resize", "Upsample", "DepthToSpace")
_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


# ---------------------------------------------------------------- one node each


def _convt(g: ReadGraph, node: Any, name: str) -> UpOp:
    weight = g.constant(node, 1)
    if weight is None or weight.ndim < 3:
        raise UpscopeError(
            f"ConvTranspose {name!r}: its weight {node.input[1]!r} is computed in the graph, "
            "not stored in the file (upscope reads stored and DequantizeLinear-ed weights)"
        )
    n = weight.ndim - 2
    a = attrs(g.onnx, node)
    kernel = tuple(int(v) for v in weight.shape[2:])
    stride = tuple(int(v) for v in a.get("strides", [1] * n))
    dilation = tuple(int(v) for v in a.get("dilations", [1] * n))
    out_pad = tuple(int(v) for v in a.get("output_padding", [0] * n))
    groups = int(a.get("group", 1))
    auto_pad = text(a.get("auto_pad"), "NOTSET")
    x_shape = g.shape(node.input[0], n + 2)
    spatial = x_shape[2:]
    target = a.get("output_shape")
    if target is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = _derived_pads(
            name, kernel, stride, dilation, out_pad, spatial, target, auto_pad
        )
    elif auto_pad == "VALID":
        begin, end = (0,) * n, (0,) * n
    else:
        pads = [int(v) for v in a.get("pads", [0] * (2 * n))]
        begin, end = tuple(pads[:n]), tuple(pads[n:])
    if min(begin + end, default=0) < 0:
        raise UpscopeError(f"ConvTranspose {name!r}: negative pads {begin + end} are not supported")
    params: dict[str, Any] = {
        "kernel": kernel,
        "stride": stride,
        "padding": begin,
        "output_padding": out_pad,
        "dilation": dilation,
        "groups": groups,
    }
    torch_like = all(o < s or o < d for o, s, d in zip(out_pad, stride, dilation, strict=True))
    if begin != end or not torch_like:
        params["padding_end"] = end
    out_spatial: list[int | None] = []
    for axis, i in enumerate(spatial):
        if i is None:
            out_spatial.append(None)
            continue
        k, s, d = kernel[axis], stride[axis], dilation[axis]
        out_spatial.append(
            arith.convt_output_asym(i, k, s, begin[axis], end[axis], out_pad[axis], d)
        )
    channels = int(weight.shape[1]) * groups
    out_shape = g.merged(node.output[0], (x_shape[0], channels, *out_spatial))
    op = UpOp(name, "ConvTranspose", "convT", x_shape, out_shape, params)
    op.weight = weight.astype(np.float64)
    return op


def _derived_pads(
    name: str,
    kernel: Shape,
    stride: Shape,
    dilation: Shape,
    out_pad: Shape,
    spatial: Dims,
    target: Any,
    auto_pad: str,
) -> tuple[Shape, Shape]:
    """The pads the ONNX specification derives from ``output_shape`` / ``auto_pad`` SAME_*."""
    n = len(kernel)
    wanted = None if target is None else [int(v) for v in target][-n:]
    begin, end = [], []
    for axis in range(n):
        k, s, d, op = kernel[axis], stride[axis], dilation[axis], out_pad[axis]
        i = spatial[axis]
        if wanted is None:  # SAME without output_shape: output = input * stride
            total = op + (k - 1) * d + 1 - s
        elif i is None:
            raise UpscopeError(
                f"ConvTranspose {name!r} sets output_shape, but its input size is unknown, so "
                "its pads are too; give --input-shape"
            )
        else:
            total = s * (i - 1) + op + (k - 1) * d + 1 - wanted[axis]
        if total < 0:
            raise UpscopeError(
                f"ConvTranspose {name!r}: its output would need negative pads ({total} in all on "
                f"axis {axis}), which upscope does not support"
            )
        if auto_pad == "SAME_UPPER":
            begin.append(total // 2)
            end.append(total - total // 2)
        else:
            begin.append(total - total // 2)
            end.append(total // 2)
    return tuple(begin), tuple(end)


def _resize(g: ReadGraph, node: Any, name: str, opset: int) -> UpOp | None:
    a = attrs(g.onnx, node)
    if node.op_type == "Upsample" and "scales" in a:  # Upsample-7: an attribute
        scales: np.ndarray | None = np.asarray(a["scales"], np.float64)
        sizes = None
    elif node.op_type == "Upsample" or opset < 11:  # Upsample-9, Resize-10: X, scales
        scales, sizes = g.constant(node, 1), None
    else:  # Resize-11+: X, roi, scales, sizes
        scales, sizes = g.constant(node, 2), g.constant(node, 3)
    if scales is not None and scales.size == 0:
        scales = None
    if sizes is not None and sizes.size == 0:
        sizes = None
    x_shape = g.shapes.get(node.input[0])
    axes = a.get("axes")
    given = scales if scales is not None else sizes
    rank = len(x_shape) if x_shape is not None else None
    if rank is None and given is not None and axes is None:
        rank = int(given.size)
    if rank is None:
        out = g.shapes.get(node.output[0])
        rank = len(out) if out is not None else None
    if rank is None or rank < 3:
        return None  # not an N x C x spatial image resize that upscope can name
    x_dims: Dims = x_shape if x_shape is not None else (None,) * rank
    full_scales = _full(scales, axes, [1.0] * rank)
    full_sizes = _full(sizes, axes, list(x_dims))  # an axis Resize-18's axes leave out keeps
    policy = text(a.get("keep_aspect_ratio_policy"), "stretch")
    if policy != "stretch":  # not_larger / not_smaller rescale the sizes: shape inference's
        full_sizes = None
    n = rank - 2
    mode = text(a.get("mode"), "nearest")
    ctm = text(
        a.get("coordinate_transformation_mode"), "half_pixel" if opset >= 11 else "asymmetric"
    )
    params: dict[str, Any] = {
        "size": None if full_sizes is None else _known_ints(tuple(full_sizes[2:])),
        "scale_factor": None if full_scales is None else tuple(float(v) for v in full_scales[2:]),
        "mode": {"nearest": "nearest", "linear": _LINEAR.get(n, "linear")}.get(
            mode, "bicubic" if n == 2 else mode
        ),
        "align_corners": None if mode == "nearest" else ctm == "align_corners",
        "coordinate_transformation_mode": ctm,
    }
    if mode == "nearest":
        params["nearest_mode"] = text(a.get("nearest_mode"), "round_prefer_floor")
    out_spatial: list[int | None] = []
    for axis, i in enumerate(x_dims[2:]):
        if full_sizes is not None:
            out_spatial.append(full_sizes[axis + 2])
        elif full_scales is not None and i is not None:
            out_spatial.append(math.floor(i * float(full_scales[axis + 2])))
        else:
            out_spatial.append(None)
    out_shape = g.merged(node.output[0], (*x_dims[:2], *out_spatial))
    if not _enlarges(x_dims[2:], out_shape[2:], params["scale_factor"]):
        return None
    if full_scales is None and full_sizes is None:  # computed in the graph, or rescaled
        params["computed"] = "keep_aspect_ratio_policy=" + policy if sizes is not None else True
        # the output size shape inference found, as torch's size= would give it
        params["size"] = _known_ints(out_shape[2:])
    return UpOp(name, node.op_type, "interpolate", x_dims, out_shape, params)


def _full(values: np.ndarray | None, axes: Any, base: list[Any]) -> list[Any] | None:
    """Per-axis scales or sizes over every axis: ``base`` with the given ones put in (all, or
    those Resize-18's ``axes`` lists); None without values or with a wrong count."""
    if values is None:
        return None
    flat = [v.item() for v in np.asarray(values).reshape(-1)]
    if axes is None:
        return flat if len(flat) == len(base) else None
    if len(flat) != len(axes):
        return None
    full = list(base)
    for axis, value in zip(axes, flat, strict=True):
        full[int(axis) % len(base)] = value
    return full


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


def _depth_to_space(g: ReadGraph, node: Any, name: str) -> UpOp:
    a = attrs(g.onnx, node)
    r = int(a.get("blocksize", 1))
    mode = text(a.get("mode"), "DCR")
    x_dims = g.shape(node.input[0], 4)
    n_c = x_dims[1] if len(x_dims) > 1 else None
    computed: Dims = (
        x_dims[0],
        None if n_c is None else n_c // (r * r),
        *(None if v is None else v * r for v in x_dims[2:]),
    )
    out_shape = g.merged(node.output[0], computed)
    op = UpOp(name, "DepthToSpace", "pixelshuffle", x_dims, out_shape)
    op.params = {"upscale_factor": r, "mode": mode}
    conv = g.producer.get(node.input[0])
    if conv is None or conv.op_type != "Conv" or conv.domain not in ("", "ai.onnx"):
        return op
    weight, bias = g.constant(conv, 1), g.constant(conv, 2)
    if weight is None or weight.shape[0] % (r * r):
        return op
    label = conv.name or f"Conv_{g.index[id(conv)]}"
    op.feeding_conv = (label, _to_crd(weight.astype(np.float64), r, mode))
    if bias is not None:
        op.feeding_bias = _to_crd(bias.astype(np.float64), r, mode)
    op.feeding_params = _conv_params(g, conv, weight.ndim - 2)
    return op


def _conv_params(g: ReadGraph, conv: Any, n: int) -> dict[str, Any]:
    """The feeding Conv's geometry as the fixes read it (as the tracer fills it for torch); pads
    that differ at the two ends, or auto_pad SAME, are a word, which no fix rewrites."""
    a = attrs(g.onnx, conv)
    pads = [int(v) for v in a.get("pads", [0] * (2 * n))]
    auto_pad = text(a.get("auto_pad"), "NOTSET")
    padding: Any = tuple(pads[:n]) if pads[:n] == pads[n:] else "asymmetric"
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        padding = "same"
    return {
        "stride": tuple(int(v) for v in a.get("strides", [1] * n)),
        "padding": padding,
        "dilation": tuple(int(v) for v in a.get("dilations", [1] * n)),
        "groups": int(a.get("group", 1)),
        "module": False,
    }


def _to_crd(values: np.ndarray, r: int, mode: str) -> np.ndarray:
    """Reorder a conv's output channels (axis 0) from DCR to CRD (PixelShuffle's) order.

    DCR puts output (c, i, j) in channel (i*r + j)*C' + c, CRD in c*r*r + i*r + j.

    >>> _to_crd(np.arange(8.0), 2, "DCR").tolist()  # C' = 2: channel c of block k at k*2 + c
    [0.0, 2.0, 4.0, 6.0, 1.0, 3.0, 5.0, 7.0]
    """
    if mode.upper() != "DCR":
        return values
    blocks = values.reshape(r * r, values.shape[0] // (r * r), *values.shape[1:])
    return np.swapaxes(blocks, 0, 1).reshape(values.shape)


# ---------------------------------------------------------------- the graph


def read(path: Path, input_shapes: Sequence[Shape] = ()) -> tuple[list[UpOp], list[Dims]]:
    """Every upsampling node of the ONNX file in graph order, and the graph inputs' shapes."""
    g = load(path, input_shapes)
    opset = next(int(o.version) for o in g.model.opset_import if o.domain in ("", "ai.onnx"))
    ops: list[UpOp] = []
    names: Counter[str] = Counter()
    for index, node in g.nodes:
        if node.domain not in ("", "ai.onnx") or node.op_type not in _UPSAMPLING:
            continue
        base = display_name(node, index)  # the module path the exporter recorded
        name = base if names[base] == 0 else f"{base}#{names[base] + 1}"
        op: UpOp | None
        if node.op_type == "ConvTranspose":
            op = _convt(g, node, name)
        elif node.op_type == "DepthToSpace":
            op = _depth_to_space(g, node, name)
        else:
            op = _resize(g, node, name, opset)
        if op is not None:
            names[base] += 1
            ops.append(op)
    shapes = [dims(i) or () for i in graph_inputs(g.model)]
    return ops, shapes


def scan(spec: str | Path, input_shapes: Sequence[Shape] = ()) -> ScanResult:
    """Read and judge an ONNX file: all of ``upscope scan FILE.onnx`` minus the presentation.

    The judge and the fixes are the PyTorch scan's; what only ONNX says (a resize's coordinate
    transformation, an input size the graph leaves open) is added to each finding's note. No
    forward pass runs, so the response is not measured (None) and no fix is verified.
    """
    ops, shapes = read(resolve(spec), input_shapes)
    findings = judge(ops)
    for finding in findings:
        finding.note += _onnx_note(finding.op)
        finding.fixes = suggest(finding)
        for fix in finding.fixes:
            fix.reason = UNVERIFIED
    return ScanResult(str(spec), shapes, not input_shapes, findings, model_format="onnx")


def _onnx_note(op: UpOp) -> str:
    parts = []
    prm = op.params
    if op.kind == "interpolate":
        extra = f"coordinate_transformation_mode={prm['coordinate_transformation_mode']}"
        if "nearest_mode" in prm:
            extra += f", nearest_mode={prm['nearest_mode']}"
        parts.append(f"ONNX {extra}")
        computed = prm.get("computed")
        found = "" if prm["size"] is None else " (size: its output size, by shape inference)"
        if isinstance(computed, str):
            parts.append(f"{computed} rescales its sizes{found}")
        elif computed:
            parts.append(f"its scales or sizes are computed in the graph, not stored{found}")
    if op.kind == "convT" and op.spatial_in is None:
        parts.append(
            f"input size unknown (give --input-shape): judged on a {STAND_IN_SIZE}-pixel "
            "stand-in per axis (the verdict and interior ratio do not depend on the size)"
        )
    if op.kind == "pixelshuffle" and op.params.get("mode") == "DCR" and op.feeding_conv:
        parts.append("DCR mode: the conv's channels were reordered to CRD (PixelShuffle order)")
    return "".join(f"; {part}" for part in parts)
