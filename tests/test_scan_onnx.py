"""``upscope scan FILE.onnx``: the ONNX front end gives the judgments of the PyTorch scan.

Graphs are built with ``onnx.helper`` (no exporter). Oracles: torch (each graph has a PyTorch
twin with the same weights, scanned through the torch tracer; overlap maps are all-ones transposed
convolutions run by torch, cropped where ONNX pads are asymmetric) and onnx's own
``ReferenceEvaluator`` (the output shape and values each graph really has).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, numpy_helper
from onnx import helper as oh
from onnx.reference import ReferenceEvaluator
from torch import nn

from upscope.overlap_map import convt_overlap
from upscope.scanning import onnx_front, onnx_graph
from upscope.scanning.judge import Finding, judge
from upscope.scanning.torch_front import trace

ROOT = Path(__file__).resolve().parent.parent
OPSET = 17
FLOAT = TensorProto.FLOAT


# ---------------------------------------------------------------- building graphs


def value(name: str, shape: list[Any] | None) -> Any:
    return oh.make_tensor_value_info(name, FLOAT, shape)


def save_graph(
    path: Path,
    nodes: list[Any],
    x_shape: list[Any],
    out: str,
    arrays: dict[str, np.ndarray],
    opset: int = OPSET,
    out_rank: int | None = None,
) -> Path:
    rank = out_rank or len(x_shape)
    init = [numpy_helper.from_array(np.asarray(a), n) for n, a in arrays.items()]
    graph = oh.make_graph(
        nodes,
        "g",
        [value("x", x_shape)],
        [value(out, [f"o{i}" for i in range(rank)])],
        initializer=init,
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def run_reference(path: Path, x: np.ndarray) -> np.ndarray:
    return ReferenceEvaluator(str(path)).run(None, {"x": x.astype(np.float32)})[0]


def weights(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def torch_findings(model: nn.Module, shape: tuple[int, ...]) -> list[Finding]:
    with torch.no_grad():
        return judge(trace(model.double(), [torch.randn(shape, dtype=torch.float64)]))


def assert_same_judgment(a: Finding, b: Finding) -> None:
    """The judgments of an ONNX finding ``a`` and a PyTorch finding ``b``."""
    assert a.op.kind == b.op.kind
    assert a.verdict == b.verdict
    assert a.interior_ratio == b.interior_ratio
    assert a.reasons == b.reasons
    assert a.flagged == b.flagged
    assert a.status == b.status
    assert a.with_bias == b.with_bias
    assert a.chain_specs == b.chain_specs or a.op.kind != "convT" or "padding_end" in a.op.params
    for x, y in ((a.imbalance, b.imbalance), (a.phase_sums, b.phase_sums)):
        assert (x is None) == (y is None)
        if x is not None and y is not None:
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    common = set(a.op.params) & set(b.op.params)
    assert {k: a.op.params[k] for k in common} == {k: b.op.params[k] for k in common}
    assert a.op.spatial_in == b.op.spatial_in
    assert a.op.spatial_out == b.op.spatial_out
    assert a.op.input_shape[1:] == b.op.input_shape[1:]
    assert a.op.output_shape[1:] == b.op.output_shape[1:]


# ---------------------------------------------------------------- ConvTranspose

CONVT_CASES = [
    # (spatial input, C_in, C_out, K, S, P, P_out, D, groups)
    ((8,), 2, 3, (3,), (2,), (1,), (1,), (1,), 1),
    ((7, 9), 4, 2, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1),
    ((6, 6), 4, 6, (3, 3), (2, 2), (0, 0), (0, 0), (1, 1), 2),
    ((5, 6), 2, 2, (3, 5), (2, 3), (1, 2), (1, 0), (2, 1), 1),
    ((3, 4, 5), 2, 2, (3, 2, 4), (2, 2, 2), (1, 0, 1), (0, 1, 0), (1, 1, 1), 1),
]


@pytest.mark.parametrize("case", CONVT_CASES)
def test_convtranspose_judged_as_torch(tmp_path: Path, case: tuple[Any, ...]) -> None:
    size, c_in, c_out, k, s, p, o, d, g = case
    n = len(size)
    w = weights(c_in, c_out // g, *k)
    node = oh.make_node(
        "ConvTranspose",
        ["x", "W"],
        ["y"],
        strides=list(s),
        pads=list(p) * 2,
        output_padding=list(o),
        dilations=list(d),
        group=g,
        name="up",
    )
    path = save_graph(tmp_path / "m.onnx", [node], [1, c_in, *size], "y", {"W": w})
    result = onnx_front.scan(path)
    conv_cls = [nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][n - 1]
    twin = conv_cls(c_in, c_out, k, s, p, o, groups=g, bias=False, dilation=d)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(w))
    (expected,) = torch_findings(nn.Sequential(twin), (1, c_in, *size))
    (found,) = result.findings
    assert found.op.name == "up" and found.op.type == "ConvTranspose"
    assert_same_judgment(found, expected)
    np.testing.assert_array_equal(found.compound_map(), expected.compound_map())
    x = np.random.default_rng(1).standard_normal((1, c_in, *size))
    with torch.no_grad():
        assert twin(torch.from_numpy(x)).shape == found.op.output_shape
    if g == 1:  # onnx 1.23's reference ConvTranspose cannot run groups (a reshape fails)
        assert run_reference(path, x).shape == found.op.output_shape


def test_chain_of_two_convtransposes_gets_the_compound_map(tmp_path: Path) -> None:
    w1, w2 = weights(3, 3, 3, 3), weights(3, 2, 4, 4, seed=1)
    nodes = [
        oh.make_node("ConvTranspose", ["x", "W1"], ["h"], strides=[2, 2], pads=[1] * 4),
        oh.make_node("Relu", ["h"], ["r"]),
        oh.make_node("ConvTranspose", ["r", "W2"], ["y"], strides=[2, 2], pads=[1] * 4),
    ]
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 3, 5, 5], "y", {"W1": w1, "W2": w2})
    first = nn.ConvTranspose2d(3, 3, 3, 2, 1, bias=False)
    second = nn.ConvTranspose2d(3, 2, 4, 2, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.from_numpy(w1))
        second.weight.copy_(torch.from_numpy(w2))
    expected = torch_findings(nn.Sequential(first, nn.ReLU(), second), (1, 3, 5, 5))
    found = onnx_front.scan(path).findings
    assert [f.op.name for f in found] == ["ConvTranspose_0", "ConvTranspose_2"]
    assert found[1].chain == ["ConvTranspose_0", "ConvTranspose_2"]
    for a, b in zip(found, expected, strict=True):
        assert_same_judgment(a, b)
        np.testing.assert_array_equal(a.compound_map(), b.compound_map())


def torch_ones_map(size: tuple[int, ...], k, s, d, begin, end, out_pad) -> np.ndarray:
    """The overlap counts of an ONNX ConvTranspose, by torch: a ones kernel on a ones input with
    no padding and torch's output padding, then the ONNX pads cropped at each end. (An output
    padding torch refuses, P_out >= max(S, D), adds rows that no tap reaches: zeros.)"""
    n = len(size)
    conv = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][n - 1]
    allowed = tuple(o if o < max(a, b) else 0 for o, a, b in zip(out_pad, s, d, strict=True))
    full = conv(
        torch.ones((1, 1, *size), dtype=torch.float64),
        torch.ones((1, 1, *k), dtype=torch.float64),
        stride=s,
        dilation=d,
        output_padding=allowed,
    )[0, 0]
    rest = [o - a for o, a in zip(out_pad, allowed, strict=True)]
    full = F.pad(full, [v for o in reversed(rest) for v in (0, o)])
    index = tuple(
        slice(b, full.shape[a] - e) for a, (b, e) in enumerate(zip(begin, end, strict=True))
    )
    return full[index].numpy().astype(np.int64)


@settings(max_examples=40)
@given(
    i=st.integers(1, 7),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    begin=st.integers(0, 4),
    end=st.integers(0, 4),
    out_pad=st.integers(0, 3),
)
def test_asymmetric_pads_map_and_size_equal_torch_crop(i, k, s, d, begin, end, out_pad) -> None:
    full = (i - 1) * s + d * (k - 1) + 1 + out_pad
    assume(full - begin - end >= 1)  # torch and ONNX refuse an empty output
    result = convt_overlap((k,), (s,), (begin,), (out_pad,), (d,), (i,), pe=(end,))
    expected = torch_ones_map((i,), (k,), (s,), (d,), (begin,), (end,), (out_pad,))
    np.testing.assert_array_equal(result.map, expected)


@settings(max_examples=25)
@given(
    size=st.lists(st.integers(1, 6), min_size=1, max_size=2),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    d=st.integers(1, 2),
    pads=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    auto=st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER"]),
)
def test_front_end_overlap_map_is_the_reference_evaluator_on_ones(
    size, k, s, d, pads, auto
) -> None:
    """Any ConvTranspose attributes: the map the judge draws equals onnx's reference evaluator
    run on a ones input with a ones kernel (which is the overlap count), shape included.
    (onnx 1.23's reference cannot run output_padding; torch checks it above.)"""
    n = len(size)
    attrs: dict[str, Any] = {"strides": [s] * n, "dilations": [d] * n}
    if auto == "NOTSET":
        attrs["pads"] = pads[:n] + pads[2 : 2 + n]
    else:
        attrs["auto_pad"] = auto
    eff = (k - 1) * d + 1
    full = [(i - 1) * s + eff for i in size]
    if auto == "NOTSET":
        out = [f - attrs["pads"][a] - attrs["pads"][a + n] for a, f in enumerate(full)]
    else:
        out = [i * s for i in size]
    # not a valid layer: nothing left, or SAME would need negative pads
    assume(min(out) >= 1 and min(f - o for f, o in zip(full, out, strict=True)) >= 0)
    node = oh.make_node("ConvTranspose", ["x", "W"], ["y"], **attrs)
    with tempfile.TemporaryDirectory() as tmp:
        ones = np.ones((1, 1, *[k] * n), np.float32)
        path = save_graph(Path(tmp) / "m.onnx", [node], [1, 1, *size], "y", {"W": ones})
        (found,) = onnx_front.scan(path).findings
        ref = run_reference(path, np.ones((1, 1, *size)))[0, 0]
    assert found.op.output_shape == (1, 1, *ref.shape)
    np.testing.assert_array_equal(found.compound_map(), ref.astype(np.int64))


@pytest.mark.parametrize(
    "attrs, begin, end",
    [
        ({"pads": [0, 1, 1, 0]}, (0, 1), (1, 0)),
        ({"pads": [2, 0, 0, 1]}, (2, 0), (0, 1)),
        ({"auto_pad": "SAME_UPPER"}, (0, 0), (1, 1)),  # Keras 'same', K=3, S=2
        ({"auto_pad": "SAME_LOWER"}, (1, 1), (0, 0)),
        # total pads 2, 1: SAME_LOWER gives the start the larger half, SAME_UPPER the end
        ({"output_shape": [13, 14], "auto_pad": "SAME_LOWER"}, (1, 1), (1, 0)),
        ({"output_shape": [13, 14], "auto_pad": "SAME_UPPER"}, (1, 0), (1, 1)),
    ],
)
def test_asymmetric_pads_against_reference_and_torch(
    tmp_path: Path, attrs: dict[str, Any], begin: tuple[int, ...], end: tuple[int, ...]
) -> None:
    """pads, auto_pad and output_shape give the pads the reference evaluator uses: its output
    equals torch's unpadded conv_transpose cropped by them, and so does our overlap map."""
    w = weights(2, 3, 3, 3)
    node = oh.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2], **attrs)
    path = save_graph(tmp_path / "m.onnx", [node], [1, 2, 7, 7], "y", {"W": w})
    (found,) = onnx_front.scan(path).findings
    prm = found.op.params
    assert prm["padding"] == begin
    assert prm.get("padding_end", begin) == end
    x = weights(1, 2, 7, 7, seed=2)
    ref = run_reference(path, x)
    full = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=2).numpy()
    crop = full[:, :, begin[0] : full.shape[2] - end[0], begin[1] : full.shape[3] - end[1]]
    np.testing.assert_allclose(ref, crop, rtol=1e-4, atol=1e-4)
    assert found.op.output_shape == ref.shape
    ones = torch_ones_map((7, 7), (3, 3), (2, 2), (1, 1), begin, end, (0, 0))
    np.testing.assert_array_equal(found.compound_map(), ones)
    # the judgment is the PyTorch twin's (conv_transpose without padding; padding moves no
    # phase): uneven overlap x4, the same weight imbalance
    twin = nn.ConvTranspose2d(2, 3, 3, 2, bias=False)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(w))
    (expected,) = torch_findings(nn.Sequential(twin), (1, 2, 7, 7))
    if "output_shape" in attrs:  # without auto_pad the specification splits as SAME_LOWER
        plain = {"output_shape": attrs["output_shape"]}
        node = oh.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2], **plain)
        path = save_graph(tmp_path / "n.onnx", [node], [1, 2, 7, 7], "y", {"W": w})
        (notset,) = onnx_front.scan(path).findings
        lower = ((1, 1), (1, 0))
        assert (notset.op.params["padding"], notset.op.params["padding_end"]) == lower
    assert (found.verdict, found.interior_ratio) == (expected.verdict, expected.interior_ratio)
    np.testing.assert_allclose(found.imbalance, expected.imbalance, rtol=1e-5)
    assert found.reasons == expected.reasons


