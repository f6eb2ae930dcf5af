"""``upscope scan``'s status (artifact / risk / ok), its measured response, its fixes and their
verification, ``--fail-on``, the Python API ``scan(model)`` and ``upscope.testing``.

torch is the oracle: every fix's code is run again here on a fresh copy of the model and the
shapes compared with the original's, the response of a layer is recomputed from its own output,
and the ZOH kernel is built here by a full convolution with a box, independently of the code
upscope suggests.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from samples.models import ESPCN, DCGANGenerator, ResizeConvDecoder, UNet
from upscope.errors import UpscopeError
from upscope.metrics import phase_imbalance
from upscope.scanning.judge import IMBALANCE_THRESHOLD, RESPONSE_THRESHOLD, STATUSES
from upscope.scanning.run import scan
from upscope.scanning.score import response_score
from upscope.testing import assert_no_checkerboard

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "models.py"


def one_layer(layer: nn.Module) -> nn.Module:
    return nn.Sequential(layer)


def zoh_kernel(c_in: int, c_out: int, stride: int, small: int) -> torch.Tensor:
    """A random (small x small) kernel fully convolved with a stride x stride box of ones."""
    g = torch.randn(c_in * c_out, 1, small, small)
    box = torch.ones(1, 1, stride, stride)
    full = F.conv2d(g, box, padding=stride - 1)
    return full.reshape(c_in, c_out, small + stride - 1, small + stride - 1)


# ---------------------------------------------------------------- status


def test_trained_bilinear_kernel_is_risk_not_artifact() -> None:
    layer = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=4)
    k1 = torch.tensor([0.5, 1.0, 0.5])
    with torch.no_grad():
        layer.weight.copy_(torch.outer(k1, k1).expand(4, 1, 3, 3))
    result = scan(one_layer(layer), example_input=torch.zeros(1, 4, 16, 16))
    (finding,) = result.findings
    assert finding.verdict == "checkerboard"
    assert finding.imbalance_mean == 0.0
    assert finding.response["constant"] == pytest.approx(0.0, abs=1e-12)
    assert finding.status == "risk"
    assert finding.fixes, "a risk op gets fixes"


def test_random_init_k3_s2_is_artifact() -> None:
    torch.manual_seed(0)
    model = one_layer(nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1))
    (finding,) = scan(model, example_input=torch.zeros(1, 8, 16, 16)).findings
    assert finding.imbalance_mean is not None and finding.imbalance_mean > IMBALANCE_THRESHOLD
    assert finding.status == "artifact"


def test_k4_s2_with_zoh_smoothed_kernel_is_risk() -> None:
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1)
    with torch.no_grad():
        layer.weight.copy_(zoh_kernel(3, 5, 2, 3))
    (finding,) = scan(one_layer(layer), example_input=torch.zeros(1, 3, 16, 16)).findings
    assert finding.verdict == "even"
    assert finding.imbalance_worst == pytest.approx(0.0, abs=1e-5)  # float32 sums
    assert finding.response["constant"] == pytest.approx(0.0, abs=1e-5)
    # balanced now (no grid in the output), but its phases can learn one (issue 16)
    assert finding.output_grid is not None and finding.output_grid < 1e-3
    assert finding.status == "risk" and finding.fixes


def test_response_is_the_layers_output_score_on_a_per_channel_constant() -> None:
    """The response of a first layer fed a constant is the score of its own output."""
    torch.manual_seed(1)
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)
    x = torch.ones(1, 2, 12, 12)
    (finding,) = scan(one_layer(layer), example_input=x).findings
    with torch.no_grad():
        y = layer(x)[0].double().numpy()
    assert finding.response["constant"] == pytest.approx(phase_imbalance(y, 2), rel=1e-9)


@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
)
def test_response_score_is_the_probe_score_in_2d(channels: int, scale: int, seed: int) -> None:
    y = np.random.default_rng(seed).normal(size=(channels, 8 * scale, 8 * scale))
    assert response_score(y, (scale, scale)) == pytest.approx(phase_imbalance(y, scale))


# ---------------------------------------------------------------- fixes


def _check_fixes_with_torch(model: nn.Module, x: torch.Tensor, name: str, fixes: list) -> None:
    """Run each fix's code on a fresh copy: the model's output shape is unchanged."""
    with torch.no_grad():
        want = model.eval()(x).shape
    for fix in fixes:
        work = copy.deepcopy(model)
        exec(fix.code, {"model": work, "nn": nn, "torch": torch})
        with torch.no_grad():
            assert work.eval()(x).shape == want, (name, fix.title)


@pytest.mark.parametrize("factory", [DCGANGenerator, UNet, ESPCN])
def test_every_fix_of_the_samples_keeps_shapes_and_rescans_even(factory) -> None:
    torch.manual_seed(0)
    model = factory()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = scan(model, example_input=model.example_input_array)
    flagged = [f for f in result.findings if f.status != "ok"]
    assert flagged
    for finding in flagged:
        assert len(finding.fixes) in (2, 3)  # + the shift-free resize-conv of an odd K
        for fix in finding.fixes:
            assert fix.verified and fix.reason is None, fix.reason
            assert fix.same_shapes is True
            assert fix.overlap == "even"
            assert fix.response is not None and fix.response < RESPONSE_THRESHOLD
            expected_delta = _params_after(model, fix.code) - _count(model)
            assert fix.params_delta == expected_delta
            compile(fix.code, "<fix>", "exec")
            assert not re.search(r"\d+x\d+", fix.code)  # kernel_size=(4, 4), never 4x4
        _check_fixes_with_torch(model, model.example_input_array, finding.op.name, finding.fixes)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the user's model changed"
    assert not any(isinstance(m, nn.Upsample) for m in model.modules())


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _params_after(model: nn.Module, code: str) -> int:
    work = copy.deepcopy(model)
    exec(code, {"model": work, "nn": nn, "torch": torch})
    return _count(work)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1), (1, 3, 20)),
        (nn.ConvTranspose3d(2, 2, 3, stride=2), (1, 2, 6, 6, 6)),
        (nn.ConvTranspose2d(4, 6, 5, stride=(2, 3), padding=2, groups=2), (1, 4, 9, 7)),
        (nn.ConvTranspose2d(2, 2, 3, stride=2, dilation=2, bias=False), (1, 2, 10, 10)),
    ],
    ids=["1d", "3d", "per-axis-groups", "holes"],
)
def test_fixes_in_1d_3d_per_axis_and_holes(layer: nn.Module, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(layer, nn.ReLU())
    x = torch.zeros(shape)
    (finding,) = scan(model, example_input=x).findings
    assert finding.status in ("artifact", "risk")
    titles = [fix.title for fix in finding.fixes]
    assert titles[0].startswith("resize-conv")  # first: it cannot learn a grid (issue 16)
    if finding.verdict == "holes":
        assert titles[-1].startswith("dilation-free ConvTranspose")
    for fix in finding.fixes:
        assert fix.verified and fix.same_shapes and fix.overlap == "even", fix.title
        assert fix.response is not None and fix.response < RESPONSE_THRESHOLD
        assert "kernel_size=(" in fix.code and not re.search(r"\d+x\d+", fix.code)
    _check_fixes_with_torch(model, x, "layer", finding.fixes)


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, self.w, stride=2, padding=1, output_padding=1)


def test_functional_op_gets_code_but_no_verification() -> None:
    (finding,) = scan(Functional(), example_input=torch.zeros(1, 3, 8, 8)).findings
    assert finding.fixes
    for fix in finding.fixes:
        assert not fix.verified and fix.same_shapes is None
        assert "functional call" in (fix.reason or "")
        assert "upsample = " in fix.code
        namespace = {"nn": nn, "torch": torch}
        exec(fix.code, namespace)
        with torch.no_grad():
            assert namespace["upsample"](torch.zeros(1, 3, 8, 8)).shape == (1, 3, 16, 16)


class Locked(nn.Module):
    """A model holding a lock: copy.deepcopy raises TypeError."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1)
        self.lock = threading.Lock()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x)


