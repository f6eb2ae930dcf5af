"""``upscope scan``: finding, naming and judging every upsampling op of a user's model.

torch is the oracle: shapes are what torch produces, compound overlap maps equal a chain of
all-ones transposed convolutions run by torch, and weight imbalances are recomputed here from
the formula on the model's actual weights.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from upscope import arith
from upscope.render.plots import cells_in
from upscope.scanning.judge import STATUSES, judge
from upscope.scanning.load import load_model
from upscope.scanning.torch_front import trace

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "models.py"


def write_model(folder: Path, source: str, name: str = "user_model.py") -> str:
    path = folder / name
    header = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n\n"
    path.write_text(header + textwrap.dedent(source))
    return str(path)


def scan_json(run_cli, *args: str) -> dict:
    result = run_cli("scan", *args, "--json", "--no-png")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def one_error_line(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("upscope: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def formula_imbalance(weight: torch.Tensor, stride: tuple[int, ...]) -> np.ndarray:
    """Per output channel o: sqrt(mean over input channels c of (max - min over phases of the
    sum of the taps j = a mod S of w[c, o])^2), over the RMS of w[:, o] times sqrt(taps per
    phase): the spread of each input channel's phase sums relative to the kernel's own scale."""
    w = weight.detach().double().numpy()
    c_in, c_out = w.shape[:2]
    sums = []
    for phase in np.ndindex(*stride):
        phases = (slice(a, None, s) for a, s in zip(phase, stride, strict=True))
        taps = (slice(None), slice(None), *phases)
        sums.append(w[taps].reshape(c_in, c_out, -1).sum(axis=2))
    table = np.stack(sums, axis=2)  # (C_in, C_out, phases)
    spread = table.max(axis=2) - table.min(axis=2)
    per_phase = max(np.prod(w.shape[2:]) / np.prod(stride), 1.0)
    scale = np.sqrt((np.moveaxis(w, 1, 0).reshape(c_out, -1) ** 2).mean(axis=1) * per_phase)
    return np.sqrt((spread**2).mean(axis=0)) / scale


def shuffle_formula(weight: torch.Tensor, bias: torch.Tensor | None, r: int) -> np.ndarray:
    """The same for the conv feeding PixelShuffle(r): output channel o has the conv channels
    o*r*r + phase; its bias is one more input (level 1), on the same scale plus its RMS."""
    w = weight.detach().double().numpy()  # (C, C_in, *k)
    out = w.shape[0] // (r * r)
    per_phase = np.prod(w.shape[2:])
    result = []
    for o in range(out):
        block = w[o * r * r : (o + 1) * r * r]  # (phases, C_in, *k)
        sums = block.reshape(r * r, w.shape[1], -1).sum(axis=2)  # (phases, C_in)
        spreads = list(sums.max(axis=0) - sums.min(axis=0))
        scale2 = (block**2).mean() * per_phase
        if bias is not None:
            b = bias.detach().double().numpy()[o * r * r : (o + 1) * r * r]
            spreads.append(b.max() - b.min())
            scale2 += (b**2).mean()
        result.append(np.sqrt(np.mean(np.square(spreads)) / scale2))
    return np.array(result)


# ---------------------------------------------------------------- the samples


def test_dcgan_sample(run_cli) -> None:
    doc = scan_json(run_cli, f"{SAMPLES}:DCGANGenerator", "--input-shape", "1x100x1x1")
    layers = doc["layers"]
    assert [x["name"] for x in layers] == ["main.0", "main.3", "main.6", "main.9", "main.12"]
    assert {x["type"] for x in layers} == {"ConvTranspose2d"}
    channels = [100, 512, 256, 128, 64, 3]
    size = 1
    for n, layer in enumerate(layers):
        k, s, p = (4, 1, 0) if n == 0 else (4, 2, 1)
        out = arith.convt_output(size, k, s, p)
        assert layer["input_shape"] == [1, channels[n], size, size]
        assert layer["output_shape"] == [1, channels[n + 1], out, out]
        assert (layer["kernel"], layer["stride"], layer["padding"]) == ([k] * 2, [s] * 2, [p] * 2)
        assert layer["verdict"] == arith.overlap_verdict(k, s) == "even"
        assert layer["even_overlap"] is True
        size = out
    assert size == 64
    # a stride-1 layer has one phase: no weight checkerboard possible
    assert layers[0]["weight_checkerboard"]["worst"] == 0.0
    model = load_model(f"{SAMPLES}:DCGANGenerator", seed=0)
    for layer, index in zip(layers[1:], (3, 6, 9, 12), strict=True):
        expected = formula_imbalance(model.main[index].weight, (2, 2))
        assert layer["weight_checkerboard"]["mean"] == pytest.approx(expected.mean())
        assert layer["weight_checkerboard"]["worst"] == pytest.approx(expected.max())
        assert layer["flagged"] == (expected.mean() > doc["summary"]["threshold"])
        assert layer["compound"][-1] == layer["name"]
    assert layers[-1]["compound"] == [x["name"] for x in layers]


def test_unet_sample(run_cli) -> None:
    doc = scan_json(run_cli, f"{SAMPLES}:UNet", "--input-shape", "1x1x64x64")
    layers = doc["layers"]
    assert [x["name"] for x in layers] == ["up2", "up1"]
    assert [x["input_shape"] for x in layers] == [[1, 64, 16, 16], [1, 32, 32, 32]]
    assert [x["output_shape"] for x in layers] == [[1, 32, 32, 32], [1, 16, 64, 64]]
    for layer in layers:
        assert layer["output_padding"] == [1, 1]
        assert layer["verdict"] == arith.overlap_verdict(3, 2) == "checkerboard"
        cov = arith.phase_coverage(3, 2)
        assert layer["interior_ratio"] == pytest.approx((max(cov) / min(cov)) ** 2)
        assert layer["flagged"] is True
    assert doc["summary"]["flagged"] == 2
    assert doc["summary"]["line"].startswith("2 of 2 upsampling ops can make a checkerboard")


def test_espcn_sample_measures_the_conv_before_the_shuffle(run_cli) -> None:
    doc = scan_json(run_cli, f"{SAMPLES}:ESPCN")  # the model's example_input_array
    assert doc["input_shapes"] == [[1, 1, 32, 32]]
    (layer,) = doc["layers"]
    assert (layer["name"], layer["type"], layer["upscale_factor"]) == ("shuffle", "PixelShuffle", 3)
    assert (layer["input_shape"], layer["output_shape"]) == ([1, 9, 32, 32], [1, 1, 96, 96])
    assert layer["verdict"] == "even" and layer["interior_ratio"] is None
    model = load_model(f"{SAMPLES}:ESPCN", seed=0)
    conv = model.conv3
    w, b = conv.weight.detach().double().numpy(), conv.bias.detach().double().numpy()
    pairs = w.sum(axis=(2, 3))  # (phase a*3+b, input channel)
    spreads = [*(pairs.max(axis=0) - pairs.min(axis=0)), b.max() - b.min()]  # bias: one input
    scale2 = (w**2).mean() * 9 + (b**2).mean()  # RMS tap * sqrt(9 taps per phase), and the bias
    expected = np.sqrt(np.mean(np.square(spreads)) / scale2)
    assert expected == pytest.approx(shuffle_formula(conv.weight, conv.bias, 3)[0])
    assert layer["weight_checkerboard"]["source"] == "conv3"
    assert layer["weight_checkerboard"]["bias"] is True
    assert layer["weight_checkerboard"]["mean"] == pytest.approx(expected)
    assert "no overlap" in layer["note"]


def test_interpolate_decoder_sample(run_cli) -> None:
    doc = scan_json(run_cli, f"{SAMPLES}:ResizeConvDecoder", "--input-shape", "1x64x8x8")
    layers = doc["layers"]
    assert [x["name"] for x in layers] == ["up1:interpolate", "up2:interpolate", "up3:interpolate"]
    assert {x["type"] for x in layers} == {"F.interpolate"}
    assert [x["mode"] for x in layers] == ["nearest", "nearest", "bilinear"]
    assert [x["output_shape"][2:] for x in layers] == [[16, 16], [32, 32], [64, 64]]
    assert all(x["verdict"] == "even" and not x["flagged"] for x in layers)
    assert all(x["weight_checkerboard"] is None and x["kernel"] is None for x in layers)
    assert doc["summary"]["line"].startswith("0 of 3 upsampling ops can make a checkerboard; ")
    assert doc["output_grid"]["grey_levels"] < 1e-5  # float rounding: no op can make a grid
    assert all(x["output_grid"] is None and x["status"] == "ok" for x in layers)


# ---------------------------------------------------------------- finding and naming


MIXED = """
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 4, 3, 3))

    def forward(self, x):
        x = F.conv_transpose2d(x, self.w, stride=2, padding=1, output_padding=1)
        return torch.pixel_shuffle(torch.cat([x] * 4, dim=1), 2)


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1)
        self.ups = nn.Upsample(scale_factor=2, mode="bilinear")
        self.shuffle = nn.PixelShuffle(2)
        self.block = Block()
        self.line = nn.ConvTranspose1d(3, 2, 5, stride=3)

    def forward(self, x):
        x = self.ups(self.up(x))
        x = self.up(F.avg_pool2d(x, 2))
        x = F.interpolate(x, scale_factor=0.25)  # 24x24 -> 6x6: a resize down, not listed
        x = self.block(F.interpolate(x, size=(7, 5), mode="nearest"))  # one axis enlarged: listed
        x = self.shuffle(torch.cat([x] * 4, dim=1))
        return self.line(x.flatten(2)[:, :3])
