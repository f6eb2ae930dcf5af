"""Audio measurements in dB (numpy only): tones, highs, images, SNR, LSD, spectrograms.

All spectra are Hann-windowed power spectra of the whole signal, averaged over channels
(:func:`power_spectrum`); frequencies are in Hz at the signal's ``rate``. ``scale`` is the
upsampling factor, so the input's rate is ``rate / scale`` and its Nyquist frequency
``rate / (2 * scale)``.

- ``tone_db`` (:func:`tone_db`): an upsampler whose output repeats a pattern every S samples
  adds tones at the multiples of the input rate, ``k * rate / S`` (:func:`upscope.periods.
  tone_frequencies`). For each, the power of the strongest bin within one bin of it, over the
  broadband level: the median power of the spectrum away from DC and from every tone (3 bins).
  Both are floored at :data:`FLOOR_DB` (100 dB) below the spectrum's total power, so a pure tone
  on silence reads at most +100 dB and a tone and broadband both under the floor read 0 dB.
  The strongest tone is the value; positive = above broadband.
- ``highs_db`` (:func:`highs_db`): the gain at :data:`HIGHS_FRACTION` (0.75) of the input's
  Nyquist frequency relative to the gain low in the band (:data:`LOW_BAND`, 0.05-0.25 of it),
  each gain being the output's power over the reference's (the band-limited upsampling of the
  same input) averaged over a band of +-0.05 of the Nyquist frequency. 0 dB: flat; negative:
  the highs are attenuated. None where the reference has no power there (silence, DC, a sine).
- ``images_db`` (:func:`images_db`): the output's energy above the input's Nyquist frequency
  over its energy in the band (0 to that Nyquist, the 3 DC bins left out), dB, floored at -100 dB.
  None when the reference holds no energy in the band (silence, DC).
- ``snr_db``: 10 log10(sum x^2 / sum (x - y)^2); ``lsd_db``: the log-spectral distance, the mean
  over STFT frames (Hann, :data:`FRAME` samples, hop FRAME / 4) of the root mean square over
  frequency of 10 log10 of the power ratio (dB; Kuleshov et al. 2017 use the same with log10).

>>> import numpy as np
>>> rate, n = 16000, 16000
>>> t = np.arange(n)
>>> y = (0.1 * np.random.default_rng(0).standard_normal(n) + np.cos(np.pi * t / 2))[None]
>>> round(tone_db(power_spectrum(y), rate, scale=4)[0]) > 40
True
"""

from __future__ import annotations

import numpy as np

from upscope.periods import tone_frequencies

__all__ = [
    "FLOOR_DB",
    "HIGHS_FRACTION",
    "LOW_BAND",
    "frequencies",
    "highs_db",
    "images_db",
    "lsd_db",
    "power_spectrum",
    "snr_db",
    "spectrogram",
    "tone_db",
    "tone_levels",
]

FLOOR_DB = -100.0
HIGHS_FRACTION = 0.75
HIGHS_HALF_BAND = 0.05
LOW_BAND = (0.05, 0.25)
FRAME = 512
BAND_SHARE = 1e-6
_DC_BINS = 3
_TONE_GUARD = 3


def power_spectrum(y: np.ndarray) -> np.ndarray:
    """Hann-windowed power spectrum of ``y`` (channels, M) averaged over channels, length
    M // 2 + 1 (bin k is k * rate / M Hz); a sine of amplitude A on a bin reads A^2 / 4."""
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    window = np.hanning(y.shape[-1] + 2)[1:-1]
    spec = np.abs(np.fft.rfft(y * window, axis=-1)) ** 2 / window.sum() ** 2
    return np.asarray(spec.mean(axis=0))


def frequencies(spectrum_len: int, rate: float, length: int | None = None) -> np.ndarray:
    """Hz of each bin of a spectrum of ``spectrum_len`` bins from ``length`` samples."""
    n = 2 * (spectrum_len - 1) if length is None else length
    return np.arange(spectrum_len) * rate / n


def _floor(spec: np.ndarray) -> float:
    return float(spec.sum()) * 10 ** (FLOOR_DB / 10) + 1e-300


def _tone_bins(spec_len: int, rate: float, scale: int) -> list[int]:
    step = rate / (2 * (spec_len - 1))
    return [int(round(f / step)) for f in tone_frequencies(scale, rate)]