# ---------------------------------------------------------------- status and fixes


def bilinear_kernel(channels: int) -> np.ndarray:
    """A depthwise K=3 bilinear kernel (what training can reach): balanced polyphase sums."""
    k1 = np.array([0.5, 1.0, 0.5], np.float32)
    return np.broadcast_to(np.outer(k1, k1), (channels, 1, 3, 3)).copy()


@pytest.mark.parametrize("kernel", ["bilinear", "random"])
def test_status_and_fixes_as_for_the_pytorch_twin(tmp_path: Path, kernel: str) -> None:
    """Keras-style SAME_UPPER K=3, S=2 (pads 0, 1): a bilinear kernel is a risk, a random one an
    artifact, as the PyTorch twin (p=1, op=1: the same 2x output) scanned with its forward pass
    and response; the fixes are the twin's, unverified with the reason, and their code run by
    torch keeps the output shape the reference evaluator gives the graph."""
    from upscope.scanning.run import scan

    c = 4
    w = bilinear_kernel(c) if kernel == "bilinear" else weights(c, 1, 3, 3)
    node = oh.make_node(
        "ConvTranspose", ["x", "W"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER", group=c
    )
    path = save_graph(tmp_path / "m.onnx", [node], [1, c, 6, 6], "y", {"W": w})
    (found,) = onnx_front.scan(path).findings
    twin = nn.ConvTranspose2d(c, c, 3, 2, padding=1, output_padding=1, groups=c)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(w))
    (expected,) = scan(nn.Sequential(twin), input_shape=(1, c, 6, 6)).findings
    assert found.status == expected.status == ("risk" if kernel == "bilinear" else "artifact")
    assert found.response == {}  # no forward pass: not measured (the JSON says null)
    assert [(f.title, f.overlap) for f in found.fixes] == [
        (f.title, f.overlap) for f in expected.fixes
    ]
    assert all(not f.verified and f.reason == onnx_front.UNVERIFIED for f in found.fixes)
    x = weights(1, c, 6, 6, seed=7)
    want = run_reference(path, x).shape
    for fix in found.fixes:
        space: dict[str, Any] = {}
        exec(fix.code, space)
        with torch.no_grad():
            assert space["upsample"](torch.from_numpy(x)).shape == want, fix.title