"""


def test_functional_calls_found_once_each_in_call_order(run_cli, tmp_path: Path) -> None:
    path = write_model(tmp_path, MIXED)
    doc = scan_json(run_cli, f"{path}:Mixed", "--input-shape", "1x4x6x6")
    names = [(x["name"], x["type"]) for x in doc["layers"]]
    assert names == [
        ("up", "ConvTranspose2d"),
        ("ups", "Upsample"),
        ("up#2", "ConvTranspose2d"),
        ("interpolate", "F.interpolate"),
        ("block:conv_transpose2d", "F.conv_transpose2d"),
        ("block:pixel_shuffle", "F.pixel_shuffle"),
        ("shuffle", "PixelShuffle"),
        ("line", "ConvTranspose1d"),
    ]
    by = {x["name"]: x for x in doc["layers"]}
    assert by["interpolate"]["size"] == [7, 5] and by["interpolate"]["scale_factor"] is None
    fct = by["block:conv_transpose2d"]
    assert (fct["kernel"], fct["stride"], fct["padding"], fct["output_padding"]) == (
        [3, 3],
        [2, 2],
        [1, 1],
        [1, 1],
    )
    assert fct["input_shape"] == [1, 4, 7, 5]
    assert fct["output_shape"] == [1, 4, *(arith.convt_output(i, 3, 2, 1, 1) for i in (7, 5))]
    assert fct["verdict"] == "checkerboard"
    assert by["ups"]["scale_factor"] == [2.0, 2.0] and by["ups"]["mode"] == "bilinear"
    assert by["line"]["verdict"] == arith.overlap_verdict(5, 3) == "checkerboard"
    model = load_model(f"{path}:Mixed")
    line = by["line"]["weight_checkerboard"]
    assert line["mean"] == pytest.approx(formula_imbalance(model.line.weight, (3,)).mean())
    assert by["up"]["compound"] == ["up"]


def test_crafted_kernels_zero_order_hold_and_formula(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1),
        nn.ConvTranspose2d(3, 2, 6, stride=3, padding=2, groups=1),
    )
    g = torch.randint(-2, 5, (2, 3, 3, 3)).float()  # integers: every sum exact in float32
    g[0, :, 0, 0] = 20  # no channel sums to 0
    # w = g (*) ones(2, 2): every 2x2 polyphase component holds every tap of g once
    zoh = torch.zeros(2, 3, 4, 4)
    for a in range(2):
        for b in range(2):
            zoh[:, :, a : a + 3, b : b + 3] += g
    with torch.no_grad():
        model[0].weight.copy_(zoh)
    findings = judge(trace(model, [torch.randn(1, 2, 5, 5)]))
    assert findings[0].imbalance_worst == 0.0
    assert findings[0].status == "risk"  # balanced now, a strided convT can learn a grid
    assert "can learn a grid" in findings[0].reasons[0]
    expected = formula_imbalance(model[1].weight, (3, 3))
    assert findings[1].imbalance_mean == pytest.approx(expected.mean())
    assert findings[1].imbalance_worst == pytest.approx(expected.max())
    assert findings[1].verdict == "even"  # K=6, S=3


def test_groups_and_dilation() -> None:
    torch.manual_seed(4)
    grouped = nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2)
    holes = nn.ConvTranspose2d(6, 2, 3, stride=2, dilation=2, bias=False)
    findings = judge(trace(nn.Sequential(grouped, holes), [torch.randn(1, 4, 6, 6)]))
    w = grouped.weight.detach().double().numpy()  # (C_in, C_out/groups, k, k)
    expected = []
    for group in range(2):
        part = torch.from_numpy(w[2 * group : 2 * group + 2])
        expected.extend(formula_imbalance(part, (2, 2)))
    np.testing.assert_allclose(findings[0].imbalance, expected)
    assert findings[1].verdict == arith.overlap_verdict(3, 2, 2) == "holes"
    assert findings[1].interior_ratio is None and findings[1].flagged
    # every dilated tap lands on phase (0, 0): the three other phases sum to 0
    sums = findings[1].phase_sums
    assert np.all(sums[:, 1, :] == 0) and np.all(sums[:, :, 1] == 0)


layer_params = st.tuples(
    st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2), st.integers(1, 2)
)


@settings(max_examples=25)
@given(st.lists(layer_params, min_size=1, max_size=3), st.integers(1, 6), st.integers(1, 6))
def test_compound_map_equals_torch_chain_of_ones(layers, height, width) -> None:
    modules, size = [], (height, width)
    for k, s, p, op, d in layers:
        op = op % max(s, d)
        try:
            size = tuple(arith.convt_output(i, k, s, p, op, d) for i in size)
        except Exception:  # noqa: BLE001 - a stack torch refuses: nothing to compare
            return
        conv = nn.ConvTranspose2d(1, 1, k, s, p, op, dilation=d, bias=False)
        nn.init.ones_(conv.weight)
        modules.append(conv)
    model = nn.Sequential(*modules)
    ones = torch.ones(1, 1, height, width, dtype=torch.float64)
    findings = judge(trace(model.double(), [ones]))
    with torch.no_grad():
        expected = model(ones)[0, 0].round().long().numpy()
    assert [f.op.name for f in findings] == [str(n) for n in range(len(layers))]
    assert findings[-1].chain == [f.op.name for f in findings]
    np.testing.assert_array_equal(findings[-1].compound_map(), expected)


# ---------------------------------------------------------------- loading and weights


NET = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        return self.up(x)


def make():
    return Net()


INSTANCE = Net()
NUMBER = 3


class NotAModule:
    pass


def make_list():
    return [1, 2]


def needs_args(width):
    return Net()
"""


