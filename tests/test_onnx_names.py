"""ONNX nodes are named by the module path the exporter recorded (issue 20), and a long name is
never broken inside a path segment in the scan's table.

The default ``torch.onnx.export`` (torch 2.9+, needs ``onnxscript``) writes the path in each
node's ``metadata_props`` (``pkg.torch.onnx.name_scopes``); the metadata below is what torch 2.13
wrote for the DCGAN sample (captured here, as CI does not install onnxscript). The legacy
exporter (``dynamo=False``) is run for real: its names must equal the PyTorch scan's."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from upscope.scanning import onnx_front
from upscope.scanning.judge import judge
from upscope.scanning.onnx_names import display_name
from upscope.scanning.torch_front import trace


def _node(name: str = "", **meta: str) -> onnx.NodeProto:
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name=name)
    for key, value in meta.items():
        entry = node.metadata_props.add()
        entry.key, entry.value = key, value
    return node


SCOPES = "pkg.torch.onnx.name_scopes"
RULES = "pkg.onnxscript.rewriter.rule_name"


@pytest.mark.parametrize(
    ("node", "shown"),
    [
        (_node("node_convolution_4", **{SCOPES: "['', 'main', 'main.12', 'convolution_4']"}),
         "main.12"),
        (_node("node_ConvTranspose_27", **{
            SCOPES: "['', 'main', 'main.1', '_native_batch_norm_legit_no_training']",
            RULES: "RemoveOptionalBiasFromConvTranspose, FuseBatchNormIntoConvTranspose"}),
         "main.1 (BatchNorm fused in)"),
        (_node("node_x", **{SCOPES: "['', 'convolution']"}), "node_x"),  # the root's own call
        (_node("node_x", **{SCOPES: "not a list ["}), "node_x"),
        (_node("/decoder/decoder.up/ConvTranspose"), "decoder.up"),  # legacy exporter
        (_node("/ConvTranspose"), "/ConvTranspose"),
        (_node("up"), "up"),
        (_node(""), "ConvTranspose_7"),
    ],
)  # fmt: skip
def test_the_recorded_path_names_the_node(node: onnx.NodeProto, shown: str) -> None:
    assert display_name(node, 7) == shown


@pytest.mark.parametrize("name", ["DCGANGenerator", "UNet", "ESPCN", "ResizeConvDecoder"])
def test_legacy_export_names_are_the_pytorch_scans(tmp_path: Path, name: str) -> None:
    import samples.models as zoo

    torch.manual_seed(0)
    model = getattr(zoo, name)().eval()
    example = model.example_input_array
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=17)
    with torch.no_grad():
        # a functional call inside a module is that module's op: the PyTorch scan writes
        # up1:interpolate, the exporter records the module path up1
        expected = [f.op.name.split(":")[0] for f in judge(trace(model, [example]))]
    assert [f.op.name for f in onnx_front.scan(path).findings] == expected


def test_a_long_name_is_never_cut_inside_a_segment(run_cli, tmp_path: Path, monkeypatch) -> None:
    scopes = ["", "generator", "generator.decoder_stage_three", "generator.decoder_stage_three"
              ".upsampling_transposed_convolution_block", "convolution"]  # fmt: skip
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2])
    entry = node.metadata_props.add()
    entry.key, entry.value = SCOPES, repr(scopes)
    weight = numpy_helper.from_array(torch.ones(2, 2, 4, 4).numpy(), "w")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 10, 10])], [weight],
    )  # fmt: skip
    path = tmp_path / "long.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli("scan", str(path), "--no-png")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("1 "))
    shown = "".join(re.split(r"\s{2,}", line.strip())[0 if i else 1] for i, line in
                    enumerate(lines[start:start + 4]))  # fmt: skip
    assert shown == scopes[-2], lines[start : start + 4]
    for segment in re.split(r"(?<=\.)", scopes[-2]):  # a segment that fits stays whole
        if len(segment) <= 24:
            assert any(segment in line for line in lines[start : start + 4]), segment
