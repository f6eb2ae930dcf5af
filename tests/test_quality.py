"""PSNR, SSIM and spectra against independent computations (torch, plain loops, known answers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from upscope import quality


def _image(c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((c, h, w))


def test_psnr_of_bicubic_by_hand_with_torch() -> None:
    x = torch.from_numpy(_image(3, 24, 20, seed=3))[None]
    low = F.avg_pool2d(x, 2)
    up = F.interpolate(low, scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)
    mse = torch.mean((up - x) ** 2).item()
    expected = 10 * math.log10(1 / mse)
    assert quality.psnr(up[0].numpy(), x[0].numpy()) == pytest.approx(expected, rel=1e-12)


def test_psnr_identical_and_data_range() -> None:
    x = _image(1, 8, 8)
    assert quality.psnr(x, x) == math.inf
    y = x + 0.01
    assert quality.psnr(x, y) == pytest.approx(40.0)
    assert quality.psnr(x * 255, y * 255, data_range=255) == pytest.approx(40.0)


def _ssim_by_loops(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al. 2004 written out: one 11x11 Gaussian window at every valid position."""
    i, j = np.mgrid[-5:6, -5:6]
    w = np.exp(-(i**2 + j**2) / (2 * 1.5**2))
    w /= w.sum()
    c1, c2 = (0.01 * 1) ** 2, (0.03 * 1) ** 2
    per_channel = []
    for a, b in zip(x, y, strict=True):
        values = []
        for r in range(a.shape[0] - 10):
            for c in range(a.shape[1] - 10):
                pa, pb = a[r : r + 11, c : c + 11], b[r : r + 11, c : c + 11]
                ma, mb = (w * pa).sum(), (w * pb).sum()
                va = (w * (pa - ma) ** 2).sum()
                vb = (w * (pb - mb) ** 2).sum()
                cov = (w * (pa - ma) * (pb - mb)).sum()
                values.append(
                    ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
                )
        per_channel.append(np.mean(values))
    return float(np.mean(per_channel))


@settings(max_examples=6)
@given(
    st.integers(1, 3),
    st.integers(11, 16),
    st.integers(11, 16),
    st.floats(0.01, 0.5),
    st.integers(0, 2**31 - 1),
)
def test_ssim_matches_a_direct_implementation(
    c: int, h: int, w: int, noise: float, seed: int
) -> None:
    x = _image(c, h, w, seed)
    y = np.clip(x + noise * np.random.default_rng(seed + 1).standard_normal(x.shape), 0, 1)
    assert quality.ssim(x, y) == pytest.approx(_ssim_by_loops(x, y), abs=1e-9)


def test_ssim_properties() -> None:
    x = _image(3, 32, 32, seed=5)
    assert quality.ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(6)
    noisy = [np.clip(x + s * rng.standard_normal(x.shape), 0, 1) for s in (0.02, 0.1, 0.3)]
    scores = [quality.ssim(x, n) for n in noisy]
    assert scores[0] > scores[1] > scores[2]
    assert quality.ssim(noisy[1], x) == pytest.approx(scores[1], abs=1e-12)  # symmetric
    assert quality.ssim(x[0], noisy[1][0]) == pytest.approx(
        quality.ssim(x[:1], noisy[1][:1]), abs=1e-12
    )


def test_ssim_of_two_constants_is_the_luminance_term() -> None:
    a, b = 0.2, 0.7
    c1 = (0.01 * 1) ** 2
    expected = (2 * a * b + c1) / (a**2 + b**2 + c1)
    assert quality.ssim(np.full((12, 12), a), np.full((12, 12), b)) == pytest.approx(expected)


def test_ssim_too_small() -> None:
    with pytest.raises(ValueError, match="at least 11x11"):
        quality.ssim(np.zeros((10, 20)), np.zeros((10, 20)))


def test_grey_weights() -> None:
    x = _image(3, 4, 5)
    expected = 0.2989 * x[0] + 0.5870 * x[1] + 0.1140 * x[2]
    np.testing.assert_allclose(quality.to_grey(x), expected, rtol=1e-12)
    np.testing.assert_array_equal(quality.to_grey(x[:1]), x[0])


