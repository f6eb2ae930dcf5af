"""Fixes that really apply (issue 16's audit, issue 20's pasting): each case is a model whose
truth is known by construction; every fix's code is run here again on a fresh copy of the model
and the result re-measured with torch, independently of the scan's own verification.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrizations

from upscope.scanning.fix import Fix
from upscope.scanning.fix_code import assign, module_expr
from upscope.scanning.judge import RESPONSE_THRESHOLD, Finding
from upscope.scanning.run import scan
from upscope.scanning.score import response_score
from upscope.scanning.torch_front import access

pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.* is deprecated:FutureWarning")


def apply(model: nn.Module, code: str) -> nn.Module:
    """A copy of ``model`` with ``code`` run on it, as a user pastes it after building it."""
    work = copy.deepcopy(model)
    namespace = {"model": work}
    exec(code, namespace)  # noqa: S102 - the fix under test
    return namespace["model"]


def grid(y: torch.Tensor, period: int) -> float:
    """The response score of an output (first batch item), computed from torch's tensor."""
    return response_score(y[0].detach().double().numpy(), (period,) * (y.dim() - 2))


def check(finding: Finding, model: nn.Module, x: torch.Tensor, period: int) -> None:
    """Every fix is verified, and run here again: the output shape is kept and the model's
    output on a constant input has no grid of ``period``."""
    with torch.no_grad():
        want = model.eval()(x).shape
    assert finding.fixes
    for fix in finding.fixes:
        assert fix.verified and fix.same_shapes, (fix.title, fix.reason)
        for code in (fix.code, fix.code_standalone):
            torch.manual_seed(0)
            fixed = apply(model, code).eval()
            with torch.no_grad():
                out = fixed(torch.ones_like(x))
            assert out.shape == want, fix.title
            assert grid(out, period) < 1e-6, (fix.title, grid(out, period))


# ---------------------------------------------------------------- module paths


class Blocks(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict(
            {"up-1": nn.ConvTranspose2d(3, 3, 3, 2, 1, 1), "0": nn.ConvTranspose2d(3, 3, 4, 2, 1)}
        )
        self.stages = nn.Sequential(nn.Identity(), nn.Sequential(nn.ConvTranspose2d(3, 2, 4, 2, 1)))
        self.odd = nn.Module()
        self.odd.add_module("my up", nn.ConvTranspose2d(2, 2, 4, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks["0"](self.blocks["up-1"](x))
        return getattr(self.odd, "my up")(self.stages(x))


def test_module_dict_keys_sequential_indices_and_odd_names_give_valid_code() -> None:
    torch.manual_seed(0)
    model = Blocks()
    result = scan(model, example_input=torch.zeros(1, 3, 4, 4))
    assert [f.name for f in result.findings] == [
        "blocks.up-1",
        "blocks.0",
        "stages.1.0",
        "odd.my up",
    ]
    starts = [f.fixes[0].statements.splitlines()[0] for f in result.findings]
    assert starts == [
        "model.blocks['up-1'] = nn.Sequential(",
        "model.blocks['0'] = nn.Sequential(",
        "model.stages[1][0] = nn.Sequential(",
        "setattr(",
    ]
    for finding in result.findings:
        for fix in finding.fixes:
            assert fix.verified and fix.same_shapes, (finding.name, fix.title, fix.reason)
            fixed = apply(model, fix.code)
            assert type(fixed.get_submodule(finding.name)).__name__ != "ConvTranspose2d" or (
                "zoh_" in fix.code
            )


NAMES = st.text(alphabet="ab_1- '\"", min_size=1, max_size=4)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(["attr", "dict", "seq"]), NAMES), min_size=1, max_size=4))
def test_assignment_code_reaches_any_module_path(steps: list[tuple[str, str]]) -> None:
    """Containers and names drawn at random: the code upscope writes puts a new module exactly
    where the path says (torch's get_submodule is the oracle)."""
    model = nn.Module()
    parent, parts = model, []
    for kind, name in steps:
        if kind == "seq":
            child: nn.Module = nn.Sequential(nn.Identity(), nn.Identity())
            parent.add_module(name, child)
            parts.append(name)
            parent, name = child, "1"
        elif kind == "dict":
            child = nn.ModuleDict({name: nn.Identity()})
            parent.add_module("d", child)
            parts.append("d")
            parent = child
        leaf = nn.Module()
        parent.add_module(name, leaf) if kind != "seq" else parent.__setitem__(1, leaf)
        parts.append(name)
        parent = leaf
    path = ".".join(parts)
    marker = nn.Identity()
    code = assign(path, "marker", access(model, path))
    exec(code, {"model": model, "marker": marker})  # noqa: S102 - the code under test
    assert model.get_submodule(path) is marker, code
    assert module_expr(path, access(model, path)) in code or code.startswith("setattr(")


