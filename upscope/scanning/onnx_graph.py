"""Load an ONNX file for the scan's ONNX front end: checked, shape-inferred, constants folded.

Every failure (no onnx package, a truncated or foreign file, an opset outside
:data:`MIN_OPSET` .. the newest the installed onnx knows, an invalid graph, an ``--input-shape``
that disagrees with the graph) is one :class:`~upscope.errors.UpscopeError` line. torch-free;
``onnx`` is imported by :func:`import_onnx`, only when a file is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from upscope import limits
from upscope.errors import UpscopeError, one_line
from upscope.files import bundled_file, check_regular_file
from upscope.scanning.onnx_check import Node, label
from upscope.scanning.records import Dims, Shape, dims_text

__all__ = [
    "BUNDLED",
    "MIN_OPSET",
    "MISSING_ONNX",
    "ReadGraph",
    "attrs",
    "dims",
    "graph_inputs",
    "import_onnx",
    "load",
    "resolve",
    "text",
]

#: The oldest opset of the default domain read (Upsample-7 holds its scales as an attribute;
#: the newest is the one the installed onnx package knows).
MIN_OPSET = 7
#: Memory to read a file, in file sizes: the bytes, the parsed protobuf, the shape-inferred copy
#: and the weights as float64 arrays (an estimate, checked before anything is read).
LOAD_FACTOR = 6
#: float64 arrays of a quantized weight's size made at once by dequantizing it
DEQUANTIZE_COPIES = 3
#: MODEL ``bundled:NAME`` names one of these samples (samples/decoder_onnx.py builds it).
BUNDLED = "bundled:"
ONNX_SAMPLES = ("decoder.onnx",)
MISSING_ONNX = "upscope scan FILE.onnx needs the onnx package: pip install 'upscope[onnx]'"


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
        #: every node in graph order as (index, node); the nodes of an If/Loop/Scan body follow
        #: the node that holds them
        self.nodes: list[tuple[str, Any]] = []
        graphs = [model.graph]
        for index, node, body in _walk(model.graph):
            self.nodes.append((index, node))
            graphs.extend(body)
        self.index = {id(node): index for index, node in self.nodes}
        self.constants: dict[str, np.ndarray] = {}
        self.shapes: dict[str, Dims] = {}
        for graph in graphs:
            for tensor in graph.initializer:
                self.constants[tensor.name] = onnx.numpy_helper.to_array(tensor)
            for info in [*graph.input, *graph.value_info, *graph.output]:
                known = dims(info)
                if known is not None:
                    self.shapes[info.name] = known
        for name, value in self.constants.items():
            self.shapes.setdefault(name, tuple(int(v) for v in value.shape))
        self.producer: dict[str, Any] = {}
        #: values whose stored computation is outside the specification: the error line,
        #: raised where a judgment reads them (:meth:`constant`)
        self.refused: dict[str, str] = {}
        #: bytes of the float64 weights made by DequantizeLinear so far (budgeted: a quantized
        #: weight is 8 times its stored size once dequantized, more than the file's estimate)
        self.dequantized = 0
        #: values computed from known shapes by :meth:`_fold_shape` (not stored in the file)
        self.folded: set[str] = set()
        for _, node in self.nodes:
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
        elif node.op_type == "DequantizeLinear" and node.input[0] in self.constants:
            try:
                self._dequantize(node)
            except UpscopeError as exc:  # refused only where a judgment reads the weight
                self.refused[node.output[0]] = str(exc)
        elif node.op_type in _SHAPE_OPS and node.output:
            self._fold_shape(node)

    def _fold_shape(self, node: Any) -> None:
        """Shape arithmetic on known shapes (Shape, Slice, Concat, Gather, Cast, Unsqueeze,
        Squeeze, and + - * / of such values), as exporters compute a Resize's ``sizes``: the
        value is kept when every input is known; never an error (a graph that does this wrongly
        is left to shape inference)."""
        out = node.output[0]
        a = attrs(self.onnx, node)
        try:
            if node.op_type == "Shape":
                shape = self.shapes.get(node.input[0])
                if shape is None or any(v is None for v in shape):
                    return
                full = np.array(shape, np.int64)
                start, end = int(a.get("start", 0)), a.get("end")
                self.constants[out] = full[start : None if end is None else int(end)]
                self.folded.add(out)
                return
            values = [self.constant(node, i) for i in range(len(node.input))]
            if not values or values[0] is None:
                return
            if any(v is not None and v.size > _FOLD_MAX for v in values):
                return
            value = _shape_op(node.op_type, a, values)
        except (ValueError, IndexError, TypeError, OverflowError, ZeroDivisionError):
            return
        if value is not None and value.size <= _FOLD_MAX:
            self.constants[out] = value
            self.folded.add(out)

    def _dequantize(self, node: Any) -> None:
        """A quantized stored weight: (q - zero_point) * scale, per tensor or along ``axis``."""
        q, scale, zero = (self.constant(node, i) for i in range(3))
        if q is None or scale is None:
            return
        check = Node(node.op_type, node.name or node.output[0], attrs(self.onnx, node))
        check.tensor("its input x", q)
        check.tensor("its y_scale", scale, "f")
        rank = max(q.ndim, 1)
        axis = check.integer("axis", -rank, rank - 1, 1 if q.ndim > 1 else 0) % rank
        if check.has("block_size") and int(check.attributes["block_size"]) > 0:
            raise check.refuse("blocked quantization (block_size) is not read by upscope")
        shape = [1] * q.ndim
        if scale.size > 1 or scale.ndim == 1:
            if scale.ndim != 1 or q.ndim == 0 or scale.size != q.shape[axis]:
                raise check.fail(
                    "y_scale shape",
                    list(scale.shape),
                    f"a scalar, or ({q.shape[axis] if q.ndim else 1},): one per index of axis "
                    f"{axis} of x {list(q.shape)}",
                )
            shape[axis] = scale.size
        if zero is not None:
            check.tensor("its zero_point", zero)
            if zero.shape != scale.shape:
                raise check.fail(
                    "x_zero_point shape", list(zero.shape), f"y_scale's {list(scale.shape)}"
                )
        limits.check_memory(
            self.dequantized + DEQUANTIZE_COPIES * 8 * q.size,
            f"dequantizing {check.op_type} {label(check.name)} ({q.size} values as float64)",
        )
        self.dequantized += 8 * q.size
        value = q.astype(np.float64)
        if zero is not None:
            value = value - zero.astype(np.float64).reshape(shape if zero.size > 1 else ())
        self.constants[node.output[0]] = value * scale.astype(np.float64).reshape(
            shape if scale.size > 1 else ()
        )

    def constant(self, node: Any, index: int) -> np.ndarray | None:
        """The stored value of input ``index`` of ``node`` (None: absent, empty name, computed)."""
        if index >= len(node.input) or not node.input[index]:
            return None
        refused = self.refused.get(node.input[index])
        if refused is not None:
            raise UpscopeError(refused)
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


_SHAPE_OPS = frozenset(
    {"Shape", "Slice", "Concat", "Gather", "Cast", "Unsqueeze", "Squeeze", "Mul", "Div", "Add"}
    | {"Sub", "Floor", "Ceil"}
)
_FOLD_MAX = 64  # elements: shape values, never tensors of data


def _shape_op(
    op_type: str, a: dict[str, Any], values: list[np.ndarray | None]
) -> np.ndarray | None:
    """One shape-arithmetic node on stored values (None: an input is not known).

    >>> _shape_op("Slice", {}, [np.arange(4), np.array([2]), np.array([4]), np.array([0])])
    array([2, 3])
    """
    x = values[0]
    assert x is not None
    if op_type == "Cast":
        return x.astype(np.float64 if x.dtype.kind == "f" else np.int64)
    if op_type in ("Floor", "Ceil"):
        return np.floor(x) if op_type == "Floor" else np.ceil(x)
    if op_type == "Concat":
        if any(v is None for v in values):
            return None
        return np.concatenate(
            [np.atleast_1d(v) for v in values if v is not None], int(a.get("axis", 0))
        )
    if op_type in ("Mul", "Div", "Add", "Sub"):
        y = values[1] if len(values) > 1 else None
        if y is None:
            return None
        if op_type == "Div":
            if x.dtype.kind in "iu" and y.dtype.kind in "iu":
                return x // y
            return x / y
        return {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract}[op_type](x, y)
    axes_in = values[1] if len(values) > 1 else None
    axes = a.get("axes", None if axes_in is None else axes_in.tolist())
    if op_type == "Unsqueeze":
        return None if axes is None else np.expand_dims(x, tuple(int(v) for v in axes))
    if op_type == "Squeeze":
        return np.squeeze(x) if axes is None else np.squeeze(x, tuple(int(v) for v in axes))
    if op_type == "Gather":
        if axes_in is None:
            return None
        return np.take(x, axes_in, axis=int(a.get("axis", 0)))
    if op_type == "Slice":
        if "starts" in a:  # Slice-1: attributes
            starts, ends, axes_s, steps = a["starts"], a["ends"], a.get("axes"), None
        else:
            if len(values) < 3 or values[1] is None or values[2] is None:
                return None
            starts, ends = values[1].tolist(), values[2].tolist()
            axes_s = None if len(values) < 4 or values[3] is None else values[3].tolist()
            steps = None if len(values) < 5 or values[4] is None else values[4].tolist()
        index = [slice(None)] * x.ndim
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            axis = int(axes_s[i]) if axes_s is not None else i
            index[axis] = slice(int(start), int(end), 1 if steps is None else int(steps[i]))
        return x[tuple(index)]
    return None


def resolve(spec: str | Path) -> Path:
    """MODEL -> the ONNX file: a path, or ``bundled:decoder.onnx`` for a sample upscope installs
    (``upscope.samples``; ``samples/`` in a checkout), which works from any directory. A file
    that is really named so wins.

    >>> resolve("exports/decoder.onnx").as_posix()
    'exports/decoder.onnx'
    >>> resolve("bundled:decoder.onnx").name
    'decoder.onnx'
    """
    text = str(spec)
    if not text.startswith(BUNDLED) or Path(text).exists():
        return Path(text)
    name = text[len(BUNDLED) :]
    if name not in ONNX_SAMPLES:
        raise UpscopeError(f"no bundled ONNX sample {name!r}; bundled: {', '.join(ONNX_SAMPLES)}")
    return bundled_file(name)


def _walk(graph: Any, prefix: str = "") -> Iterator[tuple[str, Any, list[Any]]]:
    """(index, node, the graphs it holds) for every node, its bodies' nodes right after it,
    indexed by the holder's index and the attribute: ``3.then_branch.0``."""
    for i, node in enumerate(graph.node):
        index = f"{prefix}{i}"
        bodies = [(a.name, a.g) for a in node.attribute if a.HasField("g")]
        bodies += [(f"{a.name}{n}", g) for a in node.attribute for n, g in enumerate(a.graphs)]
        yield index, node, [body for _, body in bodies]
        for name, body in bodies:
            yield from _walk(body, f"{index}.{name}.")