def test_weights_round_trip(run_cli, tmp_path: Path) -> None:
    path = write_model(tmp_path, NET)
    torch.manual_seed(123)
    trained = load_model(f"{path}:Net", seed=123)
    with torch.no_grad():
        trained.up.weight.mul_(torch.linspace(0.5, 2.0, 18).reshape(3, 2, 3, 1))
    expected = formula_imbalance(trained.up.weight, (2, 2))
    plain, wrapped = tmp_path / "plain.pt", tmp_path / "wrapped.pt"
    torch.save(trained.state_dict(), plain)
    torch.save({"state_dict": trained.state_dict(), "epoch": 7}, wrapped)
    baseline = scan_json(run_cli, f"{path}:Net", "--input-shape", "1x3x8x8")
    for ckpt in (plain, wrapped):
        doc = scan_json(run_cli, f"{path}:make", "--input-shape", "1x3x8x8", "--weights", str(ckpt))
        weights = doc["layers"][0]["weight_checkerboard"]
        assert weights["mean"] == pytest.approx(expected.mean())
        assert weights["worst"] == pytest.approx(expected.max())
    assert baseline["layers"][0]["weight_checkerboard"]["mean"] != pytest.approx(expected.mean())


def test_seed_makes_the_scan_reproducible(run_cli, tmp_path: Path) -> None:
    path = write_model(tmp_path, NET)
    runs = [
        scan_json(run_cli, f"{path}:Net", "--input-shape", "1x3x8x8", "--seed", s) for s in "112"
    ]
    assert runs[0] == runs[1]
    assert (
        runs[0]["layers"][0]["weight_checkerboard"] != runs[2]["layers"][0]["weight_checkerboard"]
    )