def test_a_model_that_cannot_be_deep_copied_gets_unverified_fixes() -> None:
    model = Locked()
    with pytest.raises(TypeError):
        copy.deepcopy(model)
    (finding,) = scan(model, example_input=torch.zeros(1, 2, 8, 8)).findings
    assert finding.fixes
    for fix in finding.fixes:
        assert not fix.verified and "cannot be deep-copied" in (fix.reason or "")


class InPlace(nn.Module):
    def __init__(self, inplace: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.act = nn.ReLU(inplace=inplace)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.act(self.conv(x)))


@pytest.mark.parametrize("inplace", [True, False])
def test_conv_through_an_activation_is_the_shuffles_feeder(inplace: bool) -> None:
    torch.manual_seed(0)
    model = InPlace(inplace)
    (finding,) = scan(model, example_input=torch.zeros(1, 3, 16, 16)).findings
    assert finding.op.feeding_conv is not None and finding.op.feeding_conv[0] == "conv"
    assert finding.op.feeding_params["via"] == ["relu"]
    assert torch.equal(
        torch.from_numpy(finding.op.feeding_conv[1]).float(), model.conv.weight.detach()
    )
    icnr = finding.fixes[-1]  # after the resize-conv (issue 16's ranking)
    assert icnr.title.startswith("ICNR") and icnr.verified and icnr.same_shapes
    assert all(fix.verified and fix.same_shapes for fix in finding.fixes)  # nn.ReLU kept out
    assert icnr.response == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------- API and CLI


