"""The band-limited resampler against closed forms, the 1D zoo's contract, the audio measures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from upscope import audio_metrics, dsp, upsamplers1d, zoo1d


@given(
    scale=st.integers(2, 8),
    fraction=st.floats(0.01, 0.8),
    phase=st.floats(0, 2 * math.pi),
)
def test_upsampled_sine_is_the_analytic_sine(scale: int, fraction: float, phase: float) -> None:
    """A sine below 0.8 of the input's Nyquist frequency, upsampled, equals the same sine sampled
    at the high rate, to SINE_TOLERANCE of its amplitude away from the ends."""
    n = 400
    cycles = fraction / 2  # cycles per input sample
    x = np.sin(2 * np.pi * cycles * np.arange(n) + phase)[None]
    y = dsp.upsample(x, scale)[0]
    m = np.arange(n * scale)
    expected = np.sin(2 * np.pi * cycles * m / scale + phase)
    edge = dsp.HALF_WIDTH * scale
    assert np.abs(y[edge:-edge] - expected[edge:-edge]).max() <= dsp.SINE_TOLERANCE


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downsample_removes_what_would_alias(scale: int) -> None:
    """A sine above the low rate's Nyquist frequency leaves under -70 dB; one below passes."""
    n = 4096 * scale
    t = np.arange(n)
    high = np.sin(2 * np.pi * 0.6 / (2 * scale) * 2 * t)  # 1.2 x the low Nyquist
    low = np.sin(2 * np.pi * 0.3 / (2 * scale) * t)
    edge = dsp.HALF_WIDTH
    kept = dsp.downsample(low[None], scale)[0][edge:-edge]
    gone = dsp.downsample(high[None], scale)[0][edge:-edge]
    assert 20 * np.log10(np.abs(gone).max()) < -70
    assert np.abs(kept).max() == pytest.approx(1.0, abs=1e-3)


def test_registry_is_the_torch_free_names() -> None:
    assert tuple(upsamplers1d._REGISTRY) == zoo1d.NAMES


@pytest.mark.parametrize("name", zoo1d.NAMES)
@pytest.mark.parametrize("scale", [2, 3, 8, 16])
def test_every_method_is_exactly_x_scale(name: str, scale: int) -> None:
    torch.manual_seed(0)
    layer = upsamplers1d.create(name, 2, scale)
    for length in (1, 5, 40):
        assert layer(torch.ones(1, 2, length)).shape == (1, 2, scale * length)


def test_convt_geometry_is_as_named() -> None:
    for scale in range(2, 17):
        k, s, _, _ = zoo1d.convt_params("convT-even", scale)
        assert k % s == 0
        k, s, _, _ = zoo1d.convt_params("convT-uneven", scale)
        assert k % s != 0


def test_sinc_module_is_the_numpy_resampler() -> None:
    x = np.random.default_rng(1).standard_normal((3, 200))
    layer = upsamplers1d.create("sinc", 3, 5).double()
    y = layer(torch.from_numpy(x)[None])[0].numpy()
    assert np.abs(y - dsp.upsample(x, 5)).max() < 1e-6


def test_subpixel_shuffle_puts_channel_c_times_s_plus_i_on_phase_i() -> None:
    x = torch.arange(12.0).reshape(1, 6, 2)  # C=2, S=3, L=2
    y = upsamplers1d.Shuffle1d(3)(x)
    assert y[0, 1].tolist() == [
        x[0, 3, 0],
        x[0, 4, 0],
        x[0, 5, 0],
        x[0, 3, 1],
        x[0, 4, 1],
        x[0, 5, 1],
    ]


def test_tone_db_finds_a_period_pattern_and_its_hz() -> None:
    rate, scale = 16000.0, 4
    rng = np.random.default_rng(0)
    pattern = np.tile([1.0, -0.5, 0.25, -0.75], 4000)  # period 4: 4000 and 8000 Hz
    y = (0.01 * pattern + 0.1 * rng.standard_normal(16000))[None]
    level, hz = audio_metrics.tone_db(audio_metrics.power_spectrum(y), rate, scale)
    assert hz == [4000.0, 8000.0] and level > 10  # about 18 dB: A^2 / (ln 2 * 1.5 sigma^2 / N)
    clean = (0.1 * rng.standard_normal(16000))[None]
    assert audio_metrics.tone_db(audio_metrics.power_spectrum(clean), rate, scale)[0] < 10


def test_nearest_highs_match_the_zero_order_hold_response() -> None:
    """nearest x2 = zero-stuffing then [1, 1]: |H(f)|^2 = 4 cos^2(pi f / rate); highs_db is its
    band average at 0.7-0.8 of the input Nyquist over the one at 0.05-0.25."""
    rate, scale, n = 16000.0, 2, 8000
    x = np.random.default_rng(0).standard_normal((2, n))
    y = upsamplers1d.create("nearest", 2, scale)(torch.from_numpy(x)[None])[0].numpy()
    got = audio_metrics.highs_db(
        audio_metrics.power_spectrum(y),
        audio_metrics.power_spectrum(dsp.upsample(x, scale)),
        rate,
        scale,
    )
    nyq = rate / (2 * scale)

    def band(lo: float, hi: float) -> float:
        f = np.linspace(lo * nyq, hi * nyq, 1001)
        return float(np.mean(np.cos(np.pi * f / rate) ** 2))

    expected = 10 * np.log10(band(0.7, 0.8) / band(*audio_metrics.LOW_BAND))
    assert got == pytest.approx(expected, abs=0.1)


def test_snr_and_lsd_of_known_signals() -> None:
    x = np.sin(np.arange(4000) * 0.05)[None]
    assert audio_metrics.snr_db(x, 0.9 * x) == pytest.approx(20.0)  # error 0.1 x: 20 dB
    noise = np.random.default_rng(0).standard_normal((1, 4000))  # every bin far above eps
    assert audio_metrics.lsd_db(noise, noise) == 0.0
    assert audio_metrics.lsd_db(noise, 0.5 * noise) == pytest.approx(20 * np.log10(2), abs=1e-6)
