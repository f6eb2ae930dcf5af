"""Checkerboard metrics: known answers written as formulas, torch as the oracle for kernel sums."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from upscope import metrics
from upscope.errors import UpscopeError


def _phase_image(values: np.ndarray, reps: int) -> np.ndarray:
    """An image whose phase (a, b) holds values[a, b] everywhere."""
    return np.tile(values, (reps, reps))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_phase_imbalance_of_a_periodic_pattern(scale: int) -> None:
    rng = np.random.default_rng(scale)
    values = rng.uniform(0.5, 2.0, (scale, scale))
    y = _phase_image(values, 10)
    energies = values**2
    want = (energies.max() - energies.min()) / energies.mean()
    assert metrics.phase_imbalance(y, scale) == pytest.approx(want, rel=1e-12)
    # phase_energies indexes absolute phases, whatever the border
    for border in (0, 1, 2 * scale, 5):
        np.testing.assert_allclose(metrics.phase_energies(y, scale, border), energies, rtol=1e-12)
    # channels are pooled: (C, H, W) with one channel is the same as (H, W)
    assert metrics.phase_imbalance(y[None], scale) == metrics.phase_imbalance(y, scale)


@pytest.mark.parametrize(("scale", "border"), [(2, None), (3, None), (4, 0), (3, 5)])
def test_energy_map_is_the_picture_of_the_phase_energies(scale: int, border: int | None) -> None:
    """Mean 1 over the crop, border kept; its phase means over the crop are E_ac / mean E."""
    rng = np.random.default_rng(scale)
    side = 6 * scale + 2 * (2 * scale if border is None else border)
    gains = _phase_image(rng.uniform(0.5, 2.0, (scale, scale)), side // scale + 1)
    y = rng.normal(size=(3, side, side)) * gains[:side, :side]  # phases of unequal energy
    m = metrics.energy_map(y, scale, border)
    b = metrics.default_border(scale) if border is None else border
    inner = slice(b, side - b)
    assert m.shape == (side, side)
    assert m[inner, inner].mean() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(m, (y**2).mean(axis=0) / (y[:, inner, inner] ** 2).mean())
    energies = metrics.phase_energies(y, scale, border)
    np.testing.assert_allclose(
        metrics.phase_energies(np.sqrt(m), scale, border), energies / energies.mean(), rtol=1e-12
    )
    # flat: 1 everywhere; zero over the crop: 1 everywhere too (no structure, no division by 0)
    np.testing.assert_allclose(metrics.energy_map(np.full((side, side), -3.0), scale, border), 1.0)
    zero = metrics.energy_map(np.zeros((2, side, side)), scale, border)
    assert zero.shape == (side, side) and (zero == 1.0).all()


def test_phase_imbalance_flat_zero_and_border() -> None:
    assert metrics.phase_imbalance(np.full((3, 20, 20), 7.0), 2) == 0.0
    assert metrics.phase_imbalance(np.zeros((20, 20)), 2) == 0.0
    # a disturbed edge is outside the default border 2S
    y = np.ones((20, 20))
    y[:3, :] = 5.0
    assert metrics.phase_imbalance(y, 2) == 0.0
    assert metrics.phase_imbalance(y, 2, border=0) > 0.0


def test_too_small_for_the_border_is_an_error() -> None:
    with pytest.raises(UpscopeError, match="too small"):
        metrics.phase_imbalance(np.ones((9, 9)), 2)  # 9 - 8 = 1 < S
    metrics.phase_imbalance(np.ones((10, 10)), 2)
    with pytest.raises(UpscopeError, match="too small"):
        metrics.spectral_peak_db(np.ones((15, 40)), 2)  # 15 - 8 < 4S
    assert metrics.required_size(2) == 2 * 4 + 4 * 2
    metrics.spectral_peak_db(np.ones((16, 16)), 2)
    with pytest.raises(UpscopeError, match="shape"):
        metrics.phase_imbalance(np.ones((1, 1, 12, 12)), 2)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_spectral_peak_finds_period_s_patterns_only(scale: int) -> None:
    n = 16 * scale
    assert metrics.spectral_peak_db(np.ones((n, n)), scale) == 0.0
    rng = np.random.default_rng(0)
    flat = np.ones((n, n)) + 1e-7 * rng.standard_normal((n, n))
    assert abs(metrics.spectral_peak_db(flat, scale)) < 0.1
    grid = np.ones((n, n))
    grid[::scale, ::scale] += 0.01
    assert metrics.spectral_peak_db(grid, scale) > 10.0
    # a cosine of period 2S (half way between DC and the first peak) does not count
    rows = np.arange(n)[:, None]
    other = np.ones((n, n)) + 0.5 * np.cos(2 * np.pi * rows / (2 * scale))
    assert metrics.spectral_peak_db(other, scale) < 0.1
    noise = rng.standard_normal((4, n, n))
    assert abs(metrics.spectral_peak_db(noise, scale)) < 8.0


def test_spectral_peak_does_not_depend_on_the_image_size() -> None:
    values = []
    for n in (32, 64, 128):
        y = np.ones((n, n))
        y[::2, ::2] += 0.01
        values.append(metrics.spectral_peak_db(y, 2))
    assert max(values) - min(values) < 1e-9


def test_peak_bins_are_the_multiples_of_one_over_s() -> None:
    assert sorted(metrics.peak_bins((12, 12), 3)) == sorted(
        (4 * m, 4 * n) for m in range(3) for n in range(3) if (m, n) != (0, 0)
    )


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_interpolation_baselines_score_zero_on_constants(mode: str, scale: int) -> None:
    up = nn.Upsample(scale_factor=scale, mode=mode)
    y = up(torch.full((1, 3, 12, 12), 0.7))[0].double().numpy()
    assert metrics.phase_imbalance(y, scale) < 1e-6
    assert metrics.spectral_peak_db(y, scale) < 0.1


def test_zero_order_hold_kernel_has_weight_imbalance_zero() -> None:
    rng = np.random.default_rng(1)
    s = 2
    g = rng.integers(-5, 6, (3, 2, 3, 3)).astype(float)
    weight = np.zeros((3, 2, 3 + s - 1, 3 + s - 1))
    for a in range(s):
        for b in range(s):
            weight[:, :, a : a + 3, b : b + 3] += g  # g convolved with a 2x2 box
    assert weight.shape[-1] == 4
    sums = metrics.polyphase_sums(weight, (s, s))
    assert np.all(sums == sums[:, :1, :1])
    np.testing.assert_array_equal(metrics.weight_imbalance(weight, (s, s)), np.zeros(2))


def test_crafted_kernel_imbalance_by_formula() -> None:
    rng = np.random.default_rng(2)
    weight = rng.integers(1, 9, (2, 3, 3, 3)).astype(float)
    s = 2
    for o in range(3):
        sums = [
            sum(
                weight[ci, o, j, k]
                for ci in range(2)
                for j in range(3)
                for k in range(3)
                if j % s == a and k % s == b
            )
            for a in range(s)
            for b in range(s)
        ]
        want = (max(sums) - min(sums)) / np.mean(np.abs(sums))
        assert metrics.weight_imbalance(weight, (s, s))[o] == pytest.approx(want, rel=1e-12)
    # 1D, a worked example: k=3, s=2, weights (1, 1, 1): sums (2, 1) -> 1 / 1.5
    assert metrics.weight_imbalance(np.ones((1, 1, 3)), (2,))[0] == pytest.approx(2 / 3)


@pytest.mark.parametrize(("k", "s"), [(3, 2), (4, 2), (5, 3), (4, 4)])
def test_polyphase_sums_are_the_dc_gains_torch_computes(k: int, s: int) -> None:
    torch.manual_seed(k * 10 + s)
    layer = nn.ConvTranspose2d(3, 2, k, stride=s, bias=False)
    with torch.no_grad():
        y = layer(torch.ones(1, 3, 8, 8))[0].double().numpy()
    sums = metrics.polyphase_sums(layer.weight.detach().numpy(), (s, s))
    # with P = 0 output n = i*S + j, so the interior pixel n has phase n mod S of the kernel
    for n in range(k, y.shape[1] - k):
        for m in range(k, y.shape[2] - k):
            np.testing.assert_allclose(y[:, n, m], sums[:, n % s, m % s], rtol=1e-5, atol=1e-6)


def test_zero_sums_are_nan_not_an_error_and_dilation_holes() -> None:
    weight = np.zeros((1, 2, 3, 3))
    weight[0, 1, 0, 0] = 1.0
    result = metrics.weight_imbalance(weight, 2)
    assert np.isnan(result[0]) and result[1] == pytest.approx(4.0)  # sums (1,0,0,0): 1 / 0.25
    # K=3, S=2, D=2: every tap lands on phase 0, phase 1 gets nothing
    np.testing.assert_array_equal(
        metrics.polyphase_sums(np.ones((1, 1, 3)), (2,), (2,)), [[3.0, 0.0]]
    )
    with pytest.raises(UpscopeError):
        metrics.polyphase_sums(np.ones((1, 1, 3, 3)), (2,))
