"""The output grid and the status rule of ``upscope scan``, on models whose truth is known by
construction (issue 16): a per-phase bias of known size, a stacked x4 model whose inner and
outer ops draw known patterns, interpolation and resize-conv (no grid at all), zero-order-hold
and ICNR inits (balanced now, can learn one), a random K=3 S=2 layer (a grid now)."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import upscope
from upscope.errors import UpscopeError
from upscope.init import icnr_, zoh_
from upscope.scanning.grid import (
    attribute,
    by_period,
    grid_from_outputs,
    measure_output_grid,
    period_key,
)
from upscope.scanning.judge import GRID_THRESHOLD, judge
from upscope.scanning.torch_front import trace

# a 2x2 tile of signs, RMS 1, mean 0 (phase (a, b) = channel a * 2 + b of the conv feeding it)
CHECKER = (1.0, -1.0, -1.0, 1.0)
ROWS = (1.0, 1.0, -1.0, -1.0)  # alternates along the height only: period 2x1


def _biased_shuffle(size: float, signs=CHECKER, channels: int = 1) -> nn.Sequential:
    """Conv 1x1 with every weight 1 (ICNR-balanced) and bias ``size * signs`` per sub-pixel
    channel, then PixelShuffle(2): output = input + size * signs[phase], exactly."""
    conv = nn.Conv2d(channels, 4 * channels, 1).double()
    with torch.no_grad():
        conv.weight.zero_()
        for c in range(channels):
            conv.weight[4 * c : 4 * c + 4, c] = 1.0
            conv.bias[4 * c : 4 * c + 4] = torch.tensor(signs, dtype=torch.float64) * size
    return nn.Sequential(conv, nn.PixelShuffle(2))


def _scan(model: nn.Module, shape, **kwargs):
    return upscope.scan(model, input_shape=shape, **kwargs)


def test_per_phase_bias_gives_its_rms_in_output_units_and_grey_levels() -> None:
    size = 0.004
    grid = measure_output_grid(_biased_shuffle(size), (1, 1, 24, 24), value_range=(0.0, 1.0))
    assert grid.tile == (2, 2)
    assert grid.rms.shape == (3, 1)  # three levels, one channel
    assert grid.rms == pytest.approx(np.full((3, 1), size), rel=1e-9)
    assert grid.grey_levels == pytest.approx(size * 255, rel=1e-9)
    assert grid.by_period_worst() == pytest.approx({"2x2": size}, rel=1e-9)
    # a range twice as wide: half the grey levels, the same output units
    wide = measure_output_grid(_biased_shuffle(size), (1, 1, 24, 24), value_range=(-1.0, 1.0))
    assert wide.grey_levels == pytest.approx(size * 255 / 2, rel=1e-9)
    assert wide.worst_rms == pytest.approx(size, rel=1e-9)
    # a pattern along the height only is reported at 2x1
    rows = measure_output_grid(_biased_shuffle(size, ROWS), (1, 1, 24, 24))
    assert list(rows.by_period_worst()) == ["2x1"]


def test_scan_reports_the_bias_grid_and_its_status() -> None:
    size = 0.004  # 1.02 grey levels of 0..1
    result = _scan(_biased_shuffle(size), (1, 1, 24, 24), value_range=(0, 1))
    (shuffle,) = [f for f in result.findings if f.op.kind == "pixelshuffle"]
    assert shuffle.output_grid == pytest.approx(size * 255, rel=1e-9)
    assert shuffle.status == "artifact"
    doc = result.to_dict()
    assert doc["output_grid"]["grey_levels"] == pytest.approx(size * 255, rel=1e-9)
    assert doc["output_grid"]["rms"] == pytest.approx(size, rel=1e-9)
    assert doc["output_grid"]["by_period"] == pytest.approx({"2x2": size * 255}, rel=1e-9)
    assert [level["level"] for level in doc["output_grid"]["levels"]] == [0.1, 0.5, 0.9]
    assert doc["output_grid"]["channels"] == pytest.approx([size * 255], rel=1e-9)
    layer = doc["layers"][0]
    assert layer["output_grid"]["grey_levels"] == pytest.approx(size * 255, rel=1e-9)
    assert layer["output_grid"]["period"] == [2, 2]
    assert {"weights", "response", "geometry"} <= set(layer)
    # the weights are balanced; the bias is counted as one more input, relative to the taps'
    # scale (1): spread 0.008 over 2 inputs, sqrt(0.008^2 / 2 / (1 + 0.004^2))
    assert layer["weights"]["bias"] is True
    assert layer["weights"]["mean"] == pytest.approx(0.008 / math.sqrt(2 * (1 + size**2)))


def test_threshold_and_range_change_the_verdict() -> None:
    model = _biased_shuffle(0.004)  # 1.02 grey levels of 0..1, 0.004 of 0..255
    statuses = {
        (threshold, lohi): _scan(model, (1, 1, 24, 24), threshold=threshold, value_range=lohi)
        .findings[0]
        .status
        for threshold in (0.5, 2.0)
        for lohi in ((0.0, 1.0), (0.0, 255.0))
    }
    assert statuses == {
        (0.5, (0.0, 1.0)): "artifact",
        (2.0, (0.0, 1.0)): "risk",  # a pixel shuffle can learn one: never ok
        (0.5, (0.0, 255.0)): "risk",
        (2.0, (0.0, 255.0)): "risk",
    }
    with pytest.raises(UpscopeError, match="LO < HI"):
        _scan(model, (1, 1, 24, 24), value_range=(1.0, 0.0))
    with pytest.raises(UpscopeError, match="threshold"):
        _scan(model, (1, 1, 24, 24), threshold=-1.0)


def test_default_threshold_is_half_a_grey_level_and_range_from_the_output() -> None:
    assert GRID_THRESHOLD == 0.5
    grid = measure_output_grid(_biased_shuffle(0.004), (1, 1, 24, 24))
    assert grid.value_range == (0.0, 1.0)  # levels 0.1..0.9 plus 0.004 fit in 0..1
    assert "0..1" in grid.range_source
    big = grid_from_outputs([np.full((1, 8, 8), 300.0)], (2, 2), (0.5,))
    assert big.range_source == "a constant output, 1 unit around it"
    wide = grid_from_outputs([np.linspace(-3, 7, 64).reshape(1, 8, 8)], (2, 2), (0.5,))
    assert wide.value_range == (-3.0, 7.0) and wide.range_source == "observed min..max"


class _Stack(nn.Module):
    """x4 as two shuffles: the inner one draws a 2x2 checker of size A (period 4x4 in the
    output), the outer one rows of size B (period 2x1)."""

    def __init__(self, inner: float, outer: float) -> None:
        super().__init__()
        self.inner = _biased_shuffle(inner)
        self.outer = _biased_shuffle(outer, ROWS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outer(self.inner(x))


def test_stacked_x4_attributes_each_period_to_its_op() -> None:
    inner, outer = 0.01, 0.003
    result = _scan(_Stack(inner, outer), (1, 1, 16, 16), value_range=(0, 1))
    assert result.grid is not None and result.grid.tile == (4, 4)
    # the inner checker, nearest-stretched by 2, is a pure period-4 pattern; the rows period 2
    assert result.grid.by_period_worst() == pytest.approx({"2x1": outer, "4x4": inner})
    shares = {f.op.name: f for f in result.findings}
    assert shares["inner.1"].output_period == (4, 4)
    assert shares["outer.1"].output_period == (2, 2)
    assert shares["inner.1"].output_grid == pytest.approx(inner * 255)
    assert shares["outer.1"].output_grid == pytest.approx(outer * 255)
    assert shares["inner.1"].status == shares["outer.1"].status == "artifact"


def test_attribution_splits_power_by_the_most_specific_period() -> None:
    # a 4-tile made of a period-4 part (3) and a period-2 part (4): total 5 by Parseval
    x = np.arange(4)
    tile = 3 * math.sqrt(2) * np.cos(2 * np.pi * x / 4) + 4 * np.cos(np.pi * x)
    parts = by_period(tile[None])
    assert {k: float(v[0]) for k, v in parts.items()} == pytest.approx({(4,): 3.0, (2,): 4.0})
    grid = grid_from_outputs([np.tile(tile, 8)[None]], (4,), (0.5,))
    assert grid.worst_rms == pytest.approx(5.0)
    (inner, outer, resize), left = attribute(grid, [(4,), (2,), None])
    assert float(inner.max()) == pytest.approx(3.0)
    assert float(outer.max()) == pytest.approx(4.0)
    assert resize is None and float(left.max()) == 0.0
    # without the period-2 op, the period-4 op can make both parts: all of it is its
    (alone,), left = attribute(grid, [(4,)])
    assert float(alone.max()) == pytest.approx(5.0)
    # no op of a fitting period: nothing is attributed
    (other,), left = attribute(grid, [(3,)])
    assert float(other.max()) == 0.0 and float(left.max()) == pytest.approx(5.0)
    assert period_key((4, 2)) == "4x2"


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolation_and_resize_conv_have_no_grid_and_are_ok(mode: str) -> None:
    torch.manual_seed(0)
    align = None if mode == "nearest" else False
    model = nn.Sequential(
        nn.Upsample(scale_factor=2, mode=mode, align_corners=align),
        nn.Conv2d(3, 3, 3, padding=1),
        nn.ReLU(),
        nn.Upsample(scale_factor=2, mode=mode, align_corners=align),
    ).double()
    result = _scan(model, (1, 3, 16, 16))
    assert result.grid is not None and result.grid.tile == (4, 4)
    assert result.grid.worst_rms == pytest.approx(0.0, abs=1e-12)
    assert [f.status for f in result.findings] == ["ok", "ok"]
    assert all(f.output_grid is None and not f.fixes for f in result.findings)


def test_zoh_and_icnr_are_risk_not_ok() -> None:
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(3, 3, 4, 2, 1)
    zoh_(layer)
    zoh = _scan(nn.Sequential(layer), (1, 3, 16, 16)).findings[0]
    assert zoh.output_grid is not None and zoh.output_grid < 1e-3
    assert zoh.imbalance_worst is not None and zoh.imbalance_worst < 1e-6
    assert zoh.status == "risk"
    conv = nn.Conv2d(3, 12, 3, padding=1)
    icnr_(conv, 2)
    icnr = _scan(nn.Sequential(conv, nn.PixelShuffle(2)), (1, 3, 16, 16)).findings[0]
    assert icnr.output_grid is not None and icnr.output_grid < 1e-3
    assert icnr.status == "risk"
    assert "can learn a grid" in icnr.reasons[0]


def test_random_k3_s2_is_an_artifact_and_its_fixes_remove_the_grid() -> None:
    torch.manual_seed(0)
    result = _scan(nn.Sequential(nn.ConvTranspose2d(3, 3, 3, 2, 1, 1)), (1, 3, 16, 16))
    (finding,) = result.findings
    assert finding.status == "artifact"
    assert finding.output_grid is not None and finding.output_grid > 5 * GRID_THRESHOLD
    assert finding.reasons[0].startswith("output grid ")
    verified = [fix for fix in finding.fixes if fix.verified]
    assert verified
    for fix in verified:  # re-measured with the fix in: the grid is gone
        assert fix.output_grid is not None and fix.output_grid < 1e-3, fix.title
    assert result.to_dict()["layers"][0]["fixes"][0]["output_grid"] < 1e-3


def test_zero_mean_kernel_convolved_with_a_box_is_not_an_artifact() -> None:
    # every polyphase sum is 0 (up to float rounding): the old (max - min) / mean |sum| was noise
    # divided by noise; relative to the kernel's own scale it is 0
    gen = torch.Generator().manual_seed(1)
    small = torch.randn(4, 4, 3, 3, generator=gen)
    small -= small.mean(dim=(2, 3), keepdim=True)
    weight = torch.zeros(4, 4, 4, 4)
    for a in range(2):
        for b in range(2):
            weight[:, :, a : a + 3, b : b + 3] += small
    layer = nn.ConvTranspose2d(4, 4, 4, 2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
    (finding,) = judge(trace(nn.Sequential(layer), [torch.ones(1, 4, 8, 8)]))
    assert finding.imbalance_worst is not None and finding.imbalance_worst < 1e-6
    assert finding.status == "risk"  # weights evidence only (as for ONNX): balanced, can learn
    measured = _scan(nn.Sequential(layer), (1, 4, 16, 16)).findings[0]
    assert measured.status == "risk" and measured.output_grid is not None
    assert measured.output_grid < 1e-3


def test_channels_alternating_7_5_are_not_ok() -> None:
    # K=S=2: input channel 0 gives 7, 5, 7, 5 along the width, input channel 1 gives 5, 7, ...:
    # summed over input channels every phase is 12 (the old judgment: weights 0, response 0),
    # yet each output channel alternates 7, 5 whenever the inputs differ
    layer = nn.ConvTranspose2d(2, 2, 2, 2, bias=False)
    with torch.no_grad():
        layer.weight[0] = torch.tensor([[7.0, 5.0], [7.0, 5.0]])
        layer.weight[1] = torch.tensor([[5.0, 7.0], [5.0, 7.0]])
    (finding,) = judge(trace(nn.Sequential(layer), [torch.ones(1, 2, 8, 8)]))
    assert finding.phase_sums is not None and np.ptp(finding.phase_sums) == 0.0
    assert finding.imbalance is not None
    assert finding.imbalance == pytest.approx([2 / math.sqrt(37)] * 2)  # spread 2, taps RMS 6.08
    assert finding.status == "artifact"  # weights evidence (no grid measured)
    measured = _scan(nn.Sequential(layer), (1, 2, 16, 16)).findings[0]
    assert measured.status == "risk"  # equal constant inputs: no grid now, one can be learned


def test_cli_threshold_and_range(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "net.py"
    path.write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            def Net():
                conv = nn.Conv2d(1, 4, 1)
                with torch.no_grad():
                    conv.weight.fill_(1.0)
                    conv.bias.copy_(torch.tensor([1.0, -1.0, -1.0, 1.0]) * 0.004)
                return nn.Sequential(conv, nn.PixelShuffle(2))
            """
        )
    )
    base = (f"{path}:Net", "--input-shape", "1x1x24x24", "--no-png")
    doc = json.loads(run_cli("scan", *base, "--json").stdout)
    assert doc["layers"][0]["status"] == "artifact"
    assert doc["summary"]["grid_threshold"] == GRID_THRESHOLD
    assert doc["output_grid"]["grey_levels"] == pytest.approx(1.02, rel=1e-3)
    doc = json.loads(run_cli("scan", *base, "--json", "--threshold", "2").stdout)
    assert doc["layers"][0]["status"] == "risk"
    doc = json.loads(run_cli("scan", *base, "--json", "--range", "0,255").stdout)
    assert doc["output_grid"]["range"] == [0.0, 255.0]
    assert doc["output_grid"]["range_source"] == "given"
    assert doc["layers"][0]["status"] == "risk"
    table = run_cli("scan", *base)
    assert table.exit_code == 0
    assert "grid (gl)" in table.stdout and "1.02" in table.stdout  # the header gives the unit
    assert "output grid 1.02 grey levels RMS" in " ".join(table.stdout.split())
    for bad in (("--range", "1,0"), ("--range", "x"), ("--threshold", "-1")):
        done = run_cli("scan", *base, *bad)
        assert done.exit_code == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
