"""Image-quality measures (numpy only): PSNR, SSIM, grey conversion and power spectra.

Images are float arrays with data range 1: ``(H, W)`` or channel-first ``(C, H, W)``.

- PSNR = 10 log10(1 / MSE), the MSE taken over every pixel of every channel.
- SSIM as Wang, Bovik, Sheikh & Simoncelli (2004): an 11x11 Gaussian window with sigma 1.5,
  K1 = 0.01, K2 = 0.03, L = 1, local statistics weighted by the window (population covariance),
  the SSIM map taken where the window fits entirely inside the image ("valid"), averaged; for
  colour images computed per channel and the channel values averaged.
- grey = .2989 R + .5870 G + .1140 B (as Durall et al. 2020).
- radial profile (:func:`radial_profile`), as Durall et al. 2020 ("Watch your Up-Convolution")
  define it: 20 ln |F| of the centred 2D FFT of the grey image (nothing removed, no window),
  averaged over rings of integer radius around the zero frequency. Three differences, each to
  put a ring on the frequency it is plotted at: 1e-8 is added to |F| so that an exact zero has
  a finite logarithm (their code adds 1e-8 to F); radii are measured from the zero-frequency
  bin (H//2, W//2), in units of 1/min(H, W) cycles per pixel, where their code measures from
  the array's centre ((N-1)/2, half a bin off for an even N); and ring k holds the radii that
  round to k, [k - 1/2, k + 1/2), where their code truncates (int: [k, k + 1), a ring whose
  bins lie on average half a bin above the k/N it is labelled with).
- log power spectrum (:func:`log_power_spectrum`, the 2D pictures of ``compare``): 10 log10
  |F|^2 (dB) of the centred 2D FFT of the mean-removed, Hann-windowed grey image. This is not
  Durall's: the window removes the bright cross that the image's borders (a jump from the
  right edge to the left, the bottom to the top) draw along both axes, so the picture shows
  the image's own spectrum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_SIGMA = 1.5
SSIM_WIN = 11
GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def _as_chw(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        return x[None]
    if x.ndim != 3:
        raise ValueError(f"expected an (H, W) or (C, H, W) array, got shape {x.shape}")
    return x


def psnr(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical images.

    >>> round(psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)), 6)
    20.0
    """
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def gaussian_window(size: int = SSIM_WIN, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """The normalised 1D Gaussian of ``size`` taps (the SSIM window is its outer product)."""
    t = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(t**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of (C, H, W) with the 1D window ``g`` on both axes."""
    n = g.size
    rows = np.lib.stride_tricks.sliding_window_view(img, n, axis=1) @ g
    return np.lib.stride_tricks.sliding_window_view(rows, n, axis=2) @ g


def ssim_map(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """The per-channel SSIM map, shape (C, H - 10, W - 10)."""
    a, b = _as_chw(x), _as_chw(y)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if min(a.shape[1:]) < SSIM_WIN:
        raise ValueError(f"SSIM needs images of at least {SSIM_WIN}x{SSIM_WIN}, got {a.shape}")
    g = gaussian_window()
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a**2
    var_b = _filter_valid(b * b, g) - mu_b**2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return num / den


def ssim(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004), per channel, channels averaged; 1.0 for identical images."""
    return float(ssim_map(x, y, data_range).mean(axis=(1, 2)).mean())


def to_grey(x: np.ndarray) -> np.ndarray:
    """(3, H, W) -> .2989 R + .5870 G + .1140 B; (1, H, W) or (H, W) -> (H, W) as it is."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        return a
    if a.shape[0] == 1:
        return a[0]
    if a.shape[0] == 3:
        r, g, b = GREY_WEIGHTS
        return r * a[0] + g * a[1] + b * a[2]
    raise ValueError(f"cannot make grey from {a.shape[0]} channels")


def durall_spectrum(x: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """20 ln(|F| + eps) of the centred 2D FFT of the grey image (Durall et al. 2020), (H, W).

    Nothing is removed and no window is applied; the zero frequency is at (H // 2, W // 2).
    """
    spectrum = np.fft.fftshift(np.fft.fft2(to_grey(x)))
    return 20.0 * np.log(np.abs(spectrum) + eps)


def log_power_spectrum(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Centred 10 log10 |FFT|^2 (dB) of the mean-removed, Hann-windowed grey image, (H, W).

    The zero frequency is at index (H // 2, W // 2).
    """
    grey = to_grey(x)
    height, width = grey.shape
    window = np.outer(np.hanning(height), np.hanning(width))
    spectrum = np.fft.fftshift(np.fft.fft2((grey - grey.mean()) * window))
    power = spectrum.real**2 + spectrum.imag**2
    return 10.0 * np.log10(power + eps)


@dataclass(frozen=True)
class RadialProfile:
    """Azimuthal average: ``frequency`` (cycles per pixel) is each ring's integer radius k / N,
    the centre of its bins' radii [k - 1/2, k + 1/2) / N; ``value`` the mean of the spectrum
    over that ring."""

    frequency: np.ndarray
    value: np.ndarray


def radial_frequency(height: int, width: int) -> np.ndarray:
    """Radial frequency (cycles per pixel) of each bin of a centred (H, W) spectrum."""
    fy = np.fft.fftshift(np.fft.fftfreq(height))
    fx = np.fft.fftshift(np.fft.fftfreq(width))
    return np.hypot(fy[:, None], fx[None, :])


def azimuthal_average(spectrum: np.ndarray) -> RadialProfile:
    """Mean of a centred spectrum over rings of integer radius around the zero frequency.

    Radii are in bins of 1 / N cycles per pixel, N = min(H, W) (for a square image, the
    distance in bins from (H // 2, W // 2)); ring k holds the bins whose radius rounds to k,
    i.e. lies in [k - 1/2, k + 1/2), so that the ring is centred on the frequency k / N it is
    reported at (Durall et al.'s code truncates, [k, k + 1): half a bin off). Empty rings are
    left out.

    Averaging each bin's own radius (in bins) shows where the rings sit: ring k's mean radius
    is close to k (it would be close to k + 1/2 with truncation).

    >>> prof = azimuthal_average(radial_frequency(9, 9) * 9)
    >>> (prof.frequency * 9).round(2).tolist(), prof.value.round(2).tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0, 1.21, 2.16, 3.04, 4.08, 5.0, 5.66])
    """
    height, width = spectrum.shape
    n = min(height, width)
    # the small offset puts a radius of exactly k + 1/2 (up to float error) on ring k + 1
    rings = np.floor(radial_frequency(height, width) * n + 0.5 + 1e-9).astype(np.int64)
    counts = np.bincount(rings.ravel())
    sums = np.bincount(rings.ravel(), weights=spectrum.ravel())
    keep = counts > 0
    ks = np.nonzero(keep)[0]
    return RadialProfile(frequency=ks / n, value=sums[keep] / counts[keep])


def radial_profile(x: np.ndarray) -> RadialProfile:
    """Durall et al.'s azimuthally averaged spectrum of an image: the ring means of
    :func:`durall_spectrum` (20 ln |F|) over :func:`azimuthal_average`'s rings."""
    return azimuthal_average(durall_spectrum(x))