def test_model_forms(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_model(tmp_path, NET)
    for name in ("Net", "make", "INSTANCE"):
        doc = scan_json(run_cli, f"{path}:{name}", "--input-shape", "1x3x4x4")
        assert [x["name"] for x in doc["layers"]] == ["up"]
    package = tmp_path / "upscope_scan_testpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write_model(package, NET, name="nets.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    doc = scan_json(run_cli, "upscope_scan_testpkg.nets:Net", "--input-shape", "1x3x4x4")
    assert doc["model"] == "upscope_scan_testpkg.nets:Net"
    assert doc["layers"][0]["output_shape"] == [1, 2, 8, 8]


def test_multi_input_model(run_cli, tmp_path: Path) -> None:
    path = write_model(
        tmp_path,
        """
        class TwoIn(nn.Module):
            def __init__(self):
                super().__init__()
                self.up = nn.ConvTranspose2d(4, 1, 2, stride=2)

            def forward(self, a, b):
                return self.up(torch.cat([a, b], dim=1))
        """,
    )
    shapes = ("--input-shape", "1x1x5x5", "--input-shape", "1x3x5x5")
    doc = scan_json(run_cli, f"{path}:TwoIn", *shapes)
    assert doc["input_shapes"] == [[1, 1, 5, 5], [1, 3, 5, 5]]
    assert doc["layers"][0]["output_shape"] == [1, 1, 10, 10]


def test_forward_failure_is_torchs_message_on_one_line(run_cli, tmp_path: Path) -> None:
    path = write_model(tmp_path, NET)
    model = load_model(f"{path}:Net")
    with pytest.raises(RuntimeError) as caught:
        model(torch.randn(1, 1, 8, 8))
    line = one_error_line(run_cli("scan", f"{path}:Net", "--input-shape", "1x1x8x8"))
    assert "forward pass with input shape 1x1x8x8 failed" in line
    assert " ".join(str(caught.value).split())[:80] in line


def test_bad_model_arguments(run_cli, tmp_path: Path) -> None:
    path = write_model(tmp_path, NET)
    broken = write_model(tmp_path, "raise ImportError('no such dependency')\n", name="broken.py")
    shape = ("--input-shape", "1x3x4x4")
    cases = {
        f"{tmp_path}/missing.py:Net": "not found",
        f"{path}:Missing": "has no attribute 'Missing'",
        f"{path}:NUMBER": "not an nn.Module subclass or a factory",
        f"{path}:NotAModule": "not an nn.Module subclass",
        f"{path}:make_list": "returned a list, not an nn.Module",
        f"{path}:needs_args": "must take no arguments",
        f"{broken}:Net": "no such dependency",
        "no_colon_here": "MODEL must be",
        "upscope_no_such_package.mod:Net": "cannot import module",
    }
    for model, expected in cases.items():
        line = one_error_line(run_cli("scan", model, *shape))
        assert expected in line, (model, line)


RESIZES = """
class Resizes(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2)
        self.down = nn.Upsample(scale_factor=0.5)
        self.same = nn.Upsample(size=(4, 4), mode="bilinear")

    def forward(self, x):
        return self.up(self.same(self.down(self.up(x))))
"""


def test_module_owned_down_resizes_are_not_listed_and_parameterless_weights_load(
    run_cli, tmp_path: Path
) -> None:
    path = write_model(tmp_path, RESIZES)
    empty = tmp_path / "empty.pt"
    torch.save({}, empty)  # the whole state dict of a model without parameters
    doc = scan_json(run_cli, f"{path}:Resizes", "--input-shape", "1x1x4x4", "--weights", str(empty))
    layers = [(x["name"], x["input_shape"], x["output_shape"]) for x in doc["layers"]]
    assert layers == [("up", [1, 1, 4, 4], [1, 1, 8, 8]), ("up#2", [1, 1, 4, 4], [1, 1, 8, 8])]


def test_bad_input_shapes(run_cli, tmp_path: Path) -> None:
    path = write_model(tmp_path, NET)
    for text in ("1x3xAx4", "1x0x4x4", "", "1,3,4,4"):
        line = one_error_line(run_cli("scan", f"{path}:Net", "--input-shape", text))
        assert "--input-shape" in line
    line = one_error_line(run_cli("scan", f"{path}:Net"))
    assert "--input-shape is required" in line


def net_state() -> dict[str, torch.Tensor]:
    """A state dict that fits NET's Net."""
    return {"up.weight": torch.randn(3, 2, 3, 3), "up.bias": torch.randn(2)}


def test_bad_checkpoints(run_cli, tmp_path: Path) -> None:
    path = write_model(tmp_path, NET)
    shape = ("--input-shape", "1x3x4x4")
    other = nn.Sequential(nn.Conv2d(1, 1, 1))
    cases = {
        "list.pt": ([1, 2, 3], "holds a list, not a state dict"),
        "numbers.pt": ({"up.weight": 3}, "not a state dict"),
        "other.pt": (other.state_dict(), "2 missing ('up.weight', 'up.bias')"),
        "empty.pt": ({}, "2 missing ('up.weight', 'up.bias')"),
        "shape.pt": (
            {"up.weight": torch.zeros(3, 2, 5, 5), "up.bias": torch.zeros(2)},
            "size mismatch for up.weight",
        ),
    }
    for name, (content, expected) in cases.items():
        torch.save(content, tmp_path / name)
        line = one_error_line(
            run_cli("scan", f"{path}:Net", *shape, "--weights", str(tmp_path / name))
        )
        assert expected in line, (name, line)
    namespace = {"args": argparse.Namespace(lr=0.1), "up.weight": torch.zeros(3, 2, 3, 3)}
    torch.save(namespace, tmp_path / "objects.pt")
    torch.save(net_state(), tmp_path / "real.pt")
    torch.save(net_state(), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    real, legacy = (tmp_path / "real.pt").read_bytes(), (tmp_path / "legacy.pt").read_bytes()
    noise = np.random.default_rng(0).bytes(4096)
    assert noise[:2] != b"PK" and noise[:1] != b"\x80"  # neither format's first bytes
    files = {
        "text.pt": (b"hello\n", "is a text file (it starts 'hello'), not a checkpoint"),
        "empty.pt": (b"", "is empty (0 bytes), not a checkpoint torch.save wrote"),
        "half.pt": (real[: len(real) // 2], "truncated or damaged torch checkpoint"),
        "head.pt": (real[:100], "truncated or damaged torch checkpoint"),
        "half-legacy.pt": (legacy[: len(legacy) // 2], "truncated torch checkpoint (legacy"),
        "noise.pt": (noise, "is not a checkpoint torch.save wrote (neither a zip archive"),
        "pickle.pt": (pickle.dumps({"up.weight": 1}, protocol=4), "is a Python pickle but not"),
        "objects.pt": (None, "holds Python objects besides tensors"),
    }
    for name, (content, expected) in files.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(Exception) as caught, warnings.catch_warnings():  # noqa: PT011
            warnings.simplefilter("ignore")  # each file fails its own way: torch is the oracle
            torch.load(tmp_path / name, weights_only=True)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            line = one_error_line(
                run_cli("scan", f"{path}:Net", *shape, "--weights", str(tmp_path / name))
            )
        assert expected in line, (name, line)
        assert type(caught.value).__name__ not in line, (name, line)  # not torch's raw error
        assert not [w for w in seen if "torch" in str(w.filename)], (name, seen)
    line = one_error_line(
        run_cli("scan", f"{path}:Net", *shape, "--weights", str(tmp_path / "no.pt"))
    )
    assert "not found" in line


# ---------------------------------------------------------------- output


def test_table(run_cli) -> None:
    result = run_cli("scan", f"{SAMPLES}:UNet", "--no-png")
    assert result.exit_code == 0, result.stderr
    # at random init the UNet's output is small: its grid is under half a grey level, and
    # both strided transposed convs can learn one
    assert "2 of 2 upsampling ops can make a checkerboard (0 artifact, 2 risk); worst: up" in (
        result.stdout
    )
    assert "output grid 0.03 grey levels RMS" in " ".join(result.stdout.split())
    rows = [line.split() for line in result.stdout.splitlines()]
    rows = [row for row in rows if row[:1] in (["1"], ["2"]) and row[-1] in STATUSES]
    assert [(row[1], row[-1]) for row in rows] == [("up2", "risk"), ("up1", "risk")]
    footer = " ".join(result.stdout.split())
    assert "checkerboard xR: R is the interior max/min of its overlap counts" in footer
    # the two table rows, then one ConvTranspose fix each (resize-conv is the other fix)
    assert result.stdout.count("ConvTranspose2d") == 4


def test_pngs_and_json_keys(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "pngs"
    result = run_cli("scan", f"{SAMPLES}:UNet", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    pngs = sorted(out.iterdir())
    assert [p.name for p in pngs] == ["scan-01-up2.png", "scan-02-up1.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert set(doc) == {
        "model",
        "format",
        "input_shapes",
        "output_grid",
        "layers",
        "summary",
        "png",
        "output_non_finite",
    }
    assert set(doc["output_grid"]) == {
        *("rms", "grey_levels", "by_period", "by_period_rms", "levels", "channels", "tile"),
        *("border", "range", "range_source", "output_shape", "note"),
    }
    assert all(
        set(level) == {"level", "rms", "grey_levels", "channels"}
        for level in doc["output_grid"]["levels"]
    )
    assert all(
        set(layer["output_grid"]) == {"grey_levels", "rms", "period"} for layer in doc["layers"]
    )
    assert doc["format"] == "pytorch"
    assert doc["png"] == [str(p) for p in pngs]
    keys = {
        *("name", "type", "input_shape", "output_shape", "kernel", "stride", "padding"),
        *("padding_end", "output_padding", "dilation", "groups", "scale_factor", "size", "mode"),
        *("upscale_factor", "verdict", "even_overlap", "interior_ratio"),
        *("weight_checkerboard", "flagged", "reasons", "compound", "note"),
        *("geometry", "weights", "response", "status", "fixes", "output_grid"),
        "non_finite",
    }
    assert all(set(layer) == keys for layer in doc["layers"])
    assert all(layer["padding_end"] is None for layer in doc["layers"])  # ONNX's asymmetric pads
    fix_keys = {"title", "code", "verified", "reason", "same_shapes", "overlap", "response"}
    fix_keys |= {"params_delta", "code_standalone", "uses", "note", "shift"}
    fix_keys |= {"output_grid", "output_grid_total"}
    assert all(set(fix) == fix_keys for layer in doc["layers"] for fix in layer["fixes"])
    assert set(doc["summary"]) == {
        *("ops", "flagged", "worst", "threshold", "line"),
        *("status", "response_threshold", "inputs", "grid_threshold", "grid_reason"),
    }


def test_no_png_and_unwritable_out(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "none"
    assert run_cli("scan", f"{SAMPLES}:UNet", "--out", str(out), "--no-png").exit_code == 0
    assert not out.exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = one_error_line(run_cli("scan", f"{SAMPLES}:UNet", "--out", str(blocker / "x")))
    assert "output folder" in line


def test_cli_start_does_not_import_torch() -> None:
    code = "import sys, upscope.cli; assert 'torch' not in sys.modules, 'torch loaded'"
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


@pytest.mark.parametrize(
    "args",
    [
        ("no_colon_here", "--input-shape", "1x3x4x4"),
        ("missing/model.py:Net", "--input-shape", "1x3x4x4"),
        (f"{SAMPLES}:DCGANGenerator", "--input-shape", "1xfoo"),
        (f"{SAMPLES}:DCGANGenerator", "--input-shape", "1x0x1x1"),
    ],
)
def test_mistyped_arguments_are_refused_before_torch_loads(args: tuple[str, ...]) -> None:
    code = (
        "import sys\nfrom upscope.cli import main\n"
        "try:\n    main(['scan', *sys.argv[1:]])\nexcept SystemExit as e:\n    code = e.code\n"
        "print('torch' in sys.modules, code)"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.stdout.split() == ["False", "2"], (done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and "upscope: error:" in done.stderr


def test_figures_of_1d_and_3d_ops() -> None:
    from upscope.render import scan_view

    torch.manual_seed(5)
    line = nn.ConvTranspose1d(2, 3, 5, stride=3, padding=1)
    vol = nn.ConvTranspose3d(1, 2, 3, stride=2, dilation=2)
    findings = judge(trace(line, [torch.randn(1, 2, 7)]))
    findings += judge(trace(vol, [torch.randn(1, 1, 2, 3, 3)]))
    assert [f.verdict for f in findings] == ["checkerboard", "holes"]
    assert findings[1].phase_sums.shape == (2, 2, 2, 2)
    for finding in findings:
        assert scan_view.wants_png(finding)
        fig = scan_view.draw(finding, 0.1)
        fig.canvas.draw()
        # overlap, imbalance bars, worst channel; 2 colorbars (1D: bars, no colorbar)
        assert len(fig.axes) == (3 if finding.op.ndim == 1 else 5)


def test_user_code_that_exits_or_runs_unbatched_is_one_line(run_cli, tmp_path) -> None:
    path = tmp_path / "odd.py"
    path.write_text(
        "import torch.nn as nn\n"
        "class Exits(nn.Module):\n"
        "    def forward(self, x):\n"
        "        raise SystemExit(3)\n"
        "class Up(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.up = nn.ConvTranspose2d(1, 1, 3, 2)\n"
        "    def forward(self, x):\n"
        "        return self.up(x)\n"
    )
    r = run_cli("scan", f"{path}:Exits", "--input-shape", "1x1x4x4", "--no-png")
    assert r.exit_code == 2 and "SystemExit: 3" in r.stderr
    r = run_cli("scan", f"{path}:Up", "--input-shape", "1x4x4", "--no-png")
    assert r.exit_code == 2 and "batch dimension" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_figure_colorbars_are_labelled_and_a_constant_map_says_so() -> None:
    from upscope.render import scan_view

    torch.manual_seed(3)
    layer = nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1)  # even overlap: interior all 4
    (finding,) = judge(trace(layer, [torch.randn(1, 2, 16, 16)]))
    assert finding.flagged  # random weights
    fig = scan_view.draw(finding, 0.1)
    heat, _bars, _worst, heat_bar, worst_bar = fig.axes  # the panels, then their colorbars
    shown = finding.compound_map()[8:24, 8:24]
    assert shown.min() == shown.max() == 4  # the centre window the figure shows
    assert heat_bar.get_ylabel() == "contributions per output pixel"
    assert [t for t in heat_bar.get_yticks() if heat_bar.get_ylim()[0] <= t] == [4]
    assert heat.images[0].get_cmap().N == 1  # one colour: no gradient for a single value
    texts = [t.get_text() for t in heat.texts]
    assert texts == ["constant: every pixel 4"] and not cells_in(heat)
    assert "interior: every pixel 4 (even)" in heat.get_title()
    index = finding.worst_channel
    assert worst_bar.get_ylabel() == f"sum / mean |sum| of channel {index}"
    uneven = judge(trace(nn.ConvTranspose2d(2, 1, 3, stride=2), [torch.randn(1, 2, 5, 5)]))[0]
    fig = scan_view.draw(uneven, 0.1)
    counts = [int(v) for v in _cells(fig.axes[0])]
    assert sorted(set(counts)) == sorted(np.unique(uneven.compound_map()).tolist())
    assert fig.axes[0].images[0].get_cmap().N > 2


def _cells(ax) -> np.ndarray:
    """The numbers written in the cells of a heatmap panel: its texts, or the cells of
    plots.cell_labels (one text drawn at every cell)."""
    texts = [t.get_text() for t in ax.texts if t.get_visible() and t.get_text()]
    return np.array([float(text) for text in texts + [c[2] for c in cells_in(ax)]])


def bars(ax) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bars of a panel as drawn (one collection, a closed rectangle per bar): their centres,
    heights (from 0) and face colours, in drawing order."""
    (drawn,) = ax.collections
    corners = np.array([path.vertices[:4] for path in drawn.get_paths()])  # (x0,0) (x1,0) (x1,h)
    assert np.all(corners[:, :2, 1] == 0) and np.all(corners[:, 2, 1] == corners[:, 3, 1])
    return corners[:, :2, 0].mean(axis=1), corners[:, 2, 1], np.asarray(drawn.get_facecolor())


def test_weight_panels_draw_the_worst_channel_and_agree_with_the_titles() -> None:
    """The bars are the formula's per-channel imbalances (torch's weights), the red one the
    largest; the worst panel's values / their mean |value| span exactly that imbalance."""
    from upscope.render import scan_view

    torch.manual_seed(6)
    layer = nn.ConvTranspose2d(3, 8, 4, stride=2, padding=1)
    with torch.no_grad():
        layer.weight[:, 5, 0::2, 0::2] += 0.5  # one phase of channel 5 far above the others
    expected = formula_imbalance(layer.weight, (2, 2))
    worst = int(np.argmax(expected))
    assert worst == 5
    (finding,) = judge(trace(layer, [torch.randn(1, 3, 6, 6)]))
    fig = scan_view.draw(finding, 0.1)
    _heat, middle, panel, *_ = fig.axes
    centres, heights, colours = bars(middle)  # one bar per output channel, at its index
    assert centres.tolist() == list(range(8))
    np.testing.assert_allclose(heights, expected, rtol=1e-6)
    red = [n for n, colour in enumerate(colours) if colour[0] > 0.7]
    assert red == [worst]
    (mean_line,) = [line for line in middle.lines if line.get_linestyle() == "--"]
    assert mean_line.get_ydata()[0] == pytest.approx(expected.mean())
    assert f"weight imbalance {expected.mean():.2f} (mean over 8 output channels) > 0.1" in (
        fig.get_suptitle()
    )
    assert f"mean {expected.mean():.2f}" in middle.get_title()
    drawn = np.asarray(panel.images[0].get_array())
    assert np.abs(drawn).mean() == pytest.approx(1.0)  # normalised by its mean |sum|
    title = panel.get_title()
    assert f"output channel {worst} (the worst)" in title
    assert title.endswith(
        f"max - min = {drawn.max() - drawn.min():.3g}; imbalance {expected[worst]:.2f}"
    )
    cells = _cells(panel)  # written with 3 significant digits
    assert cells.max() - cells.min() == pytest.approx(drawn.max() - drawn.min(), abs=0.01)


def test_single_channel_figure_is_the_pixel_shuffle_conv_response() -> None:
    from upscope.render import scan_view

    model = load_model(f"{SAMPLES}:ESPCN", seed=0)
    (finding,) = judge(trace(model, [torch.randn(1, 1, 32, 32)]))
    conv = model.conv3
    sums = (conv.weight.detach().double().sum(dim=(1, 2, 3)) + conv.bias.detach().double()).numpy()
    (expected,) = shuffle_formula(conv.weight, conv.bias, 3)
    fig = scan_view.draw(finding, 0.1)
    panel, _bar = fig.axes  # one channel: no overlap map (no overlap), no bars
    drawn = np.asarray(panel.images[0].get_array())
    np.testing.assert_allclose(drawn.ravel(), sums / np.abs(sums).mean(), rtol=1e-5)
    assert "output channel 0 (the only one)" in panel.get_title()
    assert f"weight imbalance {expected:.2f} (its one output channel)" in fig.get_suptitle()


def test_compound_panel_states_the_chain_and_its_own_interior() -> None:
    """UNet's up1: the panel is the map of up2 -> up1 (interior 1..9), the figure title the
    layer alone (x4); both numbers checked against torch's chain of all-ones kernels."""
    from upscope.overlap_map import stack_overlap
    from upscope.render import scan_view

    model = load_model(f"{SAMPLES}:UNet", seed=0)
    up2, up1 = judge(trace(model, [torch.randn(1, 1, 64, 64)]))
    chain = nn.Sequential(
        *(nn.ConvTranspose2d(1, 1, 3, 2, 1, 1, bias=False) for _ in range(2))
    ).double()
    for conv in chain:
        nn.init.ones_(conv.weight)
    with torch.no_grad():
        counts = chain(torch.ones(1, 1, 16, 16, dtype=torch.float64))[0, 0].round().long().numpy()
    spec = arith.convt_spec((3, 3), (2, 2), (1, 1), (1, 1), (1, 1), set())
    core = stack_overlap([spec, spec], (16, 16))
    np.testing.assert_array_equal(core.map, counts)
    inner = counts[tuple(slice(a, b) for a, b in core.interior)]
    low, high = int(inner.min()), int(inner.max())
    assert (low, high) == (core.interior_min, core.interior_max)
    assert high / low == core.interior_ratio == 9
    fig = scan_view.draw(up1, 0.1)
    heat = fig.axes[0]
    title = heat.get_title()
    assert title.startswith("compound overlap of up2 -> up1\n")
    assert f"interior max/min {high}/{low} = {high / low:g}: checkerboard" in title
    cells = _cells(heat)  # the centre window lies inside the interior: it shows the same range
    assert (cells.min(), cells.max()) == (low, high)
    cov = arith.phase_coverage(3, 2)
    alone = (max(cov) / min(cov)) ** 2
    assert f"this layer alone: uneven overlap (interior max/min {alone:g})" in fig.get_suptitle()
    first = scan_view.draw(up2, 0.1).axes[0].get_title()
    assert first.startswith(f"overlap of this layer alone\ninterior max/min 4/1 = {alone:g}")


def test_a_chain_without_interior_and_all_zero_weights_are_drawn() -> None:
    from upscope.render import scan_view

    model = load_model(f"{SAMPLES}:DCGANGenerator", seed=0)
    findings = judge(trace(model, [torch.randn(1, 100, 1, 1)]))
    last = findings[-1]
    assert not last.compound().has_interior  # a 1x1 input: no pixel gets every tap of main.0
    title = scan_view.draw(last, 0.1).axes[0].get_title()
    assert "compound overlap of main.0 -> main.3 -> main.6 -> main.9 -> main.12" in title
    assert "no interior on this 1x1 input" in title and "verdict on input 8x8: even" in title
    holes = nn.ConvTranspose2d(2, 4, 3, stride=2, dilation=2, bias=False)
    nn.init.zeros_(holes.weight)
    (finding,) = judge(trace(holes, [torch.randn(1, 2, 5, 5)]))
    assert finding.flagged and finding.worst_channel is None
    fig = scan_view.draw(finding, 0.1)
    assert len(fig.axes) == 4  # overlap map and the (zero) sums of channel 0, no bars
    assert "weight imbalance undefined" in fig.get_suptitle()


class _ConvShuffle(nn.Module):
    def __init__(self, bias: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3 * 4, 3, padding=1, bias=bias)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def test_pixel_shuffle_measure_includes_the_bias_of_the_conv() -> None:
    """The sums are the conv's response to a constant input of 1, checked against torch."""
    torch.manual_seed(1)
    model = _ConvShuffle(bias=True)
    with torch.no_grad():  # ICNR-like: the 4 sub-pixel channels of each output share weights
        model.conv.weight.copy_(model.conv.weight[::4].repeat_interleave(4, dim=0))
    x = torch.ones(1, 2, 8, 8)
    for bias, status in ((torch.zeros(12), "risk"), (torch.arange(12.0) / 10, "artifact")):
        with torch.no_grad():
            model.conv.bias.copy_(bias)
            out = model(x)[0].double().numpy()  # (3, 16, 16)
        (finding,) = judge(trace(model, [x]))
        assert finding.with_bias and finding.status == status  # judged on weights: no grid
        # interior output pixels (away from the conv's zero padding) are exactly the sums
        inner = out[:, 2:-2, 2:-2]
        for a, b in np.ndindex(2, 2):
            phase = inner[:, a::2, b::2]
            assert np.allclose(phase, phase[:, :1, :1])
            assert np.allclose(phase[:, 0, 0], finding.phase_sums[:, a, b])
        expected = shuffle_formula(model.conv.weight, model.conv.bias, 2)
        assert np.allclose(finding.imbalance, expected)
    plain = _ConvShuffle(bias=False)
    (finding,) = judge(trace(plain, [x]))
    assert not finding.with_bias and "no bias" in finding.note


def test_package_module_form_finds_a_package_in_the_current_directory(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with ``python -m``: the console script's sys.path lacks the cwd, scan adds it."""
    package = tmp_path / "upscope_cwd_testpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write_model(package, NET, name="nets.py")
    monkeypatch.chdir(tmp_path)
    cwd_forms = {"", ".", str(tmp_path)}
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in cwd_forms])
    before = list(sys.path)
    try:
        doc = scan_json(run_cli, "upscope_cwd_testpkg.nets:Net", "--input-shape", "1x3x4x4")
        assert doc["layers"][0]["output_shape"] == [1, 2, 8, 8]
        assert sys.path == before  # the cwd was removed again
    finally:
        for name in [m for m in sys.modules if m.startswith("upscope_cwd_testpkg")]:
            del sys.modules[name]
    line = one_error_line(run_cli("scan", "upscope_cwd_testpkg_missing.nets:Net"))
    assert "cannot import module" in line and sys.path == before
