"""Read an ONNX file for ``upscope scan FILE.onnx``: every upsampling node, in graph order.

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
(its position in the graph) when it has none; a name seen again gets ``#2``, ``#3``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from upscope.errors import UpscopeError
from upscope.scanning.judge import STAND_IN_SIZE, ScanResult, judge
from upscope.scanning.records import Dims, Shape, UpOp

__all__ = ["MIN_OPSET", "MISSING_ONNX", "ReadGraph", "import_onnx", "read", "scan"]

#: The oldest opset of the default domain read (Upsample-7 holds its scales as an attribute;
#: the newest is the one the installed onnx package knows).
MIN_OPSET = 7
MISSING_ONNX = "upscope scan FILE.onnx needs the onnx package: pip install 'upscope[onnx]'"
_UPSAMPLING = ("ConvTranspose", "Resize", "Upsample", "DepthToSpace")
_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def import_onnx() -> Any:
    """The ``onnx`` module, or :class:`UpscopeError` with the install line when it is missing."""
    try:
        import onnx
        import onnx.numpy_helper
        import onnx.shape_inference
    except ImportError:
        raise UpscopeError(MISSING_ONNX) from None
    return onnx


class ReadGraph:
    """An ONNX model after shape inference: its constants, value shapes and producers."""

    def __init__(self, model: Any, onnx: Any) -> None:
        self.model, self.onnx = model, onnx
        graph = model.graph
        self.constants: dict[str, np.ndarray] = {}
        for tensor in graph.initializer:
            self.constants[tensor.name] = onnx.numpy_helper.to_array(tensor)
        self.shapes: dict[str, Dims] = {}
        for info in [*graph.input, *graph.value_info, *graph.output]:
            dims = _dims(info)
            if dims is not None:
                self.shapes[info.name] = dims
        for name, value in self.constants.items():
            self.shapes.setdefault(name, tuple(int(v) for v in value.shape))
        self.producer: dict[str, Any] = {}
        for node in graph.node:
            for out in node.output:
                self.producer[out] = node
            if node.domain in ("", "ai.onnx"):
                self._fold(node)

    def _fold(self, node: Any) -> None:
        """Keep the value of a Constant node and of an Identity of a constant."""
        if node.op_type == "Constant" and node.output:
            attrs = {a.name: a for a in node.attribute}
            if "value" in attrs:
                value = self.onnx.numpy_helper.to_array(attrs["value"].t)
            elif "value_floats" in attrs:
                value = np.array(attrs["value_floats"].floats, np.float32)
            elif "value_ints" in attrs:
                value = np.array(attrs["value_ints"].ints, np.int64)
            elif "value_float" in attrs:
                value = np.array(attrs["value_float"].f, np.float32)
            elif "value_int" in attrs:
                value = np.array(attrs["value_int"].i, np.int64)
            else:
                return
            self.constants[node.output[0]] = value
            self.shapes.setdefault(node.output[0], tuple(int(v) for v in value.shape))
        elif node.op_type == "Identity" and node.input and node.input[0] in self.constants:
            self.constants[node.output[0]] = self.constants[node.input[0]]

    def constant(self, node: Any, index: int) -> np.ndarray | None:
        """The stored value of input ``index`` of ``node`` (None: absent, empty name, computed)."""
        if index >= len(node.input) or not node.input[index]:
            return None
        return self.constants.get(node.input[index])

    def merged(self, name: str, computed: Dims) -> Dims:
        """``computed`` with each unknown dimension taken from shape inference, if it knows it."""
        inferred = self.shapes.get(name)
        if inferred is None or len(inferred) != len(computed):
            return computed
        return tuple(v if v is not None else w for v, w in zip(computed, inferred, strict=True))

    def shape(self, name: str, rank: int | None = None) -> Dims:
        dims = self.shapes.get(name)
        if dims is None:
            return (None,) * (rank or 0)
        return dims


def _dims(info: Any) -> Dims | None:
    """A value's shape, None per dimension that is symbolic or unset; None without a shape."""
    kind = info.type.WhichOneof("value")
    if kind != "tensor_type" or not info.type.tensor_type.HasField("shape"):
        return None
    return tuple(
        int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else None
        for d in info.type.tensor_type.shape.dim
    )


