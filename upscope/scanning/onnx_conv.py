"""The ONNX front end's ``ConvTranspose`` nodes -> ``convT`` ops (see :mod:`.onnx_front`), and
the weight and geometry readers the ``Conv`` before a ``DepthToSpace`` shares: every attribute
and stored input checked (:mod:`.onnx_check`) before any arithmetic.

``kernel`` comes from the weight, ``stride``, ``dilation``, ``groups``, ``output_padding`` from
the attributes; ``padding`` is the padding at the start of each axis and, where ONNX's ``pads``
differ at the end, ``padding_end`` the padding at the end. ``output_shape`` and ``auto_pad``
SAME_UPPER / SAME_LOWER give the pads as the operator's specification derives them. The weight
(C_in, C_out / group, *K) is the same layout as torch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from upscope import arith
from upscope.errors import UpscopeError
from upscope.limits import MAX_INT, MAX_STEP
from upscope.scanning.onnx_check import Node, label
from upscope.scanning.onnx_graph import ReadGraph, attrs
from upscope.scanning.records import Dims, Shape, UpOp

__all__ = ["AUTO_PAD", "convtranspose", "geometry", "node_check", "stored_weight"]

AUTO_PAD = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def node_check(g: ReadGraph, node: Any, name: str) -> Node:
    return Node(node.op_type, name, attrs(g.onnx, node))


def stored_weight(g: ReadGraph, check: Node, node: Any, x_rank: int | None) -> np.ndarray:
    """A stored conv weight (C, M, *K), checked: numeric, of the input's rank, no empty axis."""
    weight = g.constant(node, 1)
    if weight is None or weight.ndim < 3:
        if weight is not None:
            raise check.refuse(
                f"its weight {label(node.input[1])} has shape {list(weight.shape)}; the ONNX "
                "specification takes (C, M, k1, k2, ...)"
            )
        raise check.refuse(
            f"its weight {label(node.input[1])} is computed in the graph, not stored in the file "
            "(upscope reads stored and DequantizeLinear-ed weights)"
        )
    check.tensor(f"its weight {label(node.input[1])}", weight, "f")
    if x_rank is not None and weight.ndim != x_rank:
        raise check.refuse(
            f"its weight {label(node.input[1])} has rank {weight.ndim} but its input has rank "
            f"{x_rank}; the ONNX specification needs the same rank"
        )
    if min(weight.shape) < 1:
        raise check.fail("weight shape", list(weight.shape), "every dimension at least 1")
    if check.has("kernel_shape"):
        check.ints("kernel_shape", weight.ndim - 2, 1, MAX_INT, None)
        if tuple(check.attributes["kernel_shape"]) != tuple(weight.shape[2:]):
            raise check.fail(
                "kernel_shape", check.attributes["kernel_shape"], f"the weight's {weight.shape[2:]}"
            )
    return weight


def geometry(check: Node, n: int, channels: int) -> dict[str, Any]:
    """Strides, dilations, pads, group and auto_pad of a Conv or ConvTranspose, checked."""
    group = check.integer("group", 1, channels, 1, f"1 to the {channels} input channels")
    if channels % group:
        raise check.fail("group", group, f"a divisor of the {channels} input channels")
    return {
        "stride": check.ints("strides", n, 1, MAX_STEP, 1),
        "dilation": check.ints("dilations", n, 1, MAX_STEP, 1),
        "pads": check.ints("pads", 2 * n, 0, MAX_INT, 0),
        "groups": group,
        "auto_pad": check.word("auto_pad", AUTO_PAD, "NOTSET"),
    }


def convtranspose(g: ReadGraph, node: Any, name: str) -> UpOp:
    check = node_check(g, node, name)
    x_known = g.shapes.get(node.input[0])
    weight = stored_weight(g, check, node, None if x_known is None else len(x_known))
    n = weight.ndim - 2
    x_shape = g.shape(node.input[0], n + 2)
    kernel = tuple(int(v) for v in weight.shape[2:])
    geo = geometry(check, n, int(weight.shape[0]))
    stride, dilation, groups, auto_pad = (
        geo["stride"],
        geo["dilation"],
        geo["groups"],
        geo["auto_pad"],
    )
    if x_shape[1] is not None and x_shape[1] != weight.shape[0]:
        raise check.refuse(
            f"its input has {x_shape[1]} channels but its weight {label(node.input[1])} takes "
            f"{weight.shape[0]} (the ONNX specification: weight (C, M/group, k1, ...))"
        )
    out_pad = check.ints("output_padding", n, 0, MAX_INT, 0)
    for o, s, d in zip(out_pad, stride, dilation, strict=True):
        if o >= max(s, d):
            raise check.fail(
                "output_padding", list(out_pad), "each less than its axis' stride or dilation"
            )
    spatial = x_shape[2:]
    check.dims("input size", spatial)
    target = None
    if check.has("output_shape"):
        shape_len = len(check.attributes["output_shape"])
        target = check.ints("output_shape", n if shape_len != n + 2 else n + 2, 1, MAX_INT, None)
    if target is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = _derived_pads(
            name, kernel, stride, dilation, out_pad, spatial, target, auto_pad
        )
    elif auto_pad == "VALID":
        begin, end = (0,) * n, (0,) * n
    else:
        pads = geo["pads"]
        begin, end = tuple(pads[:n]), tuple(pads[n:])
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
        try:
            out_spatial.append(
                arith.convt_output_asym(i, k, s, begin[axis], end[axis], out_pad[axis], d)
            )
        except UpscopeError as exc:  # an empty output (pads larger than it): name the node
            raise check.refuse(f"axis {axis}: {exc}") from None
    check.dims("output size", out_spatial)
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
