"""``upscope scan FILE.onnx`` on a ~200-node graph, end to end, against loading it with onnx.

The graph is built with ``onnx.helper``: a decoder of 8 stages, each a ConvTranspose (K=3, S=2,
then K=4, S=2 alternately), a Conv feeding a DepthToSpace, a Resize and a handful of
elementwise nodes, repeated to about 200 nodes on a 1x16x4x4 input. Every command runs in a
fresh subprocess (interpreter start and the imports included), in the same run and interleaved,
so the machine's load affects them alike. The script prints the median wall time of each and
its ratio to ``python -c "import onnx; onnx.load(FILE)"``: what scanning adds on top of reading
the file, which any ONNX tool pays.

    python bench/bench_scan_onnx.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build(path: Path, target_nodes: int = 200) -> int:
    """Write the graph; returns its node count."""
    import onnx
    from onnx import TensorProto, numpy_helper
    from onnx import helper as oh

    rng = np.random.default_rng(0)
    nodes, inits = [], []
    channels, size, x, n = 16, 4, "x", 0

    def weight(name: str, *shape: int) -> str:
        inits.append(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name))
        return name

    def add(op: str, inputs: list[str], **attrs: object) -> str:
        nonlocal n
        out = f"t{n}"
        nodes.append(oh.make_node(op, inputs, [out], name=f"{op.lower()}_{n}", **attrs))
        n += 1
        return out

    stage = 0
    while len(nodes) < target_nodes:
        k = 3 if stage % 2 == 0 else 4
        w = weight(f"wt{stage}", channels, channels, k, k)
        pads = [0, 0, 1, 1] if k == 3 else [1, 1, 1, 1]
        x = add("ConvTranspose", [x, w], strides=[2, 2], pads=pads)
        size *= 2
        for _ in range(6):  # elementwise work between the upsampling nodes
            x = add("Relu", [x])
            x = add("Identity", [x])
        if size > 64:  # keep the spatial size bounded: a strided conv halves it
            x = add(
                "Conv",
                [x, weight(f"wd{stage}", channels, channels, 3, 3)],
                strides=[2, 2],
                pads=[1, 1, 1, 1],
            )
            size //= 2
        c = add("Conv", [x, weight(f"wc{stage}", channels * 4, channels, 3, 3)], pads=[1, 1, 1, 1])
        x = add("DepthToSpace", [c], blocksize=2, mode="DCR")
        x = add("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        scales = f"sc{stage}"
        inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), scales))
        x = add("Resize", [x, "", scales], mode="nearest")
        x = add("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        stage += 1
    graph = oh.make_graph(
        nodes,
        "bench",
        [oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 4, 4])],
        [oh.make_tensor_value_info(x, TensorProto.FLOAT, ["n", "c", "h", "w"])],
        initializer=inits,
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return len(nodes)


def seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "decoder.onnx"
        count = build(path)
        commands = {
            "import onnx; onnx.load(FILE)": [py, "-c", f"import onnx; onnx.load({str(path)!r})"],
            "upscope scan FILE --no-png --json": [
                *(py, "-m", "upscope", "scan", str(path), "--no-png", "--json")
            ],
            "upscope scan FILE --no-png": [py, "-m", "upscope", "scan", str(path), "--no-png"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for cmd in commands.values():  # warm the file cache once
            seconds(cmd)
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                times[name].append(seconds(cmd))
    base = statistics.median(times["import onnx; onnx.load(FILE)"])
    print(f"graph: {count} nodes; median of {args.repeats} runs each, interleaved, one subprocess")
    print(f"{'command':40s} {'seconds':>8s} {'x onnx.load':>12s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:40s} {median:8.2f} {median / base:12.2f}")


if __name__ == "__main__":
    main()
