"""Checkerboard metrics on numpy arrays (no torch): phase energy, spectral peak, kernel sums.

All three are defined here and in the README (section ``probe``); ``probe``, ``compare`` and
``scan`` share them.

* **Phase energy imbalance** (:func:`phase_imbalance`) of an output ``y`` of scale S: drop a
  border of ``b`` pixels on every side (default ``b = 2S``), split the rest into its S*S phases
  ``y[a::S, c::S]`` and take the mean square in each, E_ac = mean(y^2 over phase (a, c), over
  every channel). The score is (max E - min E) / mean E; 0 when every phase is alike.
  :func:`energy_map` is the picture of the same quantity: y^2 (mean over channels) divided by
  its mean over the cropped image, whose phase means are E_ac / mean E.
* **Spectral peak** (:func:`spectral_peak_db`): the mean-removed, Hann-windowed power spectrum
  of the same cropped image, averaged over channels. At each of the S*S - 1 non-DC frequencies
  (m/S, n/S) cycles/pixel it compares the power with the median power of that frequency's
  neighbourhood (the bins at Chebyshev distance 2..4, circularly, leaving out every bin within
  distance 1 of DC or of a peak), and reports the largest ratio in dB. Both powers get a floor
  of 1e-8 times the crop's total power (-80 dB), so float error does not read as a peak.
* **Weight imbalance** (:func:`weight_imbalance`) of a transposed-convolution kernel: for each
  output channel, the sums of its polyphase sub-kernels (:func:`polyphase_sums`, summed over
  input channels), reported as (max - min) / mean |sum|. 0 for a kernel that contains a
  zero-order hold (Sugawara et al.), NaN when every sum is 0.

>>> import numpy as np
>>> phase_imbalance(np.ones((12, 12)), scale=2)
0.0
>>> y = np.tile([[4.0, 2.0], [2.0, 1.0]], (6, 6))   # the K=3, S=2 overlap map
>>> round(phase_imbalance(y, 2), 6)                 # (16 - 1) / mean(16, 4, 4, 1)
2.4
>>> weight_imbalance(np.ones((1, 1, 3)), (2,))      # sums (2, 1): (2 - 1) / 1.5
array([0.66666667])
"""

from __future__ import annotations

import numpy as np

from upscope.errors import UpscopeError

#: Neighbourhood of a spectral peak: Chebyshev distance in bins, inner and outer (inclusive).
NEIGHBOUR_INNER = 2
NEIGHBOUR_OUTER = 4
#: Power floor per bin, relative to the crop's total power (Parseval): -80 dB.
POWER_FLOOR = 1e-8


def default_border(scale: int) -> int:
    """The default border: 2*S pixels, which excludes the zero-padding edge effects of every
    layer in the zoo (transposed convs with K <= 2S, a 3x3 conv, bicubic's 4 taps)."""
    return 2 * scale


def required_size(scale: int, border: int | None = None) -> int:
    """The smallest output side both image metrics accept: 2*border + 4*S."""
    b = default_border(scale) if border is None else border
    return 2 * b + 4 * scale


def _as_chw(y: np.ndarray) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise UpscopeError(f"expected an image of shape (H, W) or (C, H, W), got {arr.shape}")
    return arr


def _check_scale(scale: int) -> None:
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or scale < 1:
        raise UpscopeError(f"scale must be a positive integer, got {scale!r}")


def _crop(arr: np.ndarray, scale: int, border: int | None, min_side: int) -> np.ndarray:
    b = default_border(scale) if border is None else border
    if b < 0:
        raise UpscopeError(f"border must be 0 or more, got {b}")
    h, w = arr.shape[-2:]
    if h - 2 * b < min_side or w - 2 * b < min_side:
        raise UpscopeError(
            f"image {w}x{h} (WxH) is too small for a border of {b} at scale {scale}: "
            f"at least {min_side}x{min_side} pixels must remain (needs {2 * b + min_side}x"
            f"{2 * b + min_side})"
        )
    return arr[:, b : h - b, b : w - b]


