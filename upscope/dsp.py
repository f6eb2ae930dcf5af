"""Band-limited resampling by an integer factor, and the anti-aliasing downsampler (numpy only).

One windowed-sinc low-pass serves both directions. For a factor S its taps, in output samples
``t = -W*S .. W*S`` (W = :data:`HALF_WIDTH` input samples on each side), are

    h[t] = CUTOFF * sinc(CUTOFF * t / S) * kaiser(beta = BETA)

a low-pass at ``CUTOFF`` times the low rate's Nyquist frequency (0.9: passband up to about 0.8,
stopband from 1.0 of the low rate's Nyquist, about 80 dB down). Upsampling (:func:`upsample`)
puts the input on every S-th sample of zeros and filters with ``h``; each of the S polyphase
branches is scaled to sum to 1, so a constant comes out exactly constant (no tone from the
reference). Downsampling (:func:`downsample`) filters with ``h / sum(h)`` and keeps every S-th
sample, so what lies above the low rate's Nyquist frequency is removed before it can alias.
Both reflect the signal at its ends (W input samples) instead of padding with zeros.

The accuracy is checked in closed form (``tests/test_audio_dsp.py``): a sine below 0.8 of the
input's Nyquist frequency, upsampled, equals the analytic sine at the high rate to
:data:`SINE_TOLERANCE` of its amplitude away from the ends.

>>> import numpy as np
>>> x = np.ones((1, 50))
>>> bool(np.allclose(upsample(x, 3), 1.0)), upsample(x, 3).shape, downsample(x, 2).shape
(True, (1, 150), (1, 25))
"""

from __future__ import annotations

import numpy as np

__all__ = ["BETA", "CUTOFF", "HALF_WIDTH", "SINE_TOLERANCE", "downsample", "kernel", "upsample"]

HALF_WIDTH = 32
CUTOFF = 0.9
BETA = 8.0
SINE_TOLERANCE = 1e-3


def kernel(scale: int) -> np.ndarray:
    """The low-pass taps for factor ``scale`` (length 2*W*S + 1, centred), unnormalised."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    half = HALF_WIDTH * scale
    t = np.arange(-half, half + 1, dtype=np.float64)
    return CUTOFF * np.sinc(CUTOFF * t / scale) * np.kaiser(2 * half + 1, BETA)


def polyphase_kernel(scale: int) -> np.ndarray:
    """:func:`kernel` with each polyphase branch (taps ``i``, ``i + S``, ...) summing to 1."""
    h = kernel(scale)
    for phase in range(scale):
        h[phase::scale] /= h[phase::scale].sum()
    return h


def _pad(x: np.ndarray, width: int) -> np.ndarray:
    if x.shape[-1] > width:
        return np.pad(x, ((0, 0), (width, width)), mode="reflect")
    return np.pad(x, ((0, 0), (width, width)), mode="edge")


def _filter(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """'valid' correlation of each row of ``x`` with ``h`` (h is symmetric: convolution)."""
    return np.stack([np.convolve(row, h, mode="valid") for row in x])


def upsample(x: np.ndarray, scale: int) -> np.ndarray:
    """``x`` (channels, N) -> (channels, S*N): the band-limited (windowed-sinc) upsampling."""
    x = np.asarray(x, dtype=np.float64)
    if scale == 1:
        return x.copy()
    w = HALF_WIDTH
    padded = _pad(x, w)
    stuffed = np.zeros((x.shape[0], padded.shape[1] * scale))
    stuffed[:, ::scale] = padded
    return _filter(stuffed, polyphase_kernel(scale))


def downsample(x: np.ndarray, scale: int) -> np.ndarray:
    """``x`` (channels, S*N) -> (channels, N): anti-aliasing low-pass, then every S-th sample.
    The length must be a multiple of ``scale``."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] % scale:
        raise ValueError(f"length {x.shape[-1]} is not a multiple of {scale}")
    if scale == 1:
        return x.copy()
    h = kernel(scale)
    h /= h.sum()
    half = HALF_WIDTH * scale
    return _filter(_pad(x, half), h)[:, ::scale]