def dims(info: Any) -> Dims | None:
    """A value's shape, None per dimension that is symbolic or unset; None without a shape."""
    kind = info.type.WhichOneof("value")
    if kind != "tensor_type" or not info.type.tensor_type.HasField("shape"):
        return None
    return tuple(
        int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else None
        for d in info.type.tensor_type.shape.dim
    )


def attrs(onnx: Any, node: Any) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def text(value: Any, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def load(path: Path, input_shapes: Sequence[Shape]) -> ReadGraph:
    """Read, check, fix the inputs' dimensions and infer shapes; every failure is one line."""
    onnx = import_onnx()
    check_regular_file(path, "ONNX file")
    size = path.stat().st_size
    limits.check_memory(LOAD_FACTOR * size, f"reading the ONNX file {path.name}")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends: one line
        raise UpscopeError(
            f"{path.name} is not a readable ONNX model ({type(exc).__name__}: "
            f"{one_line(exc, 300)}): truncated, or not an ONNX file"
        ) from None
    if not model.ir_version or not model.HasField("graph"):
        raise UpscopeError(f"{path.name} is not an ONNX model (no IR version or graph)")
    _check_opset(onnx, model, path.name)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx's ValidationError: one line
        raise UpscopeError(f"{path.name} is not a valid ONNX model: {one_line(exc, 300)}") from None
    _fix_inputs(model, input_shapes)
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx's InferenceError: one line
        raise UpscopeError(f"shape inference failed on {path.name}: {one_line(exc, 300)}") from None
    return ReadGraph(model, onnx)


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
        graph_dims = dims(info)
        if graph_dims is not None and len(graph_dims) != len(shape):
            raise UpscopeError(
                f"input {info.name!r} has {len(graph_dims)} dimensions; --input-shape {given} "
                f"has {len(shape)}"
            )
        if graph_dims is not None:
            for have, want in zip(graph_dims, shape, strict=True):
                if have is not None and have != want:
                    shown = dims_text(graph_dims)
                    raise UpscopeError(
                        f"input {info.name!r} is {shown} in the graph; --input-shape {given} "
                        "disagrees"
                    )
        proto = info.type.tensor_type.shape
        del proto.dim[:]
        for value in shape:
            proto.dim.add().dim_value = value
