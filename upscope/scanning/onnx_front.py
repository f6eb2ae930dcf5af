"""Read an ONNX file for ``upscope scan FILE.onnx``: every upsampling node, in graph order.

Loading, checking and shape inference are :mod:`.onnx_graph`'s.

The second front end of the scan (the first is the torch tracer,
:mod:`upscope.scanning.torch_front`): it fills the same :class:`~.records.UpOp` records, with the
same ``kind`` and ``params`` keys, so one judge (:mod:`upscope.scanning.judge`), one table and
one figure serve both. It imports neither torch nor matplotlib; the ``onnx`` package (the
optional extra ``upscope[onnx]``) is imported when a file is read.

Every attribute and stored input a judgment reads is checked against the operator
specification first (:mod:`.onnx_check`: one line naming the node, the attribute, its value and
the accepted range), and the judging is budgeted (:func:`check_judge_memory`) before any array.

- ``ConvTranspose`` (1D/2D/3D) -> ``convT``: :mod:`.onnx_conv`.
- ``Resize`` and ``Upsample`` -> ``interpolate``: :mod:`.onnx_resize`. A resize that enlarges
  no spatial axis is left out, as the tracer leaves out a resize down.
- ``DepthToSpace`` -> ``pixelshuffle`` with ``upscale_factor`` = blocksize and ``mode`` DCR/CRD
  (here). The Conv whose output it takes, through activations and stored affine constants
  (folded into its weight and bias), is its feeding conv; in DCR mode that conv's output
  channels are reordered to CRD, which is PyTorch's PixelShuffle order, so the same judge reads
  them.

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

from upscope import limits
from upscope.errors import UpscopeError
from upscope.limits import MAX_STEP
from upscope.scanning.fix import suggest
from upscope.scanning.judge import STAND_IN_SIZE, ScanResult, judge
from upscope.scanning.onnx_check import Node, label
from upscope.scanning.onnx_conv import convtranspose, geometry, node_check, stored_weight
from upscope.scanning.onnx_graph import (
    ReadGraph,
    dims,
    graph_inputs,
    load,
    resolve,
)
from upscope.scanning.onnx_names import display_name
from upscope.scanning.onnx_resize import resize
from upscope.scanning.records import Dims, Shape, UpOp

__all__ = ["UNVERIFIED", "read", "scan"]

#: Why no fix of an ONNX node is verified.
UNVERIFIED = "an ONNX graph has no module to swap it into: apply it where the model is built"

_UPSAMPLING = ("ConvTranspose", "Resize", "Upsample", "DepthToSpace")


# ---------------------------------------------------------------- one node each


#: elementwise nodes the output of the conv before a DepthToSpace may pass through (the torch
#: tracer's activations): each keeps every channel's constant-input response an equal function
#: of it, so the conv's weights are what the judge reads
_ACTIVATIONS = frozenset(
    {"Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid"}
    | {"HardSwish", "Tanh", "Softplus", "Mish", "Clip", "Identity", "Dropout"}
)
#: elementwise arithmetic with a stored scalar or per-channel constant, folded into the conv's
#: weight and bias exactly (x*c, x/c: both scaled; x+c, x-c: the bias moved)
_AFFINE = ("Mul", "Div", "Add", "Sub")


def _depth_to_space(g: ReadGraph, node: Any, name: str) -> UpOp:
    check = node_check(g, node, name)
    r = check.integer("blocksize", 1, MAX_STEP, None)
    mode = check.word("mode", ("DCR", "CRD"), "DCR")
    x_dims = g.shape(node.input[0], 4)
    if len(x_dims) != 4:
        raise check.refuse(f"its input has rank {len(x_dims)}; the ONNX specification takes 4")
    n_c = x_dims[1]
    if n_c is not None and n_c % (r * r):
        raise check.fail("blocksize", r, f"r with r*r dividing its {n_c} input channels")
    check.dims("input size", x_dims[2:])
    computed: Dims = (
        x_dims[0],
        None if n_c is None else n_c // (r * r),
        *(None if v is None else v * r for v in x_dims[2:]),
    )
    check.dims("output size", computed[2:])
    out_shape = g.merged(node.output[0], computed)
    op = UpOp(name, "DepthToSpace", "pixelshuffle", x_dims, out_shape)
    op.params = {"upscale_factor": r, "mode": mode}
    found = _feeding_conv(g, node.input[0])
    if found is None:
        return op
    conv, scale, shift, via = found
    conv_name = conv.name or f"Conv_{g.index[id(conv)]}"
    conv_check = node_check(g, conv, conv_name)
    weight = stored_weight(g, conv_check, conv, None)
    bias = g.constant(conv, 2)
    if weight.shape[0] % (r * r):
        raise check.fail(
            "blocksize", r, f"r with r*r dividing the {weight.shape[0]} channels of {conv_name!r}"
        )
    out_c = int(weight.shape[0])
    if bias is not None and (conv_check.tensor("its bias", bias).shape != (out_c,)):
        raise conv_check.fail("bias shape", list(bias.shape), f"({out_c},): one per output channel")
    w = weight.astype(np.float64)
    b = None if bias is None else bias.astype(np.float64)
    if scale is not None:
        w = w * scale.reshape(-1, *[1] * (w.ndim - 1))
        b = None if b is None else b * scale
    if shift is not None:
        b = shift if b is None else b + shift
    op.feeding_conv = (conv_name, _to_crd(w, r, mode))
    if b is not None:
        op.feeding_bias = _to_crd(b, r, mode)
    op.feeding_params = _conv_params(conv_check, w.ndim - 2, out_c)
    op.feeding_params["via"] = via
    return op


def _feeding_conv(
    g: ReadGraph, value: str
) -> tuple[Any, np.ndarray | None, np.ndarray | None, list[str]] | None:
    """The Conv whose output reaches ``value`` through activations and affine constants:
    (conv, per-channel scale, per-channel shift, the ops passed, conv first); None if none."""
    ops: list[Any] = []
    node = g.producer.get(value)
    while node is not None and node.domain in ("", "ai.onnx") and node.op_type != "Conv":
        if node.op_type in _ACTIVATIONS and node.input:
            ops.append((node, None))
            node = g.producer.get(node.input[0])
            continue
        if node.op_type not in _AFFINE or len(node.input) != 2:
            return None
        const = [g.constant(node, i) for i in (0, 1)]
        side = 1 if const[1] is not None else 0
        if const[side] is None or const[1 - side] is not None:
            return None
        if side == 0 and node.op_type in ("Div", "Sub"):
            return None  # c / x, c - x: not affine in x with a positive slope
        ops.append((node, const[side]))
        node = g.producer.get(node.input[1 - side])
    if node is None or node.domain not in ("", "ai.onnx"):
        return None
    channels = g.constant(node, 1)
    if channels is None or channels.ndim < 3:
        return None
    scale: np.ndarray | None = None
    shift: np.ndarray | None = None
    activated = False
    for op, const in reversed(ops):  # from the conv on
        if const is None:
            activated = True
            continue
        c = _per_channel(np.asarray(const, np.float64), int(channels.shape[0]), channels.ndim)
        if c is None or (activated and (op.op_type in ("Add", "Sub") or c.size != 1)):
            return None  # after an activation only a scalar factor carries over
        if op.op_type in ("Mul", "Div"):
            if op.op_type == "Div" and not np.all(c != 0):
                return None
            factor = c if op.op_type == "Mul" else 1.0 / c
            scale = factor if scale is None else scale * factor
            shift = None if shift is None else shift * factor
        else:
            move = c if op.op_type == "Add" else -c
            shift = move if shift is None else shift + move
    if scale is not None:
        scale = np.broadcast_to(scale, (int(channels.shape[0]),)).copy()
    if shift is not None:
        shift = np.broadcast_to(shift, (int(channels.shape[0]),)).copy()
    return node, scale, shift, [op.op_type for op, _ in reversed(ops)]


def _per_channel(const: np.ndarray, channels: int, rank: int) -> np.ndarray | None:
    """A constant that is a scalar or one value per channel (shape (C, 1, ..) or (1, C, 1, ..))
    as a (C,) or (1,) array; None for anything else (spatial constants are not folded)."""
    if const.size == 1:
        value = const.reshape(1)
        return value if np.all(np.isfinite(value)) else None
    shape = list(const.shape)
    if len(shape) > rank:
        return None
    padded = [1] * (rank - len(shape)) + shape
    if padded[1] != channels or any(v != 1 for i, v in enumerate(padded) if i != 1):
        return None
    value = const.reshape(channels)
    return value if np.all(np.isfinite(value)) else None


def _conv_params(check: Node, n: int, out_channels: int) -> dict[str, Any]:
    """The feeding Conv's geometry as the fixes read it (as the tracer fills it for torch); pads
    that differ at the two ends, or auto_pad SAME, are a word, which no fix rewrites."""
    geo = geometry(check, n, out_channels)
    pads, auto_pad = geo["pads"], geo["auto_pad"]
    padding: Any = tuple(pads[:n]) if pads[:n] == pads[n:] else "asymmetric"
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        padding = "same"
    return {
        "stride": geo["stride"],
        "padding": padding,
        "dilation": geo["dilation"],
        "groups": geo["groups"],
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
            op = convtranspose(g, node, name)
        elif node.op_type == "DepthToSpace":
            op = _depth_to_space(g, node, name)
        else:
            op = resize(g, node, name, opset)
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
    check_judge_memory(ops)
    findings = judge(ops)
    for finding in findings:
        finding.note += _onnx_note(finding.op)
        finding.fixes = suggest(finding)
        for fix in finding.fixes:
            fix.reason = UNVERIFIED
    return ScanResult(str(spec), shapes, not input_shapes, findings, model_format="onnx")


#: float64 arrays of a transposed conv's phase-sum size the judge holds at once (the sums, the
#: summing buffer, their flat copy and absolute values)
JUDGE_COPIES = 4


def judge_bytes(op: UpOp) -> int:
    """Peak bytes the judge needs for ``op`` beyond its stored weight: a transposed conv's
    polyphase sums are (C_out, *stride) float64, summed axis by axis from (C_out, *kernel); the
    overlap map checks its own size (:func:`upscope.overlap_map.stack_overlap`).

    >>> op = UpOp("up", "ConvTranspose", "convT", (1, 4, 8, 8), (1, 4, 16, 16))
    >>> op.params = {"kernel": (3, 3), "stride": (65536, 65536), "groups": 1}
    >>> op.weight = np.zeros((4, 4, 1, 1))
    >>> judge_bytes(op) // 2**30  # 4 channels x 65536^2 phases x 8 bytes x 4 copies
    512
    """
    if op.kind != "convT" or op.weight is None:
        return 0
    channels = int(op.weight.shape[1]) * int(op.params["groups"])
    cells = math.prod(
        max(k, s) for k, s in zip(op.params["kernel"], op.params["stride"], strict=True)
    )
    return JUDGE_COPIES * 8 * channels * cells


def check_judge_memory(ops: Sequence[UpOp]) -> None:
    """Refuse, before any array is made, a graph whose judging needs more than the budget
    (:func:`upscope.limits.check_memory`, ``--max-memory``): the ops are judged one at a time,
    so the largest op decides."""
    if not ops:
        return
    worst = max(ops, key=judge_bytes)
    need = judge_bytes(worst)
    if need:
        strides = "x".join(map(str, worst.params["stride"]))
        limits.check_memory(
            need, f"judging {worst.type} {label(worst.name)} (polyphase sums for stride {strides})"
        )
    for op in ops:
        _check_map_size(op)


def _check_map_size(op: UpOp) -> None:
    """A transposed conv whose overlap map exceeds :data:`~upscope.overlap_map.MAX_CELLS` even on
    the judge's smallest input (32 pixels per axis at most) is refused naming the node: the
    map's work is O(input + output) (:mod:`upscope.overlap_map`), and this output is too large."""
    if op.kind != "convT":
        return
    from upscope.overlap_map import MAX_CELLS

    prm = op.params
    size = tuple(min(n, 32) for n in (op.spatial_in or (STAND_IN_SIZE,) * op.ndim))
    ends = prm.get("padding_end", prm["padding"])
    out = [
        (i - 1) * s + d * (k - 1) + 1 + o - b - e
        for i, k, s, d, o, b, e in zip(
            size,
            prm["kernel"],
            prm["stride"],
            prm["dilation"],
            prm["output_padding"],
            prm["padding"],
            ends,
            strict=True,
        )
    ]
    if math.prod(out) > MAX_CELLS:
        raise UpscopeError(
            f"{op.type} {label(op.name)}: its overlap map is {'x'.join(map(str, out))} pixels "
            f"on a {'x'.join(map(str, size))} input, more than the {MAX_CELLS} upscope computes "
            "(kernel x dilation too large to judge)"
        )


