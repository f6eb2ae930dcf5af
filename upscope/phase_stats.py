"""Per-phase statistics of images: the arithmetic of ``upscope detect`` (numpy only).

A *phase tile* of period (Pr, Pc) of a map ``x`` is the mean of ``x`` over the pixels of each
phase ``(i mod Pr, j mod Pc)`` (absolute coordinates). A pattern that repeats every (Pr, Pc)
pixels keeps its tile from image to image while image content averages away.

The tile is summarised by its 2-D DFT, normalised so that ``c[a, b]`` is the complex amplitude of
the frequency ``(a / Pr, b / Pc)`` cycles per pixel (the tile's mean square is the sum of
``|c|^2``). Each map is cut into blocks (*units*) whose sides are multiples of the period; each
unit gives its own tile and amplitudes ``c_u``. Over ``n`` units:

- ``cbar = mean_u c_u``: the pattern's amplitude;
- ``s2 = sum_u |c_u - cbar|^2 / (n - 1)``: the spread of one unit's amplitude, so that
  ``s2 / n`` is what ``|cbar|^2`` is on average where no pattern exists (the empirical null,
  measured on the same images);
- ``q = n |cbar|^2 / s2``: about chi-square with 2 degrees of freedom over 2 (1 for a real
  frequency, a or b at 0 or Nyquist on both axes) when there is no pattern.

Frequencies are grouped into *classes* by the fundamental period they carry: ``(a / Pr, b / Pc)``
in lowest terms has denominators ``(dr, dc)``; its class is ``lcm(dr, dc)``. The class of P holds
exactly what a period-P pattern has that no pattern of a smaller period dividing P has, so a
2x2 grid, also periodic at 4x4, leaves class 4 empty: the reported period is the fundamental.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BLOCK",
    "ClassStat",
    "FreqSet",
    "Sums",
    "class_stat",
    "freq_set",
    "grey",
    "highpass",
    "unit_amplitudes",
    "wilson_hilferty_z",
]

BLOCK = 32
"""Target side of a unit (pixels): a block of about 32x32, a multiple of the period."""

LUMA = np.array([0.299, 0.587, 0.114])


def grey(pixels: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W) float64: one channel as it is, RGB by Rec. 601 luma,
    anything else by the channel mean."""
    if pixels.shape[0] == 3:
        red, green, blue = (pixels[k].astype(np.float64) for k in range(3))
        return np.asarray(LUMA[0] * red + LUMA[1] * green + LUMA[2] * blue)
    if pixels.shape[0] == 1:
        return pixels[0].astype(np.float64)
    return pixels.astype(np.float64).mean(axis=0)


