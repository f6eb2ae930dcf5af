"""ONNX graphs outside the operator specification (or past upscope's budget), built with
``onnx.helper``: shared by tests/test_scan_onnx.py (in process) and tests/test_hostile.py (each
as a subprocess). Each entry: a file name, its builder, and a piece of the one error line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx import helper as oh

FLOAT = TensorProto.FLOAT
W = np.ones((4, 4, 3, 3), np.float32)


def save(
    path: Path,
    nodes: list[Any],
    x_shape: list[Any],
    arrays: dict[str, Any],
    opset: int = 17,
    out: str = "y",
) -> Path:
    init = [
        a if isinstance(a, onnx.TensorProto) else numpy_helper.from_array(np.asarray(a), n)
        for n, a in arrays.items()
    ]
    rank = len(x_shape)
    graph = oh.make_graph(
        nodes,
        "g",
        [oh.make_tensor_value_info("x", FLOAT, x_shape)],
        [oh.make_tensor_value_info(out, FLOAT, [f"o{i}" for i in range(rank)])],
        initializer=init,
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def convt(path: Path, x: tuple[Any, ...] = (1, 4, 8, 8), w: Any = W, **attrs: Any) -> Path:
    node = oh.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", **attrs)
    return save(path, [node], list(x), {"w": w})


def resize(path: Path, scales: Any = None, sizes: Any = None, **attrs: Any) -> Path:
    arrays: dict[str, Any] = {}
    inputs = ["x", ""]
    if scales is not None:
        arrays["scales"] = np.asarray(scales, np.float32)
    if sizes is not None:
        arrays["sizes"] = np.asarray(sizes, np.int64)
    inputs += ["scales" if scales is not None else "", "sizes" if sizes is not None else ""]
    node = oh.make_node("Resize", inputs, ["y"], name="rs", **attrs)
    return save(path, [node], [1, 4, 8, 8], arrays)


def upsample7(path: Path, scales: list[float]) -> Path:
    node = oh.make_node("Upsample", ["x"], ["y"], name="up7", scales=scales)
    return save(path, [node], [1, 4, 8, 8], {}, opset=7)


def d2s(path: Path, r: int, conv: bool = False, x: list[Any] | None = None) -> Path:
    nodes, arrays, src = [], {}, "x"
    if conv:
        nodes.append(oh.make_node("Conv", ["x", "cw"], ["c"], name="conv", pads=[1, 1, 1, 1]))
        arrays["cw"] = np.ones((8, 8, 3, 3), np.float32)
        src = "c"
    nodes.append(oh.make_node("DepthToSpace", [src], ["y"], name="d2s", blocksize=r))
    return save(path, nodes, x or [1, 8, 4, 4], arrays)


def d2s_then_conv(path: Path, r: int) -> Path:
    nodes = [
        oh.make_node("DepthToSpace", ["x"], ["d"], name="d2s", blocksize=r),
        oh.make_node("Conv", ["d", "cw"], ["y"], name="conv", pads=[1, 1, 1, 1]),
    ]
    return save(path, nodes, [1, 8, 4, 4], {"cw": np.ones((2, 2, 3, 3), np.float32)})


def string_weight(path: Path) -> Path:
    w = oh.make_tensor("w", TensorProto.STRING, [4, 4, 3, 3], [b"a"] * 144)
    node = oh.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2])
    return save(path, [node], [1, 4, 8, 8], {"w": w})


def dequantize(path: Path, scale_count: int) -> Path:
    nodes = [
        oh.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], name="dq", axis=0),
        oh.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2]),
    ]
    arrays = {
        "q": np.ones((4, 4, 3, 3), np.int8),
        "s": np.ones(scale_count, np.float32),
        "z": np.zeros(scale_count, np.int8),
    }
    return save(path, nodes, [1, 4, 8, 8], arrays)


NAN, INF = float("nan"), float("inf")
S2 = {"strides": [2, 2]}
#: (file name, builder, a piece of the error line); every one is exit 2 from the CLI
CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    # issue 22: attributes outside the specification
    ("pads-odd", lambda p: convt(p, pads=[1, 1, 1], **S2), "pads [1, 1, 1] is outside"),
    ("group-0", lambda p: convt(p, group=0, **S2), "group 0 is outside"),
    ("group-negative", lambda p: convt(p, group=-1, **S2), "group -1 is outside"),
    ("group-huge", lambda p: convt(p, group=2**40, **S2), "group 1099511627776 is outside"),
    ("group-3-of-4", lambda p: convt(p, group=3, **S2), "a divisor of the 4 input channels"),
    (
        "weight-rank",
        lambda p: convt(p, w=np.ones((4, 4, 3, 3, 3), np.float32), **S2),
        "has rank 5 but its input has rank 4",
    ),
    ("weight-string", string_weight, "has type string"),
    ("strides-3-axes", lambda p: convt(p, strides=[2, 2, 2]), "strides [2, 2, 2] is outside"),
    ("resize-nan", lambda p: resize(p, scales=[1, 1, NAN, NAN]), "scales [1.0, 1.0, nan, nan]"),
    ("resize-inf", lambda p: resize(p, scales=[1, 1, INF, INF]), "scales [1.0, 1.0, inf, inf]"),
    ("resize-ninf", lambda p: resize(p, scales=[1, 1, -INF, 2]), "scales [1.0, 1.0, -inf, 2.0]"),
    ("resize-half-nan", lambda p: resize(p, scales=[1, 1, 2, NAN]), "scales [1.0, 1.0, 2.0, nan]"),
    ("upsample7-nan", lambda p: upsample7(p, [1.0, 1.0, NAN, 2.0]), "each at least 1"),
    ("d2s-blocksize-0", lambda p: d2s(p, 0), "blocksize 0 is outside"),
    ("d2s-blocksize-negative", lambda p: d2s(p, -2), "blocksize -2 is outside"),
    ("d2s-blocksize-0-conv", lambda p: d2s(p, 0, conv=True), "blocksize 0 is outside"),
    ("d2s-blocksize-0-then-conv", lambda p: d2s_then_conv(p, 0), "blocksize 0 is outside"),
    (
        "d2s-blocksize-0-unknown",
        lambda p: d2s(p, 0, x=["n", "c", "h", "w"]),
        "blocksize 0 is outside",
    ),
    ("dequantize-scale", lambda p: dequantize(p, 3), "y_scale shape [3] is outside"),
    # issue 23: lenient where the specification is not
    ("d2s-blocksize-2e32", lambda p: d2s(p, 2**32), "blocksize 4294967296 is outside"),
    ("d2s-blocksize-3-on-8", lambda p: d2s(p, 3), "r*r dividing its 8 input channels"),
    ("auto-pad-evil", lambda p: convt(p, auto_pad="EVIL", **S2), "auto_pad 'EVIL' is outside"),
    ("resize-sizes-negative", lambda p: resize(p, sizes=[1, 4, -16, 16]), "sizes [1, 4, -16, 16]"),
    ("resize-sizes-zero", lambda p: resize(p, sizes=[1, 4, 0, 16]), "sizes [1, 4, 0, 16]"),
    # issue 22: work past the budget, refused before allocating
    (
        "input-2e62-stride-65536",
        lambda p: convt(p, x=(1, 4, 2**62, 1), strides=[65536, 65536]),
        "past upscope's range",
    ),
    (
        "stride-65536-phase-sums",
        lambda p: convt(p, strides=[65536, 65536]),
        "(polyphase sums for stride 65536x65536) needs about 512.0 GiB",
    ),
    (
        "convt-huge-kernel",
        lambda p: convt(
            p, x=(1, 1, 8, 8), w=np.ones((1, 1, 1000, 1000), np.float32), dilations=[20, 20]
        ),
        "its overlap map is 19988x19988 pixels on a 8x8 input",
    ),
]