# ---------------------------------------------------------------- conv feeding a shuffle


class GroupedShuffle(nn.Module):
    def __init__(self, padding_mode: str = "zeros") -> None:
        super().__init__()
        # groups given positionally (in_channels, out, k, stride, padding, dilation, groups)
        self.conv = nn.Conv2d(8, 16, 3, 1, 1, 1, 2, padding_mode=padding_mode)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_grouped_conv_with_positional_groups_feeding_a_shuffle(padding_mode: str) -> None:
    torch.manual_seed(0)
    model = GroupedShuffle(padding_mode)
    x = torch.zeros(1, 8, 6, 6)
    (finding,) = scan(model, example_input=x).findings
    assert finding.op.feeding_params["groups"] == 2
    assert finding.op.feeding_params["padding"] == (1, 1)  # the module's, not F.conv2d's 0
    resize = finding.fixes[0]
    assert resize.title.startswith("resize-conv")
    flat = " ".join(resize.code.split())  # however _call breaks the lines
    assert "nn.Conv2d( 8, 4, kernel_size=(3, 3), padding=(1, 1), groups=2" in flat.replace(
        "nn.Conv2d(8", "nn.Conv2d( 8"
    )
    assert (f"padding_mode={padding_mode!r}" in flat) == (padding_mode != "zeros")
    check(finding, model, x, 2)


class NormShuffle(nn.Module):
    def __init__(self, norm: nn.Module) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.norm = norm
        self.act = nn.ReLU()
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.act(self.norm(self.conv(x))))


@pytest.mark.parametrize("norm", [nn.BatchNorm2d(8), nn.GroupNorm(2, 8)], ids=["bn", "gn"])
def test_conv_norm_shuffle_gets_fixes_that_balance_it(norm: nn.Module) -> None:
    torch.manual_seed(0)
    model = NormShuffle(norm)
    with torch.no_grad():
        for name in ("running_mean", "running_var", "weight", "bias"):
            value = getattr(norm, name, None)
            if value is not None:
                value.uniform_(0.5, 2.0)  # every channel its own affine and statistics
    x = torch.zeros(1, 3, 8, 8)
    (finding,) = scan(model, example_input=x).findings
    assert finding.op.feeding_params["norm"]["path"] == "norm"
    assert finding.status != "ok"
    titles = [fix.title for fix in finding.fixes]
    assert titles[0].startswith("resize-conv") and titles[-1].startswith("ICNR")
    assert "norm=model.norm" in finding.fixes[-1].code
    check(finding, model, x, 2)


def test_batch_norm_is_folded_into_the_judged_weights() -> None:
    """The judge sees what the shuffle gets: an ICNR conv behind a BN whose channels differ is
    unbalanced, and the polyphase sums are the BN applied to the conv's own sums."""
    torch.manual_seed(3)
    norm = nn.BatchNorm2d(8)
    model = NormShuffle(norm)
    with torch.no_grad():
        model.conv.weight.copy_(model.conv.weight[::4].repeat_interleave(4, dim=0))
        norm.running_var.uniform_(0.5, 2.0)
    (finding,) = scan(model, example_input=torch.zeros(1, 3, 8, 8)).findings
    assert finding.phase_sums is not None
    sums = model.conv.weight.detach().double().sum(dim=(1, 2, 3))
    a = norm.weight.double() / torch.sqrt(norm.running_var.double() + norm.eps)
    expected = (sums * a + norm.bias.double() - norm.running_mean.double() * a).reshape(2, 2, 2)
    assert np.allclose(finding.phase_sums, expected.detach().numpy())