def highpass(g: np.ndarray) -> np.ndarray:
    """``g`` minus its 3x3 box mean (edges reflected): the residual the additive test reads.

    Its frequency response is ``1 - h(u) h(v)`` with ``h(u) = (1 + 2 cos 2 pi u) / 3``
    (:func:`highpass_gain`): 8/9 at (1/2, 1/2), 2/3 at (0, 1/4), about 0.05 at (0, 1/16).
    """
    p = np.pad(g, 1, mode="reflect") if min(g.shape) > 1 else np.pad(g, 1, mode="edge")
    rows = p[:-2] + p[1:-1] + p[2:]
    box = (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9.0
    return np.asarray(g - box)


def highpass_gain(u: float, v: float) -> float:
    """The gain of :func:`highpass` at the frequency (u, v) cycles per pixel."""
    h = ((1 + 2 * math.cos(2 * math.pi * u)) / 3) * ((1 + 2 * math.cos(2 * math.pi * v)) / 3)
    return 1.0 - h


def unit_sides(size: int, period: int, block: int = BLOCK) -> tuple[int, int]:
    """(side, count) of the units along one axis: the side is the multiple of ``period``
    nearest ``block`` from below (at least ``period``), shrunk to fit ``size``; count may be 0."""
    side = period * max(1, min(block, size) // period)
    if side > size:
        side = period * (size // period)
    return side, (size // side if side else 0)


def unit_amplitudes(
    x: np.ndarray,
    pr: int,
    pc: int,
    block: tuple[int, int] = (BLOCK, BLOCK),
    relative: bool = False,
    freqs: FreqSet | None = None,
) -> np.ndarray:
    """The amplitudes ``c_u`` (units, pr, pc) complex of every unit of the map ``x`` (H, W).

    Units start at multiples of their side from the top left, so each unit's phases are the
    absolute phases ``(i mod pr, j mod pc)``; ``block`` is the target side per axis (the map's
    size or more: one band spanning that axis). An empty result (0 units) when the map is smaller
    than one period. ``relative``: each unit's amplitudes divided by its own mean (its tile's
    DC term), so that a unit of strong content and one of weak content weigh alike; units whose
    mean is 0 (no difference at all: a flat block) are NaN (left out by :class:`Sums`).
    With ``freqs``, only the amplitudes of those frequencies, (units, freqs.size), read from
    ``rfft2`` (:meth:`FreqSet.rfft_index`).
    """
    h, w = x.shape
    br, nr = unit_sides(h, pr, block[0])
    bc, nc = unit_sides(w, pc, block[1])
    if nr == 0 or nc == 0:
        shape = (0, pr, pc) if freqs is None else (0, freqs.size)
        return np.zeros(shape, dtype=np.complex128)
    # rows first (whole rows added: fast), then the much smaller array's columns
    rows = x[: nr * br, : nc * bc].reshape(nr, br // pr, pr, nc * bc).sum(axis=1)
    tiles = rows.reshape(nr, pr, nc, bc // pc, pc).sum(axis=3) / ((br // pr) * (bc // pc))
    tiles = tiles.transpose(0, 2, 1, 3).reshape(nr * nc, pr, pc)
    if freqs is None:
        amplitudes = np.fft.fft2(tiles) / (pr * pc)
    else:  # half the spectrum (rfft2) is several times faster than fft2 or a matrix product
        half = np.fft.rfft2(tiles) / (pr * pc)
        rows_i, cols_i, conj = freqs.rfft_index()
        amplitudes = half[:, rows_i, cols_i]
        amplitudes[:, conj] = np.conj(amplitudes[:, conj])
    if relative:
        dc = tiles.mean(axis=(1, 2))
        flat = dc <= 1e-9
        scale = np.where(flat, 1.0, dc).reshape((-1,) + (1,) * (amplitudes.ndim - 1))
        amplitudes = amplitudes / scale
        amplitudes[flat] = np.nan
    return np.asarray(amplitudes)


@dataclass(frozen=True)
class FreqSet:
    """The frequencies of one class: indices into a (pr, pc) amplitude array, one of each
    conjugate pair, with their degrees of freedom (1 real, 2 complex) and denominators."""

    period: int
    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    dof: np.ndarray
    den_r: np.ndarray
    den_c: np.ndarray

    @property
    def size(self) -> int:
        return int(self.rows.size)

    def rfft_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each frequency sits in ``rfft2`` of a (pr, pc) tile, which keeps columns
        0..pc // 2 only: (rows, cols, conj); a frequency past pc // 2 is the conjugate of its
        mirror image."""
        pr, pc = self.shape
        conj = self.cols > pc // 2
        rows = np.where(conj, (-self.rows) % pr, self.rows)
        cols = np.where(conj, (-self.cols) % pc, self.cols)
        return rows, cols, conj


def freq_set(pr: int, pc: int, period: int) -> FreqSet:
    """The frequencies ``(a / pr, b / pc)`` whose fundamental period is ``period``
    (``lcm(dr, dc) == period``), one of each conjugate pair.

    >>> s = freq_set(2, 2, 2); list(zip(s.rows.tolist(), s.cols.tolist(), s.dof.tolist()))
    [(0, 1, 1.0), (1, 0, 1.0), (1, 1, 1.0)]
    >>> freq_set(4, 4, 4).size, freq_set(1, 4, 4).size
    (6, 1)
    """
    rows, cols, dof, dr_list, dc_list = [], [], [], [], []
    seen: set[tuple[int, int]] = set()
    for a in range(pr):
        for b in range(pc):
            dr = pr // math.gcd(a, pr)
            dc = pc // math.gcd(b, pc)
            if math.lcm(dr, dc) != period or (a, b) in seen:
                continue
            conj = ((-a) % pr, (-b) % pc)
            seen.update({(a, b), conj})
            rows.append(a)
            cols.append(b)
            dof.append(1 if conj == (a, b) else 2)
            dr_list.append(dr)
            dc_list.append(dc)
    return FreqSet(
        period,
        (pr, pc),
        np.array(rows, dtype=np.intp),
        np.array(cols, dtype=np.intp),
        np.array(dof, dtype=np.float64),
        np.array(dr_list, dtype=np.int64),
        np.array(dc_list, dtype=np.int64),
    )


class Sums:
    """Running sums of the amplitudes of one class, per unit *location* (the units of all
    images of one size sit at the same places): the sum of ``c`` and the count per location;
    the sum of ``|c|^2`` and the count over all units; and each image's mean amplitude, kept
    for the per-image test. A unit left out (NaN, a flat block of a relative test) counts
    nowhere."""

    def __init__(self, freqs: FreqSet) -> None:
        self.freqs = freqs
        self.loc_s1: np.ndarray | None = None  # (locations, freqs) complex
        self.loc_n: np.ndarray | None = None  # (locations,)
        self.s1 = np.zeros(freqs.size, dtype=np.complex128)
        self.s2 = np.zeros(freqs.size, dtype=np.float64)
        self.n = 0
        self.per_image: list[np.ndarray] = []  # |mean c over the image's units|^2, float32
        self.per_image_units: list[int] = []

    def add(self, amplitudes: np.ndarray) -> None:
        """One image's unit amplitudes (units, pr, pc), or (units, freqs) at this set's
        frequencies, in location order; NaN: left out."""
        at_freqs = amplitudes.ndim == 2  # already at this set's frequencies
        c = amplitudes if at_freqs else amplitudes[:, self.freqs.rows, self.freqs.cols]
        valid = np.isfinite(c[:, 0].real) if c.shape[1] else np.ones(c.shape[0], dtype=bool)
        if self.loc_s1 is None:
            self.loc_s1 = np.zeros(c.shape, dtype=np.complex128)
            self.loc_n = np.zeros(c.shape[0], dtype=np.int64)
        assert self.loc_n is not None
        if c.shape[0] != self.loc_s1.shape[0]:
            raise ValueError("every image of one group must have the same units")
        good = np.where(valid[:, None], c, 0)
        self.loc_s1 += good
        self.loc_n += valid
        units = int(valid.sum())
        self.s1 += good.sum(axis=0)
        self.s2 += (np.abs(good) ** 2).sum(axis=0)
        self.n += units
        mean = good.sum(axis=0) / units if units else np.zeros(self.freqs.size, np.complex128)
        self.per_image.append((np.abs(mean) ** 2).astype(np.float32))
        self.per_image_units.append(units)


@dataclass(frozen=True)
class ClassStat:
    """The test of one class: see the module docstring for the formulas."""

    period: int
    units: int  # locations
    chi2: float  # sum over the class of dof * q
    dof: int
    z: float  # normal equivalent of chi2 / dof under F(dof, units - 1) (:func:`paulson_z`)
    strength_db: float  # 10 log10(sum |cbar|^2 / sum s2 / n)
    amplitude: np.ndarray  # cbar per frequency (complex)
    null: np.ndarray  # s2 / n per frequency
    q: np.ndarray  # n |cbar|^2 / s2 per frequency
    image_chi2: np.ndarray  # per image, against the group's spread (NaN: no unit)
    image_power: np.ndarray  # per image, sum |mean c|^2 over its units
    image_null: np.ndarray  # per image, sum s2 / (its units)
    image_z: np.ndarray
    image_db: np.ndarray


def wilson_hilferty_z(chi2: float, dof: float) -> float:
    """The normal deviate with the same upper tail as ``chi2`` on ``dof`` degrees of freedom
    (Wilson and Hilferty 1931), within about 0.1 in z from dof = 2 on. With 2 degrees of
    freedom the tail is exp(-chi2 / 2): chi2 = 2 and 20 are exactly z = 0.34 and 3.91.

    >>> round(wilson_hilferty_z(2.0, 2.0), 2), round(wilson_hilferty_z(20.0, 2.0), 2)
    (0.33, 3.8)
    """
    if dof <= 0:
        return 0.0
    k = float(dof)
    return float(((chi2 / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k)))


def paulson_z(f: float, d1: float, d2: float) -> float:
    """The normal deviate with the same upper tail as ``f`` under an F(d1, d2) distribution
    (Paulson 1942, the F form of Wilson and Hilferty); for large d2 it is
    :func:`wilson_hilferty_z` of ``d1 * f``.

    >>> round(paulson_z(10.0, 2.0, 1e9), 2) == round(wilson_hilferty_z(20.0, 2.0), 2)
    True
    >>> paulson_z(10.0, 2.0, 10.0) < paulson_z(10.0, 2.0, 100.0)
    True
    """
    if d1 <= 0 or d2 <= 0:
        return 0.0
    a, b = 2 / (9 * d1), 2 / (9 * d2)
    cube = max(f, 0.0) ** (1 / 3)
    return float(((1 - b) * cube - (1 - a)) / math.sqrt(b * cube * cube + a))


def class_stat(sums: Sums) -> ClassStat | None:
    """The class's test from its sums; None with fewer than 2 locations (no spread).

    Two levels, so that a pattern every image shares but which does not repeat (a fixed
    vignette, a generator's border) is not taken for a period: each location's amplitude is
    first averaged over the images, ``m_l``; then ``cbar`` is the mean of the ``m_l`` over the
    ``L`` locations and the null its spread there, ``s2 = sum_l |m_l - cbar|^2 / (L - 1)``:
    a periodic pattern is the same at every location, anything else is not.
    """
    if sums.loc_s1 is None or sums.loc_n is None:
        return None
    have = sums.loc_n > 0
    locations = int(have.sum())
    if locations < 2:
        return None
    m = sums.loc_s1[have] / sums.loc_n[have, None]
    cbar = m.mean(axis=0)
    floor = 1e-12 * max(float(sums.s2.sum()) / max(sums.n, 1), 1e-300)
    s2 = np.maximum((np.abs(m - cbar) ** 2).sum(axis=0) / (locations - 1), floor)
    null = s2 / locations
    power = np.abs(cbar) ** 2
    q = power / null
    dof = sums.freqs.dof
    chi2 = float((dof * q).sum())
    total_dof = int(dof.sum())
    d2 = locations - 1
    db = 10 * math.log10(max(float(power.sum()), 1e-300) / float(null.sum()))
    # the per-image test: one image's mean amplitude against the spread of single units
    n = sums.n
    unit_s2 = np.maximum((sums.s2 - n * np.abs(sums.s1 / max(n, 1)) ** 2) / max(n - 1, 1), floor)
    count = len(sums.per_image)
    image_chi2, image_z = np.full(count, np.nan), np.full(count, np.nan)
    image_power, image_null = np.full(count, np.nan), np.full(count, np.nan)
    image_db = np.full(count, np.nan)
    for i, (p, units) in enumerate(zip(sums.per_image, sums.per_image_units, strict=True)):
        if units == 0:
            continue
        qi = p.astype(np.float64) * units / unit_s2
        image_chi2[i] = float((dof * qi).sum())
        image_z[i] = paulson_z(image_chi2[i] / total_dof, total_dof, d2)
        image_power[i] = float(p.sum())
        image_null[i] = float((unit_s2 / units).sum())
        image_db[i] = 10 * math.log10(max(image_power[i], 1e-300) / image_null[i])
    return ClassStat(
        period=sums.freqs.period,
        units=locations,
        chi2=chi2,
        dof=total_dof,
        z=paulson_z(chi2 / total_dof, total_dof, d2),
        strength_db=db,
        amplitude=cbar,
        null=null,
        q=q,
        image_chi2=image_chi2,
        image_power=image_power,
        image_null=image_null,
        image_z=image_z,
        image_db=image_db,
    )