def test_unbalanced_depth_to_space_gets_icnr_and_resize_conv_unverified(
    tmp_path: Path, run_cli
) -> None:
    nodes = [
        oh.make_node("Conv", ["x", "W"], ["h"], pads=[1] * 4, name="conv"),
        oh.make_node("DepthToSpace", ["h"], ["y"], blocksize=2, mode="DCR", name="shuffle"),
    ]
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 3, 5, 6], "y", {"W": weights(8, 3, 3, 3)})
    (found,) = onnx_front.scan(path).findings
    assert found.status == "artifact"
    titles = [f.title for f in found.fixes]
    assert titles == [
        "ICNR init of the conv feeding it",
        "resize-conv (nearest + conv) instead of conv + pixel shuffle",
    ]
    doc = json.loads(run_cli("scan", str(path), "--json", "--no-png").stdout)
    (layer,) = doc["layers"]
    assert layer["status"] == "artifact" and layer["response"] == {"constant": None}
    assert [f["verified"] for f in layer["fixes"]] == [False, False]
    assert {f["reason"] for f in layer["fixes"]} == {onnx_front.UNVERIFIED}
    table = run_cli("scan", str(path), "--no-png").stdout
    assert "An ONNX graph is read, not run: no response is measured and no fix is" in table
    assert "icnr_(conv, scale=2)" in table


# ---------------------------------------------------------------- Resize, Upsample


def test_resize_with_scales_is_torch_nearest_upsample(tmp_path: Path) -> None:
    scales = np.array([1, 1, 2, 3], np.float32)
    node = oh.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest", name="grow")
    path = save_graph(tmp_path / "m.onnx", [node], [1, 3, 4, 5], "y", {"sc": scales})
    (found,) = onnx_front.scan(path).findings
    (expected,) = torch_findings(nn.Sequential(nn.Upsample(scale_factor=(2, 3))), (1, 3, 4, 5))
    assert_same_judgment(found, expected)
    assert found.op.params["scale_factor"] == (2.0, 3.0) and found.op.params["size"] is None
    assert "coordinate_transformation_mode=half_pixel" in found.note
    x = weights(1, 3, 4, 5)
    assert run_reference(path, x).shape == found.op.output_shape == (1, 3, 8, 15)


def test_resize_with_sizes_is_torch_bilinear_interpolate(tmp_path: Path) -> None:
    sizes = np.array([1, 2, 9, 10], np.int64)
    node = oh.make_node(
        "Resize",
        ["x", "", "", "sz"],
        ["y"],
        mode="linear",
        coordinate_transformation_mode="align_corners",
    )
    path = save_graph(tmp_path / "m.onnx", [node], [1, 2, 4, 5], "y", {"sz": sizes})
    (found,) = onnx_front.scan(path).findings

    class Twin(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, size=(9, 10), mode="bilinear", align_corners=True)

    (expected,) = torch_findings(Twin(), (1, 2, 4, 5))
    assert_same_judgment(found, expected)
    assert found.op.params["mode"] == "bilinear" and found.op.params["align_corners"] is True
    x = weights(1, 2, 4, 5)
    ref = run_reference(path, x)
    twin = F.interpolate(torch.from_numpy(x), size=(9, 10), mode="bilinear", align_corners=True)
    np.testing.assert_allclose(ref, twin.numpy(), rtol=1e-5, atol=1e-5)


def test_upsample_opset9_and_a_resize_down_is_left_out(tmp_path: Path) -> None:
    nodes = [
        oh.make_node("Upsample", ["x", "up"], ["u"], mode="nearest"),
        oh.make_node("Upsample", ["u", "same"], ["y"], mode="nearest"),
    ]
    arrays = {"up": np.array([1, 1, 2, 2], np.float32), "same": np.ones(4, np.float32)}
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 1, 3, 3], "y", arrays, opset=9)
    (found,) = onnx_front.scan(path).findings
    assert (found.op.name, found.op.type) == ("Upsample_0", "Upsample")
    (expected,) = torch_findings(nn.Sequential(nn.Upsample(scale_factor=2)), (1, 1, 3, 3))
    assert_same_judgment(found, expected)