def test_scan_of_an_instance_built_here_and_to_dict_equals_cli_json(run_cli) -> None:
    result = run_cli("scan", f"{SAMPLES}:DCGANGenerator", "--json", "--no-png")
    assert result.exit_code == 0, result.stderr
    cli = json.loads(result.stdout)
    api = json.loads(json.dumps(scan(f"{SAMPLES}:DCGANGenerator").to_dict()))
    assert api == cli
    torch.manual_seed(0)  # as the CLI seeds torch before it builds the model
    live = scan(DCGANGenerator(), example_input=torch.zeros(1, 100, 1, 1))
    doc = json.loads(json.dumps(live.to_dict()))
    assert doc["model"] == "DCGANGenerator"
    html = live._repr_html_()  # a notebook cell shows the same table
    assert "main.12" in html and "artifact" in html
    assert {**doc, "model": cli["model"]} == {**cli, "input_shapes": [[1, 100, 1, 1]]}


def test_scan_leaves_the_models_mode_and_weights_alone() -> None:
    model = UNet()
    model.train()
    before = copy.deepcopy(model.state_dict())
    scan(model, input_shape=(1, 1, 32, 32))
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_bad_api_arguments_raise_upscope_error() -> None:
    with pytest.raises(UpscopeError, match="unknown input 'sine'"):
        scan(UNet(), (1, 1, 32, 32), inputs=("sine",))
    with pytest.raises(UpscopeError, match="nn.Module"):
        scan(42)
    with pytest.raises(UpscopeError, match="fail_on"):
        scan(UNet(), (1, 1, 32, 32)).failing("maybe")


def test_inputs_noise_adds_a_noise_response(run_cli) -> None:
    result = run_cli("scan", f"{SAMPLES}:UNet", "--json", "--no-png", "--inputs", "noise")
    doc = json.loads(result.stdout)
    assert doc["summary"]["inputs"] == ["constant", "noise"]
    for layer in doc["layers"]:
        assert set(layer["response"]) == {"constant", "noise"}
        assert layer["response"]["noise"] is not None


BILINEAR = """
class Bilinear(nn.Module):
    def __init__(self):
        super().__init__()
        print("building")
        self.up = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1, groups=2)
        k1 = torch.tensor([0.5, 1.0, 0.5])
        with torch.no_grad():
            self.up.weight.copy_(torch.outer(k1, k1).expand(2, 1, 3, 3))
        self.example_input_array = torch.zeros(1, 2, 16, 16)

    def forward(self, x):
        print("forward", x.shape)
        return self.up(x)
"""