def tone_levels(spec: np.ndarray, rate: float, scale: int) -> list[float]:
    """dB over broadband of each tone at ``k * rate / scale`` (see the module's text)."""
    bins = _tone_bins(len(spec), rate, scale)
    floor = _floor(spec)
    keep = np.ones(len(spec), dtype=bool)
    keep[:_DC_BINS] = False
    for b in bins:
        keep[max(0, b - _TONE_GUARD) : b + _TONE_GUARD + 1] = False
    broad = max(float(np.median(spec[keep])) if keep.any() else 0.0, floor)
    return [
        10 * np.log10(max(float(spec[max(0, b - 1) : b + 2].max()), floor) / broad) for b in bins
    ]


def tone_db(spec: np.ndarray, rate: float, scale: int) -> tuple[float, list[float]]:
    """(strongest tone's dB over broadband, the tones' frequencies in Hz)."""
    levels = tone_levels(spec, rate, scale)
    return float(max(levels)), tone_frequencies(scale, rate)


def _band(spec: np.ndarray, freqs: np.ndarray, low: float, high: float) -> float:
    sel = (freqs >= low) & (freqs <= high)
    return float(spec[sel].mean())


def highs_db(out: np.ndarray, ref: np.ndarray, rate: float, scale: int) -> float | None:
    """Gain at HIGHS_FRACTION of the input's Nyquist relative to the low band, dB (None when the
    reference has no power there)."""
    freqs = frequencies(len(out), rate)
    nyq = rate / (2 * scale)
    lo = (LOW_BAND[0] * nyq, LOW_BAND[1] * nyq)
    hi = ((HIGHS_FRACTION - HIGHS_HALF_BAND) * nyq, (HIGHS_FRACTION + HIGHS_HALF_BAND) * nyq)
    floor = _floor(ref)
    ref_lo, ref_hi = _band(ref, freqs, *lo), _band(ref, freqs, *hi)
    out_lo, out_hi = _band(out, freqs, *lo), _band(out, freqs, *hi)
    if min(ref_lo, ref_hi) <= floor * 1e3 or min(out_lo, out_hi) <= 0:
        return None
    return float(10 * np.log10((out_hi / ref_hi) / (out_lo / ref_lo)))


def _band_energy(spec: np.ndarray, freqs: np.ndarray, nyq: float) -> float:
    return float(spec[_DC_BINS:][freqs[_DC_BINS:] <= nyq].sum())


def images_db(out: np.ndarray, ref: np.ndarray, rate: float, scale: int) -> float | None:
    """Energy above the input's Nyquist frequency over the band's (DC left out), dB; None when
    the reference ``ref`` holds almost nothing in the band but DC (under :data:`BAND_SHARE` of
    its energy: silence, DC)."""
    freqs = frequencies(len(out), rate)
    nyq = rate / (2 * scale)
    band = _band_energy(out, freqs, nyq)
    above = float(out[freqs > nyq].sum())
    if _band_energy(ref, freqs, nyq) <= BAND_SHARE * float(ref.sum()) or band <= 0:
        return None
    return float(10 * np.log10(max(above, band * 10 ** (FLOOR_DB / 10)) / band))


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """10 log10(signal energy / error energy), over all channels and samples."""
    ref = np.asarray(reference, dtype=np.float64)
    err = np.asarray(estimate, dtype=np.float64) - ref
    signal, noise = float((ref**2).sum()), float((err**2).sum())
    if noise == 0:
        return float("inf")
    if signal == 0:
        return float("-inf")
    return float(10 * np.log10(signal / noise))


def _stft_power(y: np.ndarray, frame: int) -> np.ndarray:
    """(channels, frames, bins) Hann power spectra, hop frame / 4, zero-padded to one frame."""
    hop = frame // 4
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if y.shape[-1] < frame:
        y = np.pad(y, ((0, 0), (0, frame - y.shape[-1])))
    count = 1 + (y.shape[-1] - frame) // hop
    index = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    window = np.hanning(frame + 2)[1:-1]
    return np.abs(np.fft.rfft(y[:, index] * window, axis=-1)) ** 2


def lsd_db(reference: np.ndarray, estimate: np.ndarray, frame: int = FRAME) -> float:
    """Log-spectral distance in dB (see the module's text); 0 for identical signals."""
    eps = 1e-10
    a = 10 * np.log10(_stft_power(reference, frame) + eps)
    b = 10 * np.log10(_stft_power(estimate, frame) + eps)
    return float(np.sqrt(((a - b) ** 2).mean(axis=-1)).mean())


def spectrogram(
    y: np.ndarray, rate: float, frame: int = FRAME
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times s, frequencies Hz, power dB (bins, frames)) of ``y`` averaged over channels."""
    power = _stft_power(y, frame).mean(axis=0)
    hop = frame // 4
    times = (np.arange(power.shape[0]) * hop + frame / 2) / rate
    freqs = np.arange(power.shape[1]) * rate / frame
    return times, freqs, 10 * np.log10(power.T + 1e-12)
