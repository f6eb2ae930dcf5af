"""A small decoder as an ONNX file (``decoder.onnx``), to try ``upscope scan FILE.onnx`` on.

Built with ``onnx.helper`` (no exporter, seeded random weights), in the style of a Keras export:
input ``Nx8x8x8`` (a symbolic batch N) -> output ``Nx3x128x128``:

1. ``up1``: ConvTranspose K=3, S=2, ``auto_pad=SAME_UPPER`` (Keras ``padding="same"``: pads 0 at
   the start, 1 at the end), 8x8 -> 16x16: uneven overlap;
2. ``up2``: ConvTranspose K=4, S=2, pads 1, 16x16 -> 32x32: even overlap;
3. ``resize`` (nearest x2) and a 3x3 ``Conv``, 32x32 -> 64x64: the resize-conv;
4. ``to_rgb`` (a 3x3 Conv to 3*2*2 channels) and ``shuffle``: DepthToSpace, blocksize 2, DCR
   mode, 64x64 -> 128x128, ICNR-initialised in DCR channel order (the conv's 4 channels of each
   output channel are equal), so it is balanced: read in the wrong channel order it would not be.

Regenerate the file with ``python samples/decoder_onnx.py`` (needs the onnx package); a test
checks the committed file against :func:`build`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def build() -> Any:
    """The decoder as an ``onnx.ModelProto``."""
    from onnx import TensorProto, numpy_helper
    from onnx import helper as oh

    rng = np.random.default_rng(0)

    def weight(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:]))
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)

    icnr = weight(3, 8, 3, 3)  # one 3x3 conv per output channel, repeated for its 4 phases
    arrays = {
        "up1.weight": weight(8, 8, 3, 3),
        "up2.weight": weight(8, 8, 4, 4),
        "resize.scales": np.array([1, 1, 2, 2], np.float32),
        "conv.weight": weight(8, 8, 3, 3),
        "conv.bias": np.zeros(8, np.float32),
        "to_rgb.weight": np.tile(icnr, (4, 1, 1, 1)),  # DCR: channel (i*2 + j)*3 + c
    }
    nodes = [
        oh.make_node(
            "ConvTranspose",
            ["x", "up1.weight"],
            ["h1"],
            "up1",
            strides=[2, 2],
            auto_pad="SAME_UPPER",
        ),
        oh.make_node("Relu", ["h1"], ["r1"], "relu1"),
        oh.make_node(
            "ConvTranspose", ["r1", "up2.weight"], ["h2"], "up2", strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        oh.make_node("Relu", ["h2"], ["r2"], "relu2"),
        oh.make_node("Resize", ["r2", "", "resize.scales"], ["h3"], "resize", mode="nearest"),
        oh.make_node("Conv", ["h3", "conv.weight", "conv.bias"], ["h4"], "conv", pads=[1, 1, 1, 1]),
        oh.make_node("Relu", ["h4"], ["r4"], "relu4"),
        oh.make_node("Conv", ["r4", "to_rgb.weight"], ["h5"], "to_rgb", pads=[1, 1, 1, 1]),
        oh.make_node("DepthToSpace", ["h5"], ["y"], "shuffle", blocksize=2, mode="DCR"),
    ]
    graph = oh.make_graph(
        nodes,
        "decoder",
        [oh.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, 8, 8])],
        [oh.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 128, 128])],
        initializer=[numpy_helper.from_array(a, name) for name, a in arrays.items()],
    )
    model = oh.make_model(
        graph, opset_imports=[oh.make_opsetid("", 17)], producer_name="upscope samples"
    )
    model.ir_version = 8
    return model


def main() -> None:
    path = Path(__file__).with_name("decoder.onnx")
    path.write_bytes(build().SerializeToString())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