def test_spectrum_peak_of_a_cosine() -> None:
    n, k = 64, 10
    t = np.arange(n)
    img = 0.5 + 0.25 * np.cos(2 * np.pi * k * t / n)[None, :] * np.ones((n, 1))
    spec = quality.log_power_spectrum(img)
    assert spec.shape == (n, n)
    peak = np.unravel_index(np.argmax(spec), spec.shape)
    assert peak in {(n // 2, n // 2 + k), (n // 2, n // 2 - k)}
    # the same through torch: centred |FFT|^2 of the windowed, mean-removed image
    hann = torch.hann_window(n, periodic=False, dtype=torch.float64)
    window = torch.outer(hann, hann)
    g = torch.from_numpy(img)
    power = torch.fft.fftshift(torch.fft.fft2((g - g.mean()) * window)).abs() ** 2
    np.testing.assert_allclose(spec, 10 * torch.log10(power + 1e-12).numpy(), atol=1e-6)


def test_durall_spectrum_with_torch() -> None:
    """20 ln |F| of the centred FFT of the grey image, nothing removed, no window."""
    x = _image(3, 20, 24, seed=8)
    grey = 0.2989 * x[0] + 0.5870 * x[1] + 0.1140 * x[2]
    f = torch.fft.fftshift(torch.fft.fft2(torch.from_numpy(grey)))
    expected = 20 * torch.log(f.abs() + 1e-8)
    np.testing.assert_allclose(quality.durall_spectrum(x), expected.numpy(), rtol=1e-12)


def _nearest_ring(m: int) -> int:
    """sqrt(m) rounded to the nearest integer, exactly: sqrt(m) >= r + 1/2 iff m > r^2 + r
    (r = floor(sqrt(m)); sqrt of an integer is never a half-integer)."""
    r = math.isqrt(m)
    return r + (m > r * r + r)


def _ring_sizes(n: int) -> dict[int, int]:
    """Number of bins (du, dv) of an n x n centred spectrum whose radius rounds to k."""
    sizes: dict[int, int] = {}
    for du in range(-(n // 2), n - n // 2):
        for dv in range(-(n // 2), n - n // 2):
            k = _nearest_ring(du * du + dv * dv)
            sizes[k] = sizes.get(k, 0) + 1
    return sizes


@pytest.mark.parametrize(("n", "fx", "fy"), [(64, 3, 4), (48, 0, 7), (33, 5, 12)])
def test_radial_profile_puts_a_cosine_on_its_ring(n: int, fx: int, fy: int) -> None:
    """a + b cos(2 pi (fx x + fy y) / n): |F| is a n^2 at DC and b n^2 / 2 at +-(fy, fx), about
    0 elsewhere, so the profile is 20 ln(a n^2) on ring 0, and on ring round(hypot(fx, fy)) the
    mean of two peaks and (size - 2) bins of 20 ln(1e-8)."""
    a, b = 0.5, 0.25
    y, x = np.mgrid[0:n, 0:n]
    img = a + b * np.cos(2 * np.pi * (fx * x + fy * y) / n)
    prof = quality.radial_profile(img)
    sizes = _ring_sizes(n)
    assert list(prof.frequency) == [k / n for k in sorted(sizes)]
    ring = _nearest_ring(fx * fx + fy * fy)
    floor = 20 * math.log(1e-8)
    expected = {k: floor for k in sizes}
    expected[0] = (20 * math.log(a * n * n) + (sizes[0] - 1) * floor) / sizes[0]
    expected[ring] = (2 * 20 * math.log(b * n * n / 2) + (sizes[ring] - 2) * floor) / sizes[ring]
    # float error leaves |F| ~1e-12 where it is 0 in theory: 20 ln(1e-8 + 1e-13) - floor ~ 2e-4
    np.testing.assert_allclose(prof.value, [expected[k] for k in sorted(sizes)], atol=0.01)
    assert int(np.argmax(prof.value[1:])) + 1 == ring


def test_azimuthal_average() -> None:
    const = quality.azimuthal_average(np.full((16, 16), 3.0))
    np.testing.assert_allclose(const.value, 3.0)
    np.testing.assert_allclose(const.frequency, np.arange(len(const.frequency)) / 16)
    assert const.frequency[-1] == pytest.approx(round(8 * math.sqrt(2)) / 16)
    # ring k is every bin whose distance from the centre (H//2, W//2), in units of
    # 1/min(H, W) cycles per pixel, lies in [k - 1/2, k + 1/2): checked with loops on a
    # non-square image
    h, w = 12, 20
    values = np.random.default_rng(0).random((h, w))
    prof = quality.azimuthal_average(values)
    rings: dict[int, list[float]] = {}
    for r in range(h):
        for c in range(w):
            dist = math.hypot((r - h // 2) / h, (c - w // 2) / w) * min(h, w)
            rings.setdefault(math.floor(dist + 0.5 + 1e-9), []).append(values[r, c])
    assert sorted(rings) == [round(f * h) for f in prof.frequency]
    np.testing.assert_allclose(prof.value, [np.mean(rings[k]) for k in sorted(rings)], rtol=1e-12)


@pytest.mark.parametrize("n", [31, 64])
def test_each_ring_is_centred_on_its_frequency(n: int) -> None:
    """The ring plotted at k/N holds bins whose radii average to k/N within a quarter bin (the
    lattice makes the small rings uneven), for every ring that is a whole circle (k < N/2). With
    truncated radii (Durall's int) the rings sit half a bin above their label."""
    radius = quality.radial_frequency(n, n)
    prof = quality.azimuthal_average(radius)
    whole = prof.frequency * n < n // 2
    assert whole.sum() == n // 2
    np.testing.assert_allclose(prof.value[whole], prof.frequency[whole], atol=0.25 / n)
    assert abs(np.mean(prof.value[1:][whole[1:]] - prof.frequency[1:][whole[1:]])) < 0.1 / n