def _attrs(onnx: Any, node: Any) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _text(value: Any, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------- loading


def load(path: Path, input_shapes: Sequence[Shape]) -> ReadGraph:
    """Read, check, fix the inputs' dimensions and infer shapes; every failure is one line."""
    onnx = import_onnx()
    if not path.is_file():
        raise UpscopeError(f"ONNX file {str(path)!r} not found")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends: one line
        raise UpscopeError(
            f"{path.name} is not a readable ONNX model ({type(exc).__name__}: "
            f"{_short(exc)}); is the file complete?"
        ) from None
    if not model.ir_version or not model.HasField("graph"):
        raise UpscopeError(f"{path.name} is not an ONNX model (no IR version or graph)")
    _check_opset(onnx, model, path.name)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx's ValidationError: one line
        raise UpscopeError(f"{path.name} is not a valid ONNX model: {_short(exc)}") from None
    _fix_inputs(model, input_shapes)
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx's InferenceError: one line
        raise UpscopeError(f"shape inference failed on {path.name}: {_short(exc)}") from None
    return ReadGraph(model, onnx)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + " ..."


def _check_opset(onnx: Any, model: Any, name: str) -> None:
    newest = int(onnx.defs.onnx_opset_version())
    versions = [int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise UpscopeError(f"{name} imports no opset of the default ONNX domain")
    version = versions[0]
    if not MIN_OPSET <= version <= newest:
        raise UpscopeError(
            f"{name} uses opset {version}; upscope reads opsets {MIN_OPSET} to {newest} (the "
            "newest the installed onnx package knows)"
        )


def graph_inputs(model: Any) -> list[Any]:
    """The graph's real inputs (not initializers listed as inputs, as old exporters did)."""
    stored = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in stored]


def _fix_inputs(model: Any, input_shapes: Sequence[Shape]) -> None:
    inputs = graph_inputs(model)
    if len(input_shapes) > len(inputs):
        raise UpscopeError(
            f"{len(input_shapes)} --input-shape given, but the graph has {len(inputs)} input(s)"
        )
    for info, shape in zip(inputs, input_shapes, strict=False):
        given = "x".join(map(str, shape))
        dims = _dims(info)
        if dims is not None and len(dims) != len(shape):
            raise UpscopeError(
                f"input {info.name!r} has {len(dims)} dimensions; --input-shape {given} has "
                f"{len(shape)}"
            )
        if dims is not None:
            for have, want in zip(dims, shape, strict=True):
                if have is not None and have != want:
                    shown = "x".join("?" if v is None else str(v) for v in dims)
                    raise UpscopeError(
                        f"input {info.name!r} is {shown} in the graph; --input-shape {given} "
                        "disagrees"
                    )
        proto = info.type.tensor_type.shape
        del proto.dim[:]
        for value in shape:
            proto.dim.add().dim_value = value


# ---------------------------------------------------------------- one node each


def _convt(g: ReadGraph, node: Any, name: str) -> UpOp:
    weight = g.constant(node, 1)
    if weight is None or weight.ndim < 3:
        raise UpscopeError(
            f"ConvTranspose {name!r}: its weight {node.input[1]!r} is not stored in the file "
            "(computed or quantized in the graph); upscope reads only stored weights"
        )
    n = weight.ndim - 2
    a = _attrs(g.onnx, node)
    kernel = tuple(int(v) for v in weight.shape[2:])
    stride = tuple(int(v) for v in a.get("strides", [1] * n))
    dilation = tuple(int(v) for v in a.get("dilations", [1] * n))
    out_pad = tuple(int(v) for v in a.get("output_padding", [0] * n))
    groups = int(a.get("group", 1))
    auto_pad = _text(a.get("auto_pad"), "NOTSET")
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
        grown = (i - 1) * s + d * (k - 1) + 1 + out_pad[axis]
        out_spatial.append(grown - begin[axis] - end[axis])
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
    a = _attrs(g.onnx, node)
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
    full_scales = _full(scales, axes, rank, 1.0)
    full_sizes = _full(sizes, axes, rank, None)
    n = rank - 2
    mode = _text(a.get("mode"), "nearest")
    ctm = _text(
        a.get("coordinate_transformation_mode"), "half_pixel" if opset >= 11 else "asymmetric"
    )
    params: dict[str, Any] = {
        "size": None if full_sizes is None else tuple(int(v) for v in full_sizes[2:]),
        "scale_factor": None if full_scales is None else tuple(float(v) for v in full_scales[2:]),
        "mode": {"nearest": "nearest", "linear": _LINEAR.get(n, "linear")}.get(
            mode, "bicubic" if n == 2 else mode
        ),
        "align_corners": None if mode == "nearest" else ctm == "align_corners",
        "coordinate_transformation_mode": ctm,
    }
    if mode == "nearest":
        params["nearest_mode"] = _text(a.get("nearest_mode"), "round_prefer_floor")
    out_spatial: list[int | None] = []
    for axis, i in enumerate(x_dims[2:]):
        if full_sizes is not None:
            out_spatial.append(int(full_sizes[axis + 2]))
        elif full_scales is not None and i is not None:
            out_spatial.append(math.floor(i * float(full_scales[axis + 2])))
        else:
            out_spatial.append(None)
    out_shape = g.merged(node.output[0], (*x_dims[:2], *out_spatial))
    if not _enlarges(x_dims[2:], out_shape[2:], params["scale_factor"]):
        return None
    return UpOp(name, node.op_type, "interpolate", x_dims, out_shape, params)


def _full(values: np.ndarray | None, axes: Any, rank: int, fill: Any) -> list[Any] | None:
    """Per-axis scales or sizes over all ``rank`` axes (Resize-18's ``axes`` lists some)."""
    if values is None:
        return None
    flat = [v.item() for v in np.asarray(values).reshape(-1)]
    if axes is None:
        return flat if len(flat) == rank else None
    full: list[Any] = [fill] * rank
    for axis, value in zip(axes, flat, strict=False):
        full[int(axis) % rank] = value
    if any(v is None for v in full):
        return None
    return full


def _enlarges(ins: Dims, outs: Dims, scales: tuple[float, ...] | None) -> bool:
    """Whether some spatial axis grows (unknown: kept, so nothing is hidden)."""
    known = [(i, o) for i, o in zip(ins, outs, strict=True) if i is not None and o is not None]
    if len(known) == len(ins):
        return any(o > i for i, o in known)
    if scales is not None:
        return any(s > 1 for s in scales)
    return True


def _depth_to_space(g: ReadGraph, node: Any, name: str) -> UpOp:
    a = _attrs(g.onnx, node)
    r = int(a.get("blocksize", 1))
    mode = _text(a.get("mode"), "DCR")
    x_dims = g.shape(node.input[0], 4)
    n_c = x_dims[1] if len(x_dims) > 1 else None
    out_shape: Dims = (
        x_dims[0],
        None if n_c is None else n_c // (r * r),
        *(None if v is None else v * r for v in x_dims[2:]),
    )
    op = UpOp(name, "DepthToSpace", "pixelshuffle", x_dims, out_shape)
    op.params = {"upscale_factor": r, "mode": mode}
    conv = g.producer.get(node.input[0])
    if conv is None or conv.op_type != "Conv" or conv.domain not in ("", "ai.onnx"):
        return op
    weight, bias = g.constant(conv, 1), g.constant(conv, 2)
    if weight is None or weight.shape[0] % (r * r):
        return op
    label = conv.name or f"Conv_{list(g.model.graph.node).index(conv)}"
    op.feeding_conv = (label, _to_crd(weight.astype(np.float64), r, mode))
    if bias is not None:
        op.feeding_bias = _to_crd(bias.astype(np.float64), r, mode)
    return op


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
    for index, node in enumerate(g.model.graph.node):
        if node.domain not in ("", "ai.onnx") or node.op_type not in _UPSAMPLING:
            continue
        base = node.name or f"{node.op_type}_{index}"
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
    shapes = [_dims(i) or () for i in graph_inputs(g.model)]
    return ops, shapes


def scan(path: Path, input_shapes: Sequence[Shape] = ()) -> ScanResult:
    """Read and judge an ONNX file: all of ``upscope scan FILE.onnx`` minus the presentation.

    The judge is the PyTorch scan's; what only ONNX says (a resize's coordinate transformation,
    an input size the graph leaves open) is added to each finding's note.
    """
    ops, shapes = read(path, input_shapes)
    findings = judge(ops)
    for finding in findings:
        finding.note += _onnx_note(finding.op)
    return ScanResult(str(path), shapes, not input_shapes, findings, model_format="onnx")


def _onnx_note(op: UpOp) -> str:
    parts = []
    prm = op.params
    if op.kind == "interpolate":
        extra = f"coordinate_transformation_mode={prm['coordinate_transformation_mode']}"
        if "nearest_mode" in prm:
            extra += f", nearest_mode={prm['nearest_mode']}"
        parts.append(f"ONNX {extra}")
        if prm["size"] is None and prm["scale_factor"] is None:
            parts.append("its scales and sizes are computed in the graph, not stored")
    if op.kind == "convT" and op.spatial_in is None:
        parts.append(
            f"input size unknown (give --input-shape): judged on a {STAND_IN_SIZE}-pixel "
            "stand-in per axis (the verdict and interior ratio do not depend on the size)"
        )
    if op.kind == "pixelshuffle" and op.params.get("mode") == "DCR" and op.feeding_conv:
        parts.append("DCR mode: the conv's channels were reordered to CRD (PixelShuffle order)")
    return "".join(f"; {part}" for part in parts)