def phase_energies(y: np.ndarray, scale: int, border: int | None = None) -> np.ndarray:
    """E[a, c] = mean of y^2 over phase (a, c) (rows = a mod S, cols = c mod S, absolute
    positions in ``y``) and over channels, after dropping ``border`` pixels on each side."""
    _check_scale(scale)
    arr = _as_chw(y)
    b = default_border(scale) if border is None else border
    crop = _crop(arr, scale, b, scale)
    sq = crop * crop
    energies = np.empty((scale, scale))
    for a in range(scale):
        for c in range(scale):
            # absolute phase a of y sits at crop offset (a - b) mod S
            energies[a, c] = sq[:, (a - b) % scale :: scale, (c - b) % scale :: scale].mean()
    return energies


def energy_map(y: np.ndarray, scale: int, border: int | None = None) -> np.ndarray:
    """M = mean over channels of y^2, divided by its mean over the crop (``border`` pixels
    dropped on each side, default 2*S): shape (H, W), the border kept, mean 1 over the crop.

    1 where the energy is that of the crop's average; the means of M over the phases of the crop
    are E_ac / mean E (:func:`phase_energies`) when the crop's sides are multiples of S. An image
    that is zero over the crop gives ones: no structure, as its phase imbalance is 0, so a mean
    of such maps keeps mean 1 and never shows more imbalance than the mean of the seeds' scores.
    """
    _check_scale(scale)
    arr = _as_chw(y)
    energy = (arr * arr).mean(axis=0)
    mean = float(_crop(energy[None], scale, border, scale).mean())
    return energy / mean if mean > 0 else np.ones_like(energy)


def phase_imbalance(y: np.ndarray, scale: int, border: int | None = None) -> float:
    """(max - min) / mean of the phase energies E_ac (see :func:`phase_energies`).

    ``y`` is (H, W) or (C, H, W); the border defaults to 2*S (:func:`default_border`). An image
    that is zero everywhere scores 0. Raises UpscopeError if fewer than S x S pixels remain.
    """
    energies = phase_energies(y, scale, border)
    mean = float(energies.mean())
    if mean == 0.0:
        return 0.0
    return float((energies.max() - energies.min()) / mean)