@pytest.mark.parametrize("opset", [7, 10, 13])
def test_scales_in_every_form_an_exporter_writes(tmp_path: Path, opset: int) -> None:
    """Upsample-7 (an attribute), Resize-10 (X, scales), Resize-13 (scales from a Constant node
    through an Identity): each is x2 nearest, read without running the graph."""
    scales = np.array([1, 1, 2, 2], np.float32)
    arrays: dict[str, np.ndarray] = {}
    if opset == 7:
        nodes = [oh.make_node("Upsample", ["x"], ["y"], mode="nearest", scales=scales.tolist())]
    elif opset == 10:
        nodes = [oh.make_node("Resize", ["x", "sc"], ["y"], mode="nearest")]
        arrays["sc"] = scales
    else:
        tensor = numpy_helper.from_array(scales)
        nodes = [
            oh.make_node("Constant", [], ["c"], value=tensor),
            oh.make_node("Identity", ["c"], ["sc"]),
            oh.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest"),
        ]
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 2, 3, 4], "y", arrays, opset=opset)
    (found,) = onnx_front.scan(path).findings
    assert found.op.params["scale_factor"] == (2.0, 2.0)
    assert found.op.output_shape == (1, 2, 6, 8)
    (expected,) = torch_findings(nn.Sequential(nn.Upsample(scale_factor=2)), (1, 2, 3, 4))
    assert_same_judgment(found, expected)


def test_sizes_computed_from_the_input_shape(tmp_path: Path, run_cli) -> None:
    """sizes = Shape(x)[2:] * 2, as exporters write a dynamic resize: the size is computed from
    the shape once --input-shape fixes H and W, and '?' before."""
    nodes = [
        oh.make_node("Shape", ["x"], ["s"]),
        oh.make_node("Slice", ["s", "lo", "hi"], ["hw"]),
        oh.make_node("Mul", ["hw", "two"], ["hw2"]),
        oh.make_node("Slice", ["s", "zero", "lo"], ["nc"]),
        oh.make_node("Concat", ["nc", "hw2"], ["sz"], axis=0),
        oh.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="nearest", name="up"),
    ]
    arrays = {
        "lo": np.array([2], np.int64),
        "hi": np.array([4], np.int64),
        "zero": np.array([0], np.int64),
        "two": np.array([2, 2], np.int64),
    }
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 3, "H", "W"], "y", arrays)
    (found,) = onnx_front.scan(path, [(1, 3, 5, 7)]).findings
    assert found.op.params["size"] == (10, 14) and found.op.output_shape == (1, 3, 10, 14)
    assert "computed in the graph from known shapes" in found.note
    assert run_reference(path, weights(1, 3, 5, 7)).shape == (1, 3, 10, 14)
    done = run_cli("scan", str(path), "--no-png")
    assert done.exit_code == 0, done.stderr
    assert "x? nearest" in done.stdout and "3x?x?" in done.stdout


@pytest.mark.parametrize(
    "inputs, array, attrs, expected",
    [
        (["x", "", "v"], np.array([2.0], np.float32), {"axes": [3]}, {"scale_factor": (1.0, 2.0)}),
        (["x", "", "", "v"], np.array([9], np.int64), {"axes": [2]}, {"size": (9, 6)}),
        (
            ["x", "", "", "v"],
            np.array([12, 12], np.int64),
            {"axes": [2, 3], "keep_aspect_ratio_policy": "not_larger"},
            {"size": (8, 12)},
        ),
    ],
)
def test_resize18_axes_and_aspect_policy_against_reference(
    tmp_path: Path, inputs: list[str], array: np.ndarray, attrs: dict[str, Any], expected: dict
) -> None:
    node = oh.make_node("Resize", inputs, ["y"], mode="nearest", **attrs)
    path = save_graph(tmp_path / "m.onnx", [node], [1, 1, 4, 6], "y", {"v": array}, opset=18)
    (found,) = onnx_front.scan(path).findings
    ref = run_reference(path, weights(1, 1, 4, 6))
    assert found.op.output_shape == ref.shape
    assert {key: found.op.params[key] for key in expected} == expected
    if "keep_aspect_ratio_policy" in attrs:
        assert "keep_aspect_ratio_policy=not_larger rescales its sizes" in found.note


def test_quantized_weight_is_dequantized_and_a_computed_one_refused(
    tmp_path: Path, run_cli
) -> None:
    """DequantizeLinear of a stored int8 weight, per input channel (axis 0): the judged weight
    is (q - zero_point) * scale, as the graph computes it."""
    q = np.random.default_rng(4).integers(-100, 100, (2, 3, 3, 3)).astype(np.int8)
    scale = np.array([0.02, 0.05], np.float32)
    zero = np.array([3, -1], np.int8)
    nodes = [
        oh.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], axis=0),
        oh.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], pads=[1] * 4),
    ]
    arrays = {"q": q, "s": scale, "z": zero}
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 2, 5, 5], "y", arrays)
    (found,) = onnx_front.scan(path).findings
    w = (q.astype(np.float64) - zero.reshape(2, 1, 1, 1)) * scale.reshape(2, 1, 1, 1)
    twin = nn.ConvTranspose2d(2, 3, 3, 2, 1, bias=False)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(w))
    (expected,) = torch_findings(nn.Sequential(twin), (1, 2, 5, 5))
    assert_same_judgment(found, expected)
    np.testing.assert_allclose(found.op.weight, w, rtol=1e-6)
    computed = [
        oh.make_node("Relu", ["wi"], ["w"]),
        oh.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2]),
    ]
    path = save_graph(tmp_path / "c.onnx", computed, [1, 2, 5, 5], "y", {"wi": w.astype("f4")})
    line = one_error_line(run_cli("scan", str(path)))
    assert "its weight 'w' is computed in the graph" in line


def test_nodes_inside_an_if_body_are_read(tmp_path: Path) -> None:
    """Both branches of an If hold a resize; each is found, after the If, with its branch."""
    branches = {}
    for key, scale in (("then", 2.0), ("else", 3.0)):
        scales = numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), f"s_{key}")
        resize = oh.make_node("Resize", ["x", "", f"s_{key}"], [f"y_{key}"], mode="nearest")
        branches[key] = oh.make_graph(
            [resize], key, [], [value(f"y_{key}", None)], initializer=[scales]
        )
    nodes = [
        oh.make_node("Constant", [], ["c"], value=oh.make_tensor("t", TensorProto.BOOL, [], [1])),
        oh.make_node(
            "If", ["c"], ["y"], then_branch=branches["then"], else_branch=branches["else"]
        ),
    ]
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 2, 3, 3], "y", {})
    found = onnx_front.scan(path).findings
    by_name = {f.op.name: (f.op.params["scale_factor"], f.op.output_shape) for f in found}
    assert by_name == {  # in the order the If stores its attributes
        "Resize_1.then_branch.0": ((2.0, 2.0), (1, 2, 6, 6)),
        "Resize_1.else_branch.0": ((3.0, 3.0), (1, 2, 9, 9)),
    }