def _onnx_note(op: UpOp) -> str:
    parts = []
    prm = op.params
    if op.kind == "interpolate":
        extra = f"coordinate_transformation_mode={prm['coordinate_transformation_mode']}"
        if "nearest_mode" in prm:
            extra += f", nearest_mode={prm['nearest_mode']}"
        parts.append(f"ONNX {extra}")
        policy = prm.get("keep_aspect_ratio_policy")
        if policy and not isinstance(prm.get("computed"), str):
            parts.append(
                f"keep_aspect_ratio_policy={policy} rescales its sizes: one scale for every "
                "axis they name, as the ONNX specification says"
            )
        if prm.get("folded"):
            parts.append("its scales or sizes are computed in the graph from known shapes")
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
    via = op.feeding_params.get("via") if op.kind == "pixelshuffle" else None
    if via:
        folded = [v for v in via if v in _AFFINE]
        parts.append(
            f"the conv is followed through {', '.join(via)}"
            + (
                f" ({', '.join(folded)} by stored constants folded into its weights)"
                if folded
                else ""
            )
        )
    if op.kind == "pixelshuffle" and op.params.get("mode") == "DCR" and op.feeding_conv:
        parts.append("DCR mode: the conv's channels were reordered to CRD (PixelShuffle order)")
    return "".join(f"; {part}" for part in parts)