def _hann(n: int) -> np.ndarray:
    """Periodic Hann window: an on-bin sinusoid leaks only into the two adjacent bins."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def power_spectrum(y: np.ndarray, scale: int, border: int | None = None) -> np.ndarray:
    """P[u, v]: channel-averaged power spectrum of the cropped, mean-removed, Hann-windowed image,
    normalised by sum(window^2) so that white noise of variance s^2 has E[P] = s^2 in every bin.
    Unshifted (DC at [0, 0]); shape (H - 2b, W - 2b)."""
    _check_scale(scale)
    crop = _crop(_as_chw(y), scale, border, 4 * scale)
    h, w = crop.shape[-2:]
    window = np.outer(_hann(h), _hann(w))
    centred = crop - crop.mean(axis=(1, 2), keepdims=True)
    spectrum = np.abs(np.fft.fft2(centred * window)) ** 2
    return spectrum.mean(axis=0) / float((window**2).sum())


def peak_bins(shape: tuple[int, int], scale: int) -> list[tuple[int, int]]:
    """The FFT bins nearest the frequencies (m/S, n/S), 0 <= m, n < S, without DC."""
    h, w = shape
    return [
        (round(m * h / scale) % h, round(n * w / scale) % w)
        for m in range(scale)
        for n in range(scale)
        if (m, n) != (0, 0)
    ]


def _neighbourhood(
    shape: tuple[int, int], peak: tuple[int, int], centres: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    offsets = np.arange(-NEIGHBOUR_OUTER, NEIGHBOUR_OUTER + 1)
    du, dv = np.meshgrid(offsets, offsets, indexing="ij")
    ring = np.maximum(np.abs(du), np.abs(dv)) >= NEIGHBOUR_INNER
    rows = (peak[0] + du[ring]) % h
    cols = (peak[1] + dv[ring]) % w
    keep = np.ones(rows.shape, dtype=bool)
    for cu, cv in centres:
        dr = np.minimum((rows - cu) % h, (cu - rows) % h)
        dc = np.minimum((cols - cv) % w, (cv - cols) % w)
        keep &= np.maximum(dr, dc) > 1
    pairs = sorted(set(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True)))
    if not pairs:
        return np.array([], dtype=int), np.array([], dtype=int)
    r, c = zip(*pairs, strict=True)
    return np.array(r), np.array(c)


def spectral_peak_db(y: np.ndarray, scale: int, border: int | None = None) -> float:
    """max over the S*S - 1 peaks of 10*log10((P_peak + f) / (median(P_neighbourhood) + f)).

    P is :func:`power_spectrum` (border default 2*S, at least 4S x 4S pixels must remain); the
    peaks are :func:`peak_bins`; a peak's neighbourhood is every bin at Chebyshev distance 2..4
    from it (circularly), except bins within distance 1 of DC or of any peak (the Hann main
    lobes). The floor f = 1e-8 * mean(y^2 of the crop) keeps float error from reading as a peak:
    an image flat up to float error scores ~0 dB, one that is zero everywhere exactly 0 dB.
    """
    _check_scale(scale)
    arr = _as_chw(y)
    power = power_spectrum(arr, scale, border)
    b = default_border(scale) if border is None else border
    crop = _crop(arr, scale, b, 4 * scale)
    floor = POWER_FLOOR * crop.shape[-2] * crop.shape[-1] * float((crop * crop).mean())
    if floor == 0.0:
        return 0.0
    peaks = peak_bins(power.shape, scale)
    centres = [(0, 0), *peaks]
    best = -np.inf
    for peak in peaks:
        rows, cols = _neighbourhood(power.shape, peak, centres)
        if rows.size == 0:  # pragma: no cover - 4S x 4S always leaves a neighbourhood
            raise UpscopeError(f"image {power.shape} too small for a spectral neighbourhood")
        ratio = (power[peak] + floor) / (float(np.median(power[rows, cols])) + floor)
        best = max(best, 10.0 * float(np.log10(ratio)))
    return best


def polyphase_sums(
    weight: np.ndarray, stride: tuple[int, ...] | int, dilation: tuple[int, ...] | int = 1
) -> np.ndarray:
    """Sums of the polyphase sub-kernels of a ConvTranspose weight (C_in, C_out, *k).

    Returns shape (C_out, *stride): entry [o, r_1, ..] = sum over input channels and over taps
    j with (j_i * d_i) mod s_i == r_i on every axis of weight[:, o, j]. These are the DC gains of
    the S^d output phases for a constant input equal on every input channel.
    """
    w = np.asarray(weight, dtype=np.float64)
    nd = w.ndim - 2
    if nd < 1:
        raise UpscopeError(f"expected a weight of shape (C_in, C_out, *k), got {w.shape}")
    strides = (stride,) * nd if isinstance(stride, int | np.integer) else tuple(stride)
    dils = (dilation,) * nd if isinstance(dilation, int | np.integer) else tuple(dilation)
    if len(strides) != nd or len(dils) != nd:
        raise UpscopeError(f"stride {stride} / dilation {dilation} do not match weight {w.shape}")
    if min(strides) < 1 or min(dils) < 1:
        raise UpscopeError(f"stride and dilation must be positive, got {strides}, {dils}")
    arr = w.sum(axis=0)  # (C_out, *k)
    for axis, (s, d) in enumerate(zip(strides, dils, strict=True)):
        # O(taps + phases) per axis (a one-hot (k, s) matrix would be k*s: 488 GiB for
        # k = 10^6, s = 65536): tap j adds into phase (j * d) mod s
        taps = np.moveaxis(arr, 1 + axis, 0)
        summed = np.zeros((s, *taps.shape[1:]))
        np.add.at(summed, (np.arange(taps.shape[0]) * d) % s, taps)
        arr = np.moveaxis(summed, 0, 1 + axis)
    return arr


def weight_imbalance(
    weight: np.ndarray, stride: tuple[int, ...] | int, dilation: tuple[int, ...] | int = 1
) -> np.ndarray:
    """Per output channel: (max - min) / mean |sum| over its polyphase sums.

    0 for a kernel containing a zero-order hold (all sums equal); NaN where every sum is 0 (the
    ratio is undefined there; JSON writers turn NaN into null). Shape (C_out,).
    """
    sums = polyphase_sums(weight, stride, dilation)
    flat = sums.reshape(sums.shape[0], -1)
    spread = flat.max(axis=1) - flat.min(axis=1)
    scale = np.abs(flat).mean(axis=1)
    out = np.full(flat.shape[0], np.nan)
    ok = scale > 0
    out[ok] = spread[ok] / scale[ok]
    return out