# ---------------------------------------------------------------- DepthToSpace


def crd_to_dcr(values: np.ndarray, r: int) -> np.ndarray:
    """Channel c*r*r + i*r + j (CRD) moves to (i*r + j)*C' + c (DCR)."""
    c = values.shape[0] // (r * r)
    blocks = values.reshape(c, r * r, *values.shape[1:])
    return np.swapaxes(blocks, 0, 1).reshape(values.shape)


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space_is_torch_pixel_shuffle(tmp_path: Path, mode: str) -> None:
    """The same network in both modes: a torch conv + PixelShuffle(2), and an ONNX Conv whose
    channels are stored in the mode's order; the reference evaluator's output equals torch's,
    and the judgments equal the PyTorch scan's."""
    r, c_in, c = 2, 3, 2
    w = weights(c * r * r, c_in, 3, 3)
    b = weights(c * r * r, seed=5)
    stored_w = crd_to_dcr(w, r) if mode == "DCR" else w
    stored_b = crd_to_dcr(b, r) if mode == "DCR" else b
    nodes = [
        oh.make_node("Conv", ["x", "W", "B"], ["h"], pads=[1] * 4, name="conv"),
        oh.make_node("DepthToSpace", ["h"], ["y"], blocksize=r, mode=mode, name="shuffle"),
    ]
    arrays = {"W": stored_w, "B": stored_b}
    path = save_graph(tmp_path / "m.onnx", nodes, [1, c_in, 5, 6], "y", arrays)
    conv = nn.Conv2d(c_in, c * r * r, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        conv.bias.copy_(torch.from_numpy(b))
    twin = nn.Sequential(conv, nn.PixelShuffle(r))
    x = weights(1, c_in, 5, 6, seed=3)
    with torch.no_grad():
        out = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(run_reference(path, x), out, rtol=1e-4, atol=1e-4)
    (expected,) = torch_findings(twin, (1, c_in, 5, 6))
    (found,) = onnx_front.scan(path).findings
    assert found.op.feeding_conv is not None and found.op.feeding_conv[0] == "conv"
    assert found.op.params == {"upscale_factor": r, "mode": mode}
    assert_same_judgment(found, expected)
    assert found.with_bias


# ---------------------------------------------------------------- shapes


def dynamic_graph(tmp_path: Path, x_shape: list[Any]) -> Path:
    node = oh.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2], pads=[1] * 4)
    return save_graph(tmp_path / "m.onnx", [node], x_shape, "y", {"W": weights(3, 2, 4, 4)})


def test_dynamic_batch_is_unknown_until_input_shape_fixes_it(tmp_path: Path, run_cli) -> None:
    path = dynamic_graph(tmp_path, ["N", 3, 8, 8])
    done = run_cli("scan", str(path), "--json", "--no-png")
    assert done.exit_code == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["format"] == "onnx" and doc["input_shapes"] == [[None, 3, 8, 8]]
    (layer,) = doc["layers"]
    assert layer["input_shape"] == [None, 3, 8, 8] and layer["output_shape"] == [None, 2, 16, 16]
    assert layer["verdict"] == "even"
    fixed = run_cli("scan", str(path), "--input-shape", "4x3x8x8", "--json", "--no-png")
    doc = json.loads(fixed.stdout)
    assert doc["layers"][0]["output_shape"] == [4, 2, 16, 16]
    assert doc["input_shapes"] == [[4, 3, 8, 8]]


def test_unknown_spatial_size_is_shown_as_unknown(tmp_path: Path, run_cli) -> None:
    path = dynamic_graph(tmp_path, ["N", 3, "H", "W"])
    done = run_cli("scan", str(path), "--no-png")
    assert done.exit_code == 0, done.stderr
    assert "3x?x?" in done.stdout and "-> 2x?x?" in done.stdout
    assert "input size unknown" in done.stdout
    doc = json.loads(run_cli("scan", str(path), "--json", "--no-png").stdout)
    assert doc["layers"][0]["output_shape"] == [None, 2, None, None]
    fixed = run_cli("scan", str(path), "--input-shape", "1x3x5x6", "--json", "--no-png")
    assert json.loads(fixed.stdout)["layers"][0]["output_shape"] == [1, 2, 10, 12]


def test_figure_of_an_unknown_size_says_it_is_a_stand_in(tmp_path: Path) -> None:
    from upscope.render import scan_view
    from upscope.scanning.judge import STAND_IN_SIZE

    node = oh.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2], pads=[1] * 4)
    w = weights(3, 2, 3, 3)
    path = save_graph(tmp_path / "m.onnx", [node], ["N", 3, "H", "W"], "y", {"W": w})
    (found,) = onnx_front.scan(path).findings
    assert found.chain_input == (STAND_IN_SIZE, STAND_IN_SIZE)
    fig = scan_view.draw(found, 0.1)
    title = fig.axes[0].get_title()
    assert f"input size unknown: a {STAND_IN_SIZE}x{STAND_IN_SIZE} stand-in" in title
    fixed = onnx_front.scan(path, [(1, 3, 5, 5)]).findings[0]
    assert "stand-in" not in scan_view.draw(fixed, 0.1).axes[0].get_title()


def test_input_shape_that_disagrees_with_the_graph(tmp_path: Path, run_cli) -> None:
    path = dynamic_graph(tmp_path, ["N", 3, 8, 8])
    line = one_error_line(run_cli("scan", str(path), "--input-shape", "1x3x9x8"))
    assert "input 'x' is ?x3x8x8 in the graph" in line
    line = one_error_line(run_cli("scan", str(path), "--input-shape", "1x3x8"))
    assert "has 4 dimensions" in line


# ---------------------------------------------------------------- CLI, bad input


def one_error_line(result: Any) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("upscope: error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_table_json_and_png_like_a_pytorch_scan(tmp_path: Path, run_cli) -> None:
    node = oh.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2], pads=[0, 0, 1, 1])
    path = save_graph(tmp_path / "m.onnx", [node], [1, 2, 6, 6], "y", {"W": weights(2, 2, 3, 3)})
    out = tmp_path / "figs"
    done = run_cli("scan", str(path), "--out", str(out))
    assert done.exit_code == 0, done.stderr
    assert "ConvTranspose" in done.stdout and "p=0/1" in done.stdout
    assert "(from the graph)" in done.stdout
    (png,) = sorted(out.glob("*.png"))
    assert png.name == "scan-01-convtranspose-0.png"
    doc = json.loads(run_cli("scan", str(path), "--json", "--no-png").stdout)
    (layer,) = doc["layers"]
    assert layer["padding"] == [0, 0] and layer["padding_end"] == [1, 1]
    assert layer["flagged"] and layer["verdict"] == "checkerboard"