def test_fail_on_exit_codes_and_printing_model(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "bilinear.py"
    path.write_text("import torch\nfrom torch import nn\n" + BILINEAR)
    model = f"{path}:Bilinear"
    risky = run_cli("scan", model, "--json", "--no-png", "--fail-on", "risk")
    assert risky.exit_code == 3
    doc = json.loads(risky.stdout)  # the model's prints went to stderr
    assert [layer["status"] for layer in doc["layers"]] == ["risk"]
    assert "building" in risky.stderr and "forward" in risky.stderr
    assert run_cli("scan", model, "--no-png", "--fail-on", "artifact").exit_code == 0
    unet = f"{SAMPLES}:UNet"  # at random init: grids under 0.5 grey levels, so risk
    assert run_cli("scan", unet, "--no-png", "--fail-on", "artifact").exit_code == 0
    assert run_cli("scan", unet, "--no-png", "--fail-on", "risk").exit_code == 3
    espcn = f"{SAMPLES}:ESPCN"  # its shuffle draws 4.35 grey levels
    assert run_cli("scan", espcn, "--no-png", "--fail-on", "artifact").exit_code == 3
    assert run_cli("scan", unet, "--no-png").exit_code == 0
    clean = f"{SAMPLES}:ResizeConvDecoder"
    assert run_cli("scan", clean, "--no-png", "--fail-on", "risk").exit_code == 0
    wrong = run_cli("scan", unet, "--no-png", "--inputs", "constant,sine")
    assert wrong.exit_code == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "--inputs: unknown input 'sine'" in wrong.stderr
    bad = run_cli("scan", unet, "--no-png", "--fail-on", "maybe")
    assert bad.exit_code == 2 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "--fail-on must be artifact or risk" in lines[0]


def test_table_fits_80_columns_without_cutting_tokens(run_cli, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    source = """
class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.decoder_stage_number_three = nn.ModuleDict(
            {"upsampling_transposed_convolution": nn.ConvTranspose2d(
                3, 3, 3, stride=2, padding=1, output_padding=1)}
        )
        self.example_input_array = torch.zeros(1, 3, 16, 16)

    def forward(self, x):
        return self.decoder_stage_number_three["upsampling_transposed_convolution"](x)
"""
    path = tmp_path / "deep.py"
    path.write_text("import torch\nfrom torch import nn\n" + source)
    expected = {
        f"{path}:Deep": ["artifact"],
        f"{SAMPLES}:DCGANGenerator": ["ok", "risk", "risk", "risk", "risk"],
        f"{SAMPLES}:ESPCN": ["artifact"],
    }
    for model, statuses in expected.items():
        result = run_cli("scan", model, "--no-png")
        assert result.exit_code == 0, result.stderr
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= 80
        rows = [line.split() for line in lines if re.match(r" *\d+ ", line)]
        assert [row[-1] for row in rows if row[-1] in STATUSES] == statuses
    deep = run_cli("scan", f"{path}:Deep", "--no-png").stdout
    joined = "".join(line.strip() for line in deep.splitlines())
    assert "decoder_stage_number_three.upsampling_transposed_convolution" in joined
    assert "decoder_stage_number_three." in deep and "upsampling_transposed_convolution" in deep
    assert "3x16x16 -> 3x32x32" in deep


# ---------------------------------------------------------------- upscope.testing


def test_assert_no_checkerboard_passes_on_resize_conv_and_fails_on_dcgan() -> None:
    assert_no_checkerboard(ResizeConvDecoder(), torch.zeros(1, 64, 8, 8), fail_on="risk")
    # at random init the DCGAN's output grid is under half a grey level: risk, not artifact
    assert_no_checkerboard(DCGANGenerator(), torch.zeros(1, 100, 1, 1))
    with pytest.raises(AssertionError) as caught:
        assert_no_checkerboard(DCGANGenerator(), torch.zeros(1, 100, 1, 1), fail_on="risk")
    message = str(caught.value)
    for name in ("main.3", "main.6", "main.9", "main.12"):
        assert f"- {name} (ConvTranspose2d): risk" in message
    assert "model.main[3] = nn.Sequential(" in message
    assert "main.0" not in message


def test_assert_no_checkerboard_on_risk() -> None:
    layer = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1, groups=2)
    k1 = torch.tensor([0.5, 1.0, 0.5])
    with torch.no_grad():
        layer.weight.copy_(torch.outer(k1, k1).expand(2, 1, 3, 3))
    model = one_layer(layer)
    assert_no_checkerboard(model, torch.zeros(1, 2, 8, 8))  # risk is not an artifact
    with pytest.raises(AssertionError, match=r"- 0 \(ConvTranspose2d\): risk"):
        assert_no_checkerboard(model, torch.zeros(1, 2, 8, 8), fail_on="risk")