# ---------------------------------------------------------------- output_size= calls


class Sized(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        return self.up(x, output_size=(2 * h - 1, 2 * w))


def test_a_layer_called_with_output_size_gets_a_fix_that_takes_it() -> None:
    torch.manual_seed(0)
    model = Sized()
    x = torch.zeros(1, 4, 5, 6)
    (finding,) = scan(model, example_input=x).findings
    assert finding.op.params["output_size_call"] is True
    resize = finding.fixes[0]
    assert "ResizeConv(" in resize.code and "from upscope.layers import ResizeConv" in resize.code
    assert "class ResizeConv" in resize.code_standalone
    check(finding, model, x, 2)
    for shape in ((1, 4, 3, 9), (2, 4, 7, 4)):  # the fixed model works at other sizes too
        fixed = apply(model, resize.code)
        assert fixed(torch.ones(shape)).shape == model(torch.ones(shape)).shape


# ---------------------------------------------------------------- parametrized layers


class HiFiLike(nn.Module):
    """HiFi-GAN's upsampling stack (rates 8, 8, 2, 2; K = 2S), weight-normed, smaller."""

    def __init__(self, old_style: bool = False) -> None:
        super().__init__()
        wn = torch.nn.utils.weight_norm if old_style else parametrizations.weight_norm
        self.ups = nn.ModuleList(
            wn(nn.ConvTranspose1d(8, 8, 2 * s, s, padding=s // 2)) for s in (8, 8, 2, 2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for up in self.ups:
            x = F.leaky_relu(up(x), 0.1)
        return x


@pytest.mark.parametrize("old_style", [False, True], ids=["parametrizations", "hook"])
def test_weight_normed_layers_are_really_balanced_by_their_fix(old_style: bool) -> None:
    torch.manual_seed(0)
    model = HiFiLike(old_style)
    x = torch.zeros(1, 8, 4)
    result = scan(model, example_input=x)
    assert all(f.status != "ok" for f in result.findings) and len(result.findings) == 4
    for finding in result.findings:
        zoh = next(fix for fix in finding.fixes if "zoh_" in fix.code)
        assert zoh.verified, zoh.reason
        layer = apply(model, zoh.code).get_submodule(finding.name)
        with torch.no_grad():  # re-measured here: the layer the forward uses, on a constant
            y = layer(torch.ones(1, 8, 12)) - layer.bias[:, None]
        assert grid(y[:, :, 2 * layer.stride[0] : -2 * layer.stride[0]], layer.stride[0]) < 1e-6
        assert "balanced now, can learn a grid in training" in zoh.note
        wrapper = "WeightNorm" if old_style else "_WeightNorm"
        assert f"goes through {wrapper}; the new conv's does not" in finding.fixes[0].note


def test_an_initialiser_that_cannot_reach_the_weight_leaves_the_fix_unverified() -> None:
    class Doubling(nn.Module):
        def forward(self, w: torch.Tensor) -> torch.Tensor:
            return 2 * w

    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(2, 2, 4, 2, 1)
    torch.nn.utils.parametrize.register_parametrization(layer, "weight", Doubling())
    (finding,) = scan(nn.Sequential(layer), example_input=torch.zeros(1, 2, 6, 6)).findings
    zoh = next(fix for fix in finding.fixes if "zoh_" in fix.code)
    assert not zoh.verified and "parametrized" in (zoh.reason or ""), zoh.reason
    assert finding.fixes[0].verified  # the resize-conv replaces the layer: no initialiser


# ---------------------------------------------------------------- ONNX


def test_onnx_fixes_keep_bias_false(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, numpy_helper
    from onnx import helper as oh

    rng = np.random.default_rng(0)
    arrays = {
        "wt": rng.standard_normal((2, 2, 3, 3)).astype(np.float32),
        "wc": rng.standard_normal((8, 2, 3, 3)).astype(np.float32),
    }
    nodes = [
        oh.make_node("ConvTranspose", ["x", "wt"], ["t"], strides=[2, 2], pads=[1, 1, 1, 1],
                     output_padding=[1, 1], kernel_shape=[3, 3], name="up"),
        oh.make_node("Conv", ["t", "wc"], ["h"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        oh.make_node("DepthToSpace", ["h"], ["y"], blocksize=2, mode="CRD", name="shuffle"),
    ]  # fmt: skip
    graph = oh.make_graph(
        nodes,
        "g",
        [oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [oh.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])],
        initializer=[numpy_helper.from_array(a, n) for n, a in arrays.items()],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "nobias.onnx"
    onnx.save(model, str(path))
    result = scan(str(path))
    assert [f.op.kind for f in result.findings] == ["convT", "pixelshuffle"]
    for finding in result.findings:
        rebuilt = [fix for fix in finding.fixes if "nn.Conv" in fix.code]
        assert rebuilt, finding.name
        for fix in rebuilt:
            assert "bias=False" in fix.code, (finding.name, fix.title)
            compile(fix.code, "<fix>", "exec")


# ---------------------------------------------------------------- half-pixel shifts


def symmetric_balanced(k: int, s: int) -> torch.Tensor:
    """A box of S convolved with a box of K - S + 1: symmetric about its centre, balanced."""
    box = torch.ones(1, 1, s)
    rest = torch.ones(1, 1, k - s + 1)
    return F.conv1d(F.pad(rest, (s - 1, s - 1)), box).reshape(k)


def measured_shift(a: torch.Tensor, b: torch.Tensor) -> float:
    """Where ``b`` is relative to ``a`` (output pixels, + later): the cross-correlation's peak,
    refined by a parabola through it and its neighbours."""
    a64, b64 = a.double().numpy(), b.double().numpy()
    corr = np.correlate(b64, a64, mode="full")  # index len(a) - 1 is lag 0
    top = int(np.argmax(corr))
    left, mid, right = corr[top - 1], corr[top], corr[top + 1]
    return top - (len(a64) - 1) + 0.5 * (left - right) / (left - 2 * mid + right)


def set_symmetric(module: nn.Module) -> None:
    """Every conv of a replacement gets a symmetric kernel (ones; a balanced one for a
    transposed conv) and no bias."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.ConvTranspose1d):
                m.weight.copy_(
                    symmetric_balanced(m.kernel_size[0], m.stride[0]).expand_as(m.weight)
                )
            elif isinstance(m, nn.Conv1d):
                m.weight.fill_(1.0)
            if isinstance(m, nn.Conv1d | nn.ConvTranspose1d) and m.bias is not None:
                m.bias.zero_()


@pytest.mark.parametrize(
    ("k", "s", "p", "op", "title", "shift"),
    [
        (3, 2, 1, 1, "resize-conv (nearest + conv)", 0.5),
        (5, 2, 2, 1, "resize-conv (nearest + conv)", 0.5),
        (7, 4, 2, 1, "resize-conv (nearest + conv)", 0.5),
        (3, 2, 1, 0, "ConvTranspose, K a multiple of S", -0.5),
        (3, 2, 1, 1, "resize-conv, shift-free", 0.0),
        (7, 4, 2, 1, "resize-conv, shift-free", 0.0),
        (3, 2, 1, 0, "resize-conv (nearest + conv)", 0.0),
        (6, 4, 1, 0, "resize-conv (nearest + conv)", 0.0),
        (3, 2, 0, 1, "resize-conv (nearest + conv)", 0.5),
        (3, 2, 0, 1, "resize-conv, shift-free", 0.0),
    ],
)
def test_half_pixel_shift_is_stated_as_measured(k, s, p, op, title, shift) -> None:
    layer = nn.ConvTranspose1d(1, 1, k, s, p, op, bias=False)
    set_symmetric(layer)
    model = nn.Sequential(layer)
    n = 40
    x = torch.exp(-0.5 * ((torch.arange(n) - n / 2) / 4.0) ** 2).reshape(1, 1, n)
    (finding,) = scan(model, example_input=x).findings
    fix = next(f for f in finding.fixes if f.title.startswith(title))
    assert fix.shift == (shift,)
    assert ("moves the content by" in fix.note) == (shift != 0)
    if shift:
        assert f"{shift:+g} output pixel" in fix.note
    fixed = apply(model, fix.code)
    set_symmetric(fixed)
    with torch.no_grad():
        before, after = model(x)[0, 0], fixed(x)[0, 0]
    assert before.shape == after.shape
    assert measured_shift(before, after) == pytest.approx(shift, abs=0.02)


# ---------------------------------------------------------------- the two code variants


def test_import_and_self_contained_variants_do_the_same(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = HiFiLike()
    (finding, *_) = scan(model, example_input=torch.zeros(1, 8, 4)).findings
    zoh: Fix = next(fix for fix in finding.fixes if "zoh_" in fix.code)
    assert "from upscope.init import zoh_" in zoh.code
    assert not re.search(r"^\s*(from|import) upscope", zoh.code_standalone, re.M)
    assert "def zoh_(" in zoh.code_standalone and "def _write(" in zoh.code_standalone
    assert ">>>" not in zoh.code_standalone  # docstrings cut to their first paragraph
    results = []
    for code in (zoh.code, zoh.code_standalone):
        torch.manual_seed(7)
        results.append(apply(model, code).state_dict())
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])
    doc = json.loads(json.dumps(finding.fixes[-1].to_dict()))
    assert doc["code"] == zoh.code and doc["code_standalone"] == zoh.code_standalone
    assert doc["note"] == zoh.note and doc["uses"] == ["zoh_"]


# ---------------------------------------------------------------- pasting the terminal's code

SOURCE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleDict({"up-1": nn.ConvTranspose2d(4, 4, 3, 2, 1, 1)})
        self.conv = nn.Conv2d(4, 16, 3, 1, 1, 1, 2)
        self.shuffle = nn.PixelShuffle(2)
        self.example_input_array = torch.zeros(1, 4, 6, 6)

    def forward(self, x):
        return self.shuffle(self.conv(self.blocks["up-1"](x)))
"""


def code_blocks(text: str) -> list[str]:
    """What a user selects: from a line ``import torch`` down to the last line before the
    blank line that ends the block (imports, a blank line, the statements)."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line != "import torch":
            continue
        end = i
        blanks = 0
        while end < len(lines) and blanks < 2:
            blanks += lines[end] == ""
            end += 1
        blocks.append("\n".join(lines[i : end - 1]))
    return blocks


def test_terminal_fix_code_pastes_and_fixes(run_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "net.py"
    path.write_text(SOURCE)
    namespace: dict = {}
    exec(SOURCE, namespace)  # noqa: S102 - the test's own model

    def fresh() -> nn.Module:
        torch.manual_seed(0)
        return namespace["Net"]()

    shown = run_cli("scan", f"{path}:Net", "--no-png")
    assert shown.exit_code == 0, shown.stderr
    blocks = code_blocks(shown.stdout)
    assert len(blocks) >= 4
    for block in blocks:
        assert not any(line != line.rstrip() for line in block.splitlines())
        assert not block.startswith(" ")
        fixed = apply(fresh(), block)  # runs as pasted: no IndentationError, names defined
        with torch.no_grad():
            assert fixed(torch.ones(1, 4, 6, 6)).shape == (1, 4, 24, 24)
    script = run_cli("scan", f"{path}:Net", "--fix-code")
    assert script.exit_code == 0, script.stderr
    compile(script.stdout, "fix.py", "exec")
    starts = [line.split(" = ")[0] for line in script.stdout.splitlines() if line[:5] == "model"]
    assert starts == ["model.blocks['up-1']", "model.conv", "model.shuffle"]
    fixed = apply(fresh(), script.stdout)
    after = scan(fixed, example_input=torch.zeros(1, 4, 6, 6))
    assert all(f.status == "ok" for f in after.findings)  # resize-convs: no grid can be learned
    both = run_cli("scan", f"{path}:Net", "--fix-code", "--json")
    assert both.exit_code == 2 and "choose one" in both.stderr


def test_findings_have_name_status_and_fixes() -> None:
    torch.manual_seed(0)
    (finding,) = scan(Sized(), example_input=torch.zeros(1, 4, 5, 6)).findings
    assert finding.name == "up" and finding.status in ("artifact", "risk") and finding.fixes
    assert re.match(r"resize-conv", finding.fixes[0].title)
    assert finding.fixes[0].response is not None
    assert finding.fixes[0].response < RESPONSE_THRESHOLD