def test_help_names_onnx_files_and_the_extra(run_cli) -> None:
    done = run_cli("scan", "--help")
    assert done.exit_code == 0
    text = " ".join(done.stdout.replace("│", " ").split())
    assert "A MODEL ending in .onnx is an ONNX graph" in text
    assert "pip install 'upscope[onnx]'" in text and "path/to/model.onnx" in text


def test_graph_without_upsampling_is_answered_as_by_torch(tmp_path: Path, run_cli) -> None:
    node = oh.make_node("Relu", ["x"], ["y"])
    path = save_graph(tmp_path / "m.onnx", [node], [1, 3, 4, 4], "y", {})
    done = run_cli("scan", str(path), "--no-png")
    assert done.exit_code == 0, done.stderr
    assert "no upsampling node" in done.stdout
    doc = json.loads(run_cli("scan", str(path), "--json", "--no-png").stdout)
    assert doc["layers"] == [] and doc["summary"]["ops"] == 0


def test_truncated_and_foreign_files(tmp_path: Path, run_cli) -> None:
    good = dynamic_graph(tmp_path, [1, 3, 8, 8])
    data = good.read_bytes()
    truncated = tmp_path / "cut.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    assert "is not a readable ONNX model" in one_error_line(run_cli("scan", str(truncated)))
    text = tmp_path / "notes.onnx"
    text.write_text("these are not the weights you are looking for\n")
    line = one_error_line(run_cli("scan", str(text)))
    assert "notes.onnx is not" in line
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    assert "is not an ONNX model" in one_error_line(run_cli("scan", str(empty)))
    line = one_error_line(run_cli("scan", str(tmp_path / "missing.onnx")))
    assert "not found" in line
    line = one_error_line(run_cli("scan", str(good), "--weights", str(good)))
    assert "--weights is for PyTorch models" in line
    line = one_error_line(run_cli("scan", "bundled:nope.onnx"))
    assert "no bundled ONNX sample 'nope.onnx'; bundled: decoder.onnx" in line
    folder = tmp_path / "folder.onnx"
    folder.mkdir()
    assert "is a folder, not a file" in one_error_line(run_cli("scan", str(folder)))
    size = good.stat().st_size
    line = one_error_line(run_cli("scan", str(good), "--max-memory", str(size)))
    assert "reading the ONNX file m.onnx needs about" in line and "--max-memory" in line


@pytest.mark.parametrize("opset", [6, onnx.defs.onnx_opset_version() + 1])
def test_unsupported_opset(tmp_path: Path, run_cli, opset: int) -> None:
    node = oh.make_node("Relu", ["x"], ["y"])
    path = save_graph(tmp_path / "m.onnx", [node], [1, 3, 4, 4], "y", {}, opset=opset)
    line = one_error_line(run_cli("scan", str(path)))
    newest = onnx.defs.onnx_opset_version()
    assert f"uses opset {opset}; upscope reads opsets 7 to {newest}" in line


def test_missing_onnx_package_and_no_torch(tmp_path: Path) -> None:
    """Without onnx: one line, exit 2. With it: the scan never imports torch."""
    path = dynamic_graph(tmp_path, [1, 3, 8, 8])
    missing = (
        "import sys; sys.modules['onnx'] = None; from upscope.cli import main; "
        f"main(['scan', {str(path)!r}, '--no-png'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", missing], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"upscope: error: {onnx_graph.MISSING_ONNX}"
    clean = (
        "import sys\nfrom upscope.cli import main\ntry:\n"
        f"    main(['scan', {str(path)!r}, '--json', '--no-png'])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "assert 'torch' not in sys.modules and 'onnx' in sys.modules\n"
        "print('torch-free')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", clean], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("torch-free")
    assert json.loads(done.stdout.strip()[: -len("torch-free")])["layers"][0]["verdict"] == "even"


# ---------------------------------------------------------------- the bundled sample


def test_sample_decoder_is_its_generator_and_judged_as_documented(run_cli) -> None:
    from samples.decoder_onnx import build

    path = ROOT / "samples" / "decoder.onnx"
    assert path.read_bytes() == build().SerializeToString()
    result = onnx_front.scan(path)
    by_name = {f.op.name: f for f in result.findings}
    assert list(by_name) == ["up1", "up2", "resize", "shuffle"]
    up1, up2, shuffle = by_name["up1"], by_name["up2"], by_name["shuffle"]
    assert (up1.op.params["padding"], up1.op.params["padding_end"]) == ((0, 0), (1, 1))
    assert up1.verdict == "checkerboard" and up2.verdict == "even"
    assert up2.chain == ["up1", "up2"]
    # the compound map, by torch: up1 unpadded then cropped by its pads (0, 1), then up2
    ones = torch.ones((1, 1, 8, 8), dtype=torch.float64)
    h = F.conv_transpose2d(ones, torch.ones((1, 1, 3, 3), dtype=torch.float64), stride=2)
    h = h[:, :, :-1, :-1]
    y = F.conv_transpose2d(h, torch.ones((1, 1, 4, 4), dtype=torch.float64), stride=2, padding=1)
    np.testing.assert_array_equal(up2.compound_map(), y[0, 0].numpy().astype(np.int64))
    # ICNR in DCR order reads as balanced; the same weights taken in CRD order would not be
    assert shuffle.imbalance_mean == 0.0 and not shuffle.flagged
    assert shuffle.op.feeding_conv is not None
    (_, stored) = shuffle.op.feeding_conv
    raw = numpy_helper.to_array(
        next(t for t in onnx.load(str(path)).graph.initializer if t.name == "to_rgb.weight")
    ).astype(np.float64)
    assert not np.allclose(
        raw.reshape(3, 4, -1).sum(axis=2).std(axis=1), 0
    )  # in CRD order its 4 phases differ
    np.testing.assert_allclose(stored.reshape(3, 4, -1).sum(axis=2).std(axis=1), 0, atol=1e-6)
    done = run_cli("scan", str(path), "--no-png")
    assert done.exit_code == 0 and "2 of 4 upsampling ops can make a checkerboard" in done.stdout
    # the one door of every scan (the CLI's and the Python API's) takes the file too
    from upscope.scanning.run import scan

    again = scan(path)  # a str or a Path, as from Python
    assert again.model_format == "onnx" and again.model == str(path)
    bundled = scan("bundled:decoder.onnx")  # the installed sample, from any directory
    assert bundled.model == "bundled:decoder.onnx"
    assert [f.status for f in bundled.findings] == [f.status for f in result.findings]
    assert [(f.op.name, f.verdict, f.reasons) for f in again.findings] == [
        (f.op.name, f.verdict, f.reasons) for f in result.findings
    ]


