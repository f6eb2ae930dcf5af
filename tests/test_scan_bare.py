"""A bare upsampling module as the model (issue 16): ``upscope.scan(nn.ConvTranspose2d(...))``,
a CLI factory that returns one, and ``assert_no_checkerboard`` judge it as the same module inside
a container, and its fixes are verified and written for the module itself (``model = ...``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import upscope
from upscope.testing import assert_no_checkerboard


def judged(result: upscope.ScanResult) -> list[tuple[str, str, list[str]]]:
    return [(f.verdict, f.status, f.reasons) for f in result.findings]


def test_bare_conv_transpose_is_judged_as_inside_a_container() -> None:
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(4, 4, 3, 2, 1, 1)
    bare = upscope.scan(layer, input_shape=(1, 4, 8, 8))
    held = upscope.scan(nn.Sequential(layer), input_shape=(1, 4, 8, 8))
    assert judged(bare) == judged(held) and bare.findings[0].status == "artifact"
    (finding,) = bare.findings
    assert finding.op.name == "ConvTranspose2d"
    assert finding.fixes and all(fix.verified for fix in finding.fixes), [
        (fix.title, fix.reason) for fix in finding.fixes
    ]
    for fix in finding.fixes:
        assert "model.ConvTranspose2d" not in fix.code
        # the code, run on the user's bare module, gives a working model
        scope = {"model": nn.ConvTranspose2d(4, 4, 3, 2, 1, 1)}
        exec(fix.code, scope)  # noqa: S102 - upscope's own fix code
        out = scope["model"](torch.ones(1, 4, 8, 8))
        assert out.shape == (1, 4, 16, 16)
    assert isinstance(layer, nn.ConvTranspose2d) and layer.stride == (2, 2)  # never modified


@pytest.mark.parametrize(
    "module", [nn.Upsample(scale_factor=2), nn.PixelShuffle(2), nn.ConvTranspose1d(2, 2, 4, 2, 1)]
)
def test_other_bare_modules(module: nn.Module) -> None:
    shape = (1, 2, 8) if isinstance(module, nn.ConvTranspose1d) else (1, 4, 6, 6)
    (finding,) = upscope.scan(module, input_shape=shape).findings
    assert finding.op.name == type(module).__name__


def test_assert_no_checkerboard_on_bare_modules() -> None:
    torch.manual_seed(0)
    with pytest.raises(AssertionError, match="ConvTranspose2d .*artifact"):
        assert_no_checkerboard(nn.ConvTranspose2d(4, 4, 3, 2, 1, 1), torch.ones(1, 4, 8, 8))
    assert_no_checkerboard(nn.Upsample(scale_factor=2), torch.ones(1, 4, 8, 8))


def test_cli_factory_returning_a_bare_module(tmp_path: Path, run_cli) -> None:
    (tmp_path / "bare.py").write_text(
        "import torch.nn as nn\n\ndef make():\n    return nn.ConvTranspose2d(4, 4, 3, 2, 1, 1)\n"
    )
    done = run_cli("scan", f"{tmp_path}/bare.py:make", "--input-shape", "1x4x8x8", "--json")
    assert done.exit_code == 0, done.stderr
    doc = json.loads(done.stdout)
    (layer,) = doc["layers"]
    assert layer["name"] == "ConvTranspose2d" and layer["status"] == "artifact"
    assert layer["fixes"] and all(fix["verified"] for fix in layer["fixes"])