# ---------------------------------------------------------------- a real exporter


@pytest.mark.parametrize("name", ["DCGANGenerator", "UNet", "ESPCN", "ResizeConvDecoder"])
def test_torch_exported_samples_judged_as_their_pytorch_models(tmp_path: Path, name: str) -> None:
    """The bundled PyTorch samples exported by torch.onnx.export (TorchScript exporter): the
    ONNX scan's judgments equal the torch scan's, op by op."""
    import warnings

    import samples.models as zoo

    torch.manual_seed(0)
    model = getattr(zoo, name)().eval()
    example = model.example_input_array
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=17)
    with torch.no_grad():
        expected = judge(trace(model, [example]))
    found = onnx_front.scan(path).findings
    assert len(found) == len(expected) > 0
    for a, b in zip(found, expected, strict=True):
        assert_same_judgment(a, b)


# ---------------------------------------------------------------- hostile graphs (issues 22, 23)

from onnx_hostile import CASES as HOSTILE  # noqa: E402 - the builders the hostile suite shares


@pytest.mark.parametrize("name, build, says", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_graph_outside_the_specification_is_one_line(
    tmp_path: Path, name: str, build: Any, says: str
) -> None:
    """Each attribute or stored input outside the operator specification (or work past the
    budget) is refused before any arithmetic: one UpscopeError line naming the node."""
    from upscope import limits
    from upscope.errors import UpscopeError

    path = build(tmp_path / f"{name}.onnx")
    with limits.max_memory("4G"), pytest.raises(UpscopeError) as caught:
        onnx_front.scan(path)
    text = str(caught.value)
    assert says in text and "\n" not in text and len(text) < 400, text
    kinds = ("ConvTranspose", "Resize", "Upsample", "DepthToSpace", "DequantizeLinear")
    assert any(f"{kind} '" in text for kind in kinds), text
    assert any(f"'{node}'" in text for node in ("up", "rs", "up7", "d2s", "dq")), text


# ---------------------------------------------------------------- issue 16: the front end


def shuffle_twin(w: np.ndarray, b: np.ndarray, act: nn.Module, r: int = 2) -> nn.Module:
    conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        conv.bias.copy_(torch.from_numpy(b))
    return nn.Sequential(conv, act, nn.PixelShuffle(r))


@pytest.mark.parametrize(
    "onnx_act, attrs, torch_act",
    [
        ("Relu", {}, nn.ReLU()),
        ("LeakyRelu", {"alpha": 0.2}, nn.LeakyReLU(0.2)),
        ("Sigmoid", {}, nn.Sigmoid()),
        ("Tanh", {}, nn.Tanh()),
        ("Elu", {}, nn.ELU()),
    ],
)
def test_conv_activation_depth_to_space_judged_as_torch(
    tmp_path: Path, onnx_act: str, attrs: dict[str, Any], torch_act: nn.Module
) -> None:
    """Conv -> activation -> DepthToSpace (CRD): the conv is found through the activation and
    the judgment is the PyTorch scan's of Conv -> activation -> PixelShuffle (an unbalanced
    random conv: artifact); the reference evaluator's output equals the twin's."""
    w, b = weights(8, 3, 3, 3), weights(8, seed=4)
    nodes = [
        oh.make_node("Conv", ["x", "W", "B"], ["h"], pads=[1] * 4, name="conv"),
        oh.make_node(onnx_act, ["h"], ["a"], **attrs),
        oh.make_node("DepthToSpace", ["a"], ["y"], blocksize=2, mode="CRD", name="shuffle"),
    ]
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 3, 5, 6], "y", {"W": w, "B": b})
    twin = shuffle_twin(w, b, torch_act)
    x = weights(1, 3, 5, 6, seed=3)
    with torch.no_grad():
        out = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(run_reference(path, x), out, rtol=1e-4, atol=1e-4)
    (expected,) = torch_findings(twin, (1, 3, 5, 6))
    (found,) = onnx_front.scan(path).findings
    assert found.op.feeding_conv is not None and found.op.feeding_conv[0] == "conv"
    assert found.op.feeding_params["via"] == [onnx_act]
    assert_same_judgment(found, expected)
    assert found.status == "artifact"


@pytest.mark.parametrize(
    "op_type, const, scale, shift",
    [
        ("Mul", np.float32(3.0), 3.0, 0.0),
        ("Div", np.float32(4.0), 0.25, 0.0),
        (
            "Add",
            np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], np.float32).reshape(8, 1, 1),
            1.0,
            np.arange(1.0, 9.0),
        ),
        ("Sub", np.float32(0.5), 1.0, -0.5),
    ],
)
def test_affine_constants_fold_into_the_conv(
    tmp_path: Path, op_type: str, const: np.ndarray, scale: float, shift: Any
) -> None:
    """Conv -> Mul/Div/Add/Sub by a stored scalar or per-channel constant -> Relu ->
    DepthToSpace: folded exactly into the conv's weight and bias, so the judgment is that of the
    PyTorch twin whose conv holds the folded values."""
    w, b = weights(8, 3, 3, 3), weights(8, seed=4)
    nodes = [
        oh.make_node("Conv", ["x", "W", "B"], ["h"], pads=[1] * 4, name="conv"),
        oh.make_node(op_type, ["h", "c"], ["m"]),
        oh.make_node("Relu", ["m"], ["a"]),
        oh.make_node("DepthToSpace", ["a"], ["y"], blocksize=2, mode="CRD", name="shuffle"),
    ]
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 3, 5, 6], "y", {"W": w, "B": b, "c": const})
    folded_w = (w.astype(np.float64) * scale).astype(np.float32)
    folded_b = (b.astype(np.float64) * scale + shift).astype(np.float32)
    twin = shuffle_twin(folded_w, folded_b, nn.ReLU())
    x = weights(1, 3, 5, 6, seed=3)
    with torch.no_grad():
        out = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(run_reference(path, x), out, rtol=1e-4, atol=1e-4)
    (expected,) = torch_findings(twin, (1, 3, 5, 6))
    (found,) = onnx_front.scan(path).findings
    assert found.op.feeding_params["via"] == [op_type, "Relu"]
    assert f"followed through {op_type}, Relu ({op_type} by stored constants folded" in found.note
    assert_same_judgment(found, expected)


def test_an_add_after_the_activation_is_not_followed(tmp_path: Path) -> None:
    """relu(conv) + c is not a conv: the shuffle is judged without a feeding conv, as before."""
    w = weights(8, 3, 3, 3)
    nodes = [
        oh.make_node("Conv", ["x", "W"], ["h"], pads=[1] * 4, name="conv"),
        oh.make_node("Relu", ["h"], ["a"]),
        oh.make_node("Add", ["a", "c"], ["m"]),
        oh.make_node("DepthToSpace", ["m"], ["y"], blocksize=2, mode="CRD", name="shuffle"),
    ]
    arrays = {"W": w, "c": np.float32(1.0)}
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 3, 5, 6], "y", arrays)
    (found,) = onnx_front.scan(path).findings
    assert found.op.feeding_conv is None and "not found right before it" in found.note


class ConvReluShuffle(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.act = nn.ReLU()
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.act(self.conv(x)))


class InterpolateToSkip(nn.Module):
    """An FPN-like merge: upsample to the size of a skip input (sizes from a shape)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(x), size=skip.shape[-2:], mode="nearest") + skip


def export(model: nn.Module, args: tuple[Any, ...], path: Path, opset: int) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), dynamo=False, opset_version=opset)
    return path


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_exported_conv_relu_pixel_shuffle_judged_as_torch(tmp_path: Path, opset: int) -> None:
    """PyTorch's Conv -> ReLU -> PixelShuffle exported at opsets 11-18: the ONNX scan's judgment
    is the PyTorch scan's (artifact: a random conv), not ``ok``."""
    torch.manual_seed(0)
    model = ConvReluShuffle().eval()
    path = export(model, (torch.randn(1, 3, 6, 6),), tmp_path / "m.onnx", opset)
    (expected,) = torch_findings(model, (1, 3, 6, 6))
    (found,) = onnx_front.scan(path).findings
    assert found.status == expected.status == "artifact"
    assert_same_judgment(found, expected)


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_exported_resize_to_a_skip_size_is_static(tmp_path: Path, opset: int, run_cli) -> None:
    """F.interpolate(size=skip.shape[-2:]) exported at opsets 11, 13, 18 (sizes from Shape ->
    Slice -> Concat): a static graph has no unknown dims; the size is the reference's."""
    model = InterpolateToSkip().eval()
    args = (torch.randn(1, 4, 8, 8), torch.randn(1, 4, 16, 16))
    path = export(model, args, tmp_path / "m.onnx", opset)
    (found,) = onnx_front.scan(path).findings
    assert found.op.params["size"] == (16, 16)
    assert found.op.output_shape == (1, 4, 16, 16)
    feeds = {
        i.name: a.numpy() for i, a in zip(onnx.load(str(path)).graph.input, args, strict=False)
    }
    assert ReferenceEvaluator(str(path)).run(None, feeds)[0].shape == (1, 4, 16, 16)
    done = run_cli("scan", str(path), "--no-png")
    assert done.exit_code == 0 and "?" not in done.stdout.split("Resize")[1].split("\n")[1]


@settings(max_examples=30)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    size_h=st.integers(1, 30),
    size_w=st.integers(1, 30),
    policy=st.sampled_from(["not_larger", "not_smaller"]),
    with_axes=st.booleans(),
)
def test_keep_aspect_ratio_policy_shape_is_the_reference(
    h: int, w: int, size_h: int, size_w: int, policy: str, with_axes: bool
) -> None:
    """keep_aspect_ratio_policy with and without ``axes`` (without: N and C are in the ratio
    too): the output shape is the reference evaluator's (or the resize is left out as a
    resize down, when it enlarges no axis)."""
    if with_axes:
        attrs, sizes = {"axes": [2, 3]}, np.array([size_h, size_w], np.int64)
    else:
        attrs, sizes = {}, np.array([1, 2, size_h, size_w], np.int64)
    node = oh.make_node(
        "Resize", ["x", "", "", "v"], ["y"], keep_aspect_ratio_policy=policy, **attrs
    )
    from upscope.errors import UpscopeError

    with tempfile.TemporaryDirectory() as tmp:
        path = save_graph(Path(tmp) / "m.onnx", [node], [1, 2, h, w], "y", {"v": sizes}, opset=18)
        ref = ReferenceEvaluator(str(path)).run(None, {"x": np.ones((1, 2, h, w), np.float32)})[0]
        if min(ref.shape) == 0:  # the scale rounds an axis to nothing: refused
            with pytest.raises(UpscopeError, match="is empty"):
                onnx_front.scan(path)
            return
        found = onnx_front.scan(path).findings
    if ref.shape[2] > h or ref.shape[3] > w:
        (one,) = found
        assert one.op.output_shape == ref.shape
        assert one.op.params["size"] == ref.shape[2:]
    else:
        assert found == []


def test_a_bad_dequantize_is_refused_only_where_it_is_read(tmp_path: Path) -> None:
    """A DequantizeLinear outside the specification that no judgment reads (it feeds a plain
    Conv) does not stop the scan; the same node feeding the ConvTranspose does."""
    nodes = [
        oh.make_node("DequantizeLinear", ["q", "s"], ["cw"], name="dq", axis=0),
        oh.make_node("Conv", ["x", "cw"], ["h"], pads=[1] * 4),
        oh.make_node("Resize", ["h", "", "sc"], ["y"], name="rs"),
    ]
    arrays = {
        "q": np.ones((4, 4, 3, 3), np.int8),
        "s": np.ones(3, np.float32),
        "sc": np.array([1, 1, 2, 2], np.float32),
    }
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 4, 8, 8], "y", arrays)
    (found,) = onnx_front.scan(path).findings
    assert found.op.kind == "interpolate"


def test_dequantizing_is_budgeted(tmp_path: Path) -> None:
    """A quantized weight is 8 times its stored size as float64: the budget is checked before
    it is made (the file's own estimate, 6 x its size, passes)."""
    from upscope import limits
    from upscope.errors import UpscopeError

    nodes = [
        oh.make_node("DequantizeLinear", ["q", "s"], ["w"], name="dq"),
        oh.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2]),
    ]
    arrays = {"q": np.ones((64, 64, 3, 3), np.int8), "s": np.float32(0.5)}
    path = save_graph(tmp_path / "m.onnx", nodes, [1, 64, 4, 4], "y", arrays)
    assert 6 * path.stat().st_size < 500 * 1024 < 3 * 8 * 64 * 64 * 9
    with limits.max_memory("500k"), pytest.raises(UpscopeError, match="dequantizing Dequantize"):
        onnx_front.scan(path)
    with limits.max_memory("2M"):
        (found,) = onnx_front.scan(path).findings
    np.testing.assert_array_equal(found.op.weight, 0.5)
